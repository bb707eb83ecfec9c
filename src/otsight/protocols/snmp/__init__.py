"""SNMP v1/v2c/v3 over UDP (161 agent, 162 traps): BER messages, PDUs, inventory strings."""

from .dissector import SnmpDissector

__all__ = ["SnmpDissector"]
