"""Render loops (iterate, still) and the engine that wires source, loop, sinks and resume."""
