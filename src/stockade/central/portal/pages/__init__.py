"""The portal's pages, one module per area; each holds its own ``router``."""
