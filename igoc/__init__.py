"""igoc: a compiler for the backward pass of DNN training on NPUs."""

__version__ = "0.1.0"
