"""Decoding sources into Frames and encoding Frames into files."""
