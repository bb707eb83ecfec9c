"""OPC UA binary (UA-TCP, port 4840): transport messages, secure channels, service requests."""
