"""animator: a render engine that turns neural style transfer into moving pictures."""

__version__ = "0.3.29"
