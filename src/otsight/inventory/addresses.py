"""Which MAC carried which IP: the address bindings every packet shows, gathered per batch.

A device's MAC and IP travel together in every frame it sends on its own segment, so the packet
columns give the bindings for free; protocol facts (ARP, DHCP) then confirm them. Work is
vectorised: ``np.unique`` over a batch's (mac, ip) pairs, then one Python step per distinct pair,
so a batch of a steady plant costs a few dozen dictionary updates, not one per packet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..decode.table import L3_IPV4, L3_IPV6, L3_OTHER
from ..decode.view import BatchView

STP_MAC = 0x0180C2000000  # IEEE 802.1D bridge group address: spanning tree BPDUs
# Link-layer protocols that say what a device is: IEC 61850 GOOSE and sampled values (IEDs),
# Profinet real-time (controllers and IO devices), EtherCAT, MRP/HSR/PRP (industrial switches).
INDUSTRIAL_ETHERTYPES = frozenset({0x88B8, 0x88BA, 0x8892, 0x88A4, 0x88E3, 0x892F, 0x88FB})
_BROADCAST = 0xFFFFFFFFFFFF


@dataclass(slots=True)
class Binding:
    """One (MAC, IP) pair as seen in packet headers."""

    sent: int = 0  # packets from this MAC with this source IP
    received: int = 0  # packets to this MAC for this destination IP
    bytes_sent: int = 0
    first_ts: float = 0.0
    last_ts: float = 0.0


@dataclass(slots=True)
class L2Presence:
    """A MAC that sent frames, with or without IP (switches, Profinet devices, ...)."""

    packets: int = 0
    bytes: int = 0
    first_ts: float = 0.0
    last_ts: float = 0.0
    stp: int = 0  # spanning-tree BPDUs sent: a bridge
    ethertypes: set[int] = field(default_factory=set)  # industrial link-layer protocols sent


class AddressBook:
    """(MAC, IP) bindings and MAC presence from packet columns; addresses kept as integers."""

    def __init__(self) -> None:
        self.bindings: dict[tuple[int, int, int], Binding] = {}
        self.macs: dict[int, L2Presence] = {}

    def add(self, view: BatchView) -> None:
        t, b = view.table, view.batch
        ts = b.ts_ns
        wire = b.wirelen
        src_ok = (t.src_mac > 0) & (t.src_mac != _BROADCAST) & ((t.src_mac >> 40) & 1 == 0)
        if not src_ok.any():
            return
        self._presence(t.src_mac, t.dst_mac, ts, wire, src_ok)
        other = src_ok & (t.l3 == L3_OTHER)
        if other.any():
            self._ethertypes(t.src_mac[other], t.ethertype[other])
        ip = ((t.l3 == L3_IPV4) | (t.l3 == L3_IPV6)) & (t.tunnel == 0)
        self._pairs(t.src_mac, t.src_hi, t.src_lo, ts, wire, ip & src_ok, sent=True)
        dst_ok = (t.dst_mac > 0) & ((t.dst_mac >> 40) & 1 == 0)
        self._pairs(t.dst_mac, t.dst_hi, t.dst_lo, ts, wire, ip & dst_ok, sent=False)

    def _presence(
        self,
        src: npt.NDArray[np.int64],
        dst: npt.NDArray[np.int64],
        ts: npt.NDArray[np.int64],
        wire: npt.NDArray[np.integer[Any]],
        ok: npt.NDArray[np.bool_],
    ) -> None:
        uniq, inverse, counts, first, last, nbytes = _grouped(src[ok], ts[ok], wire[ok])
        stp = np.bincount(inverse, weights=(dst[ok] == STP_MAC), minlength=uniq.shape[0])
        rows = zip(
            uniq.tolist(),
            (first / 1e9).tolist(),
            (last / 1e9).tolist(),
            counts.tolist(),
            nbytes.astype(np.int64).tolist(),
            stp.astype(np.int64).tolist(),
            strict=True,
        )
        for mac, t0, t1, n, nb, bpdus in rows:
            p = self.macs.get(mac)
            if p is None:
                p = self.macs[mac] = L2Presence(first_ts=t0)
            else:
                p.first_ts = min(p.first_ts, t0)
            p.packets += n
            p.bytes += nb
            p.last_ts = max(p.last_ts, t1)
            p.stp += bpdus

    def _ethertypes(self, macs: npt.NDArray[np.int64], types: npt.NDArray[np.uint16]) -> None:
        keys = np.unique((macs.astype(np.int64) << 16) | types.astype(np.int64))
        for key in keys.tolist():
            ethertype = key & 0xFFFF
            if ethertype in INDUSTRIAL_ETHERTYPES:
                presence = self.macs.get(key >> 16)
                if presence is not None:
                    presence.ethertypes.add(ethertype)

    def _pairs(
        self,
        mac: npt.NDArray[np.int64],
        hi: npt.NDArray[np.uint64],
        lo: npt.NDArray[np.uint64],
        ts: npt.NDArray[np.int64],
        wire: npt.NDArray[np.integer[Any]],
        sel: npt.NDArray[np.bool_],
        *,
        sent: bool,
    ) -> None:
        if not sel.any():
            return
        keys = np.empty(int(sel.sum()), dtype=[("m", "<i8"), ("h", "<u8"), ("l", "<u8")])
        keys["m"], keys["h"], keys["l"] = mac[sel], hi[sel], lo[sel]
        uniq, _inverse, counts, first, last, nbytes = _grouped(keys, ts[sel], wire[sel])
        rows = zip(
            uniq.tolist(),
            (first / 1e9).tolist(),
            (last / 1e9).tolist(),
            counts.tolist(),
            nbytes.astype(np.int64).tolist(),
            strict=True,
        )
        for key, t0, t1, n, nb in rows:
            bnd = self.bindings.get(key)
            if bnd is None:
                bnd = self.bindings[key] = Binding(first_ts=t0)
            else:
                bnd.first_ts = min(bnd.first_ts, t0)
            if sent:
                bnd.sent += n
                bnd.bytes_sent += nb
            else:
                bnd.received += n
            bnd.last_ts = max(bnd.last_ts, t1)


def _grouped(
    keys: npt.NDArray[Any], ts: npt.NDArray[np.int64], wire: npt.NDArray[np.integer[Any]]
) -> tuple[npt.NDArray[Any], ...]:
    """Distinct ``keys`` with, per key: the row's group (inverse), packets, first and last
    time, bytes on the wire."""
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    first = np.full(uniq.shape[0], np.iinfo(np.int64).max, dtype=np.int64)
    last = np.zeros(uniq.shape[0], dtype=np.int64)
    np.minimum.at(first, inverse, ts)
    np.maximum.at(last, inverse, ts)
    nbytes = np.bincount(inverse, weights=wire, minlength=uniq.shape[0])
    return uniq, inverse, counts, first, last, nbytes
