"""ARP: who claims which IPv4 address (inventory bindings, spoofing evidence)."""
