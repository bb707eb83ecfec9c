"""Per-packet decode results of one batch, as parallel numpy columns.

Addresses use two 64-bit words; IPv4 is stored IPv4-mapped (``::ffff:a.b.c.d``), so one layout
serves both families and sorting, hashing and comparing stay vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

# l3 values
L3_NONE = 0
L3_ARP = 1
L3_OTHER = 2  # an ethertype otsight does not decode further (LLDP, PROFINET, ...)
L3_LLC = 3  # 802.2 LLC / SNAP frames (STP, CDP, ...)
L3_IPV4 = 4
L3_IPV6 = 6

# err values: why decoding stopped early (0 = decoded fully)
ERR_NONE = 0
ERR_LINKTYPE = 1
ERR_L2_SHORT = 2
ERR_IP_SHORT = 3
ERR_IP_BAD = 4
ERR_L4_SHORT = 5
ERR_IPV6_EXT = 6
ERR_ARP_SHORT = 7
ERR_TCP_BAD = 8
ERR_NAMES = {
    ERR_NONE: "ok",
    ERR_LINKTYPE: "unsupported link type",
    ERR_L2_SHORT: "truncated link-layer header",
    ERR_IP_SHORT: "truncated IP header",
    ERR_IP_BAD: "bad IP header",
    ERR_L4_SHORT: "truncated transport header",
    ERR_IPV6_EXT: "bad IPv6 extension header",
    ERR_ARP_SHORT: "truncated ARP",
    ERR_TCP_BAD: "bad TCP header length",
}

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMPV6 = 58
PROTO_SCTP = 132

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_PSH = 0x08
TCP_ACK = 0x10


@dataclass(slots=True)
class PacketTable:
    """Decoded header fields, one row per frame of a :class:`FrameBatch`."""

    l3: npt.NDArray[np.uint8]
    err: npt.NDArray[np.uint8]
    ethertype: npt.NDArray[np.uint16]
    vlan: npt.NDArray[np.uint16]
    src_mac: npt.NDArray[np.int64]
    dst_mac: npt.NDArray[np.int64]
    l3_off: npt.NDArray[np.int32]
    src_hi: npt.NDArray[np.uint64]
    src_lo: npt.NDArray[np.uint64]
    dst_hi: npt.NDArray[np.uint64]
    dst_lo: npt.NDArray[np.uint64]
    proto: npt.NDArray[np.uint8]
    ttl: npt.NDArray[np.uint8]
    frag: npt.NDArray[np.uint8]  # 1: an IP fragment, to be reassembled before L4 decoding
    ip_id: npt.NDArray[np.uint32]
    has_ports: npt.NDArray[np.bool_]
    sport: npt.NDArray[np.uint16]
    dport: npt.NDArray[np.uint16]
    tcp_flags: npt.NDArray[np.uint16]
    seq: npt.NDArray[np.uint32]
    ack: npt.NDArray[np.uint32]
    window: npt.NDArray[np.uint16]
    pl_off: npt.NDArray[np.int32]  # payload start within the frame
    pl_len: npt.NDArray[np.int32]  # payload bytes present in the capture
    pl_wire: npt.NDArray[np.int32]  # payload bytes the headers announce (> pl_len if snapped)
    tunnel: npt.NDArray[np.uint8]  # outer encapsulation decoded away: 1 IP-in-IP, 2 GRE, 3 VXLAN

    @classmethod
    def empty(cls, n: int) -> PacketTable:
        values = {}
        for f in fields(cls):
            dtype = np.dtype(str(f.type).split("np.")[-1].rstrip("]"))
            values[f.name] = np.zeros(n, dtype=dtype)
        return cls(**values)

    def columns(self) -> tuple[npt.NDArray[np.generic], ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def __len__(self) -> int:
        return int(self.l3.shape[0])

    def row(self, i: int) -> dict[str, int]:
        """One packet's fields as plain ints (slow path, tests, bug reports)."""
        return {f.name: int(getattr(self, f.name)[i]) for f in fields(self)}
