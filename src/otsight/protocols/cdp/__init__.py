"""CDP: what Cisco switches and routers say about themselves and their ports."""
