"""The optimization method's style space: representations, target transforms, losses, the loop."""
