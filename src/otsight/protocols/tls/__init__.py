"""TLS: record framing, handshake reassembly, hellos (JA4), certificates, alerts."""

from .dissector import TlsDissector

__all__ = ["TlsDissector"]
