"""Layer tables of the published networks, and the generator of samples/models."""
