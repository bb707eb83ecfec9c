"""The DNS family: DNS (UDP/TCP 53), mDNS/DNS-SD (5353), LLMNR (5355), NBNS (137)."""

from .dissector import (
    DnsDissector,
    DnsTcpDissector,
    LlmnrDissector,
    LlmnrTcpDissector,
    MdnsDissector,
    NbnsDissector,
)

__all__ = [
    "DnsDissector",
    "DnsTcpDissector",
    "LlmnrDissector",
    "LlmnrTcpDissector",
    "MdnsDissector",
    "NbnsDissector",
]
