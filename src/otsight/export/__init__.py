"""Writers that turn events into formats other tools read."""
