"""Motion between frames: optical flow, warping, occlusion masks."""
