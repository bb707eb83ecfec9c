"""HTTP/1.x: request and response heads, paired in order; bodies skipped by their framing."""

from .dissector import HttpDissector

__all__ = ["HttpDissector"]
