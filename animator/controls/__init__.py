"""Feedback controls: what an iterate step does to the picture besides the style transfer itself
(colour coherence today), each a small function of the frame and its frame's settings."""
