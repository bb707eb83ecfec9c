"""LLDP: what switches and devices say about themselves and their ports."""
