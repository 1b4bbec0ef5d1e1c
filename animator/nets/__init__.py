"""Torch networks and the weight files they are built from."""
