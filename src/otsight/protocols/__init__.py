"""Protocol dissectors: one package per protocol, each sans-IO (bytes in, typed events out)."""
