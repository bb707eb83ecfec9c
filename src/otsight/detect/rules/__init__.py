"""Rule families: one module per family (OT commands, scans, ARP, floods, credentials)."""
