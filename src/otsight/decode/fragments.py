"""IPv4 and IPv6 fragment reassembly, bounded in time and memory.

Fragments are rare on OT networks and usually a sign of trouble (evasion, MTU problems), so
this is plain Python. Overlaps are counted; the first copy of each byte wins. Reassembled
datagrams are decoded by the same kernel as whole packets.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from ..capture.batch import FrameBatch
from .kernel import decode_batch
from .table import L3_IPV4, PacketTable

RAW_IP = 101
MAX_DATAGRAM = 65535 + 8
COPY_COLUMNS = (
    "l3",
    "err",
    "proto",
    "ttl",
    "has_ports",
    "sport",
    "dport",
    "tcp_flags",
    "seq",
    "ack",
    "window",
    "pl_len",
    "pl_wire",
    "src_hi",
    "src_lo",
    "dst_hi",
    "dst_lo",
    "tunnel",
)


@dataclass(slots=True)
class _Datagram:
    header: bytes  # a fixed IP header for the rebuilt packet (length fields patched later)
    first_ts: int
    pieces: list[tuple[int, bytes]] = field(default_factory=list)
    total: int = -1  # payload length, known once the last fragment arrived
    size: int = 0
    version: int = 4


@dataclass(slots=True)
class FragmentStats:
    fragments: int = 0
    reassembled: int = 0
    overlaps: int = 0
    expired: int = 0
    dropped: int = 0  # over the limits or malformed


class Reassembler:
    """Collects fragments by (addresses, id, protocol) and rebuilds whole datagrams."""

    def __init__(self, timeout_s: float = 30.0, max_datagrams: int = 4096) -> None:
        self.timeout_ns = int(timeout_s * 1e9)
        self.max_datagrams = max_datagrams
        self.pending: dict[tuple[int, ...], _Datagram] = {}
        self.stats = FragmentStats()

    def feed(self, batch: FrameBatch, table: PacketTable, i: int) -> bytes | None:
        """Take fragment ``i``; if it completes a datagram, decode it into row ``i``.

        Returns the rebuilt transport payload (the row's payload then lives there, not in the
        frame), or None while the datagram is incomplete.
        """
        self.stats.fragments += 1
        frame = batch.frame(i)
        l3 = int(table.l3_off[i])
        ts = int(batch.ts_ns[i])
        start = int(table.pl_off[i])
        data = frame[start : start + int(table.pl_len[i])]
        if table.l3[i] == L3_IPV4:
            hdr = frame[l3 : l3 + 20]
            flags_off = struct.unpack_from("!H", frame, l3 + 6)[0]
            offset = (flags_off & 0x1FFF) * 8
            more = bool(flags_off & 0x2000)
            key: tuple[int, ...] = (
                4,
                int(table.src_lo[i]),
                int(table.dst_lo[i]),
                int(table.ip_id[i]),
                int(table.proto[i]),
            )
            header = bytes([0x45]) + hdr[1:20]
            version = 4
        else:
            fo = struct.unpack_from("!H", frame, start - 6)[0]
            offset = fo & 0xFFF8
            more = bool(fo & 1)
            key = (
                6,
                int(table.src_hi[i]),
                int(table.src_lo[i]),
                int(table.dst_hi[i]),
                int(table.dst_lo[i]),
                int(table.ip_id[i]),
            )
            header = frame[l3 : l3 + 6] + bytes([int(table.proto[i]), frame[l3 + 7]])
            header += frame[l3 + 8 : l3 + 40]
            version = 6
        self._expire(ts)
        dgram = self.pending.get(key)
        if dgram is None:
            if len(self.pending) >= self.max_datagrams:
                del self.pending[next(iter(self.pending))]  # the oldest: dicts keep arrival order
                self.stats.dropped += 1
            dgram = _Datagram(header=header, first_ts=ts, version=version)
            self.pending[key] = dgram
        if offset == 0:
            dgram.header = header
        if offset + len(data) > MAX_DATAGRAM:
            del self.pending[key]
            self.stats.dropped += 1
            return None
        for off, piece in dgram.pieces:
            if offset < off + len(piece) and off < offset + len(data):
                self.stats.overlaps += 1
                break
        dgram.pieces.append((offset, data))
        if not more:
            dgram.total = offset + len(data)
        if dgram.total < 0:
            return None
        payload = self._assemble(dgram)
        if payload is None:
            return None
        del self.pending[key]
        self.stats.reassembled += 1
        self._decode_into(batch, table, i, dgram, payload)
        start = int(table.pl_off[i])
        if int(table.err[i]) != 0 and not table.has_ports[i]:
            return b""
        return self._rebuilt_payload(dgram, payload, table, i)

    @staticmethod
    def _assemble(dgram: _Datagram) -> bytes | None:
        buf = bytearray(dgram.total)
        have = np.zeros(dgram.total, dtype=bool)
        for off, piece in dgram.pieces:  # first copy wins: later pieces fill only holes
            end = min(off + len(piece), dgram.total)
            if off >= end:
                continue
            hole = ~have[off:end]
            if hole.all():
                buf[off:end] = piece[: end - off]
            else:
                for j in np.nonzero(hole)[0]:
                    buf[off + int(j)] = piece[int(j)]
            have[off:end] = True
        if not have.all():
            return None
        return bytes(buf)

    def _packet(self, dgram: _Datagram, payload: bytes) -> bytes:
        h = bytearray(dgram.header)
        if dgram.version == 4:
            struct.pack_into("!H", h, 2, 20 + len(payload))
            struct.pack_into("!H", h, 6, 0)
        else:
            struct.pack_into("!H", h, 4, len(payload))
        return bytes(h) + payload

    def _decode_into(
        self, batch: FrameBatch, table: PacketTable, i: int, dgram: _Datagram, payload: bytes
    ) -> None:
        packet = self._packet(dgram, payload)
        one = FrameBatch.from_frames([packet], RAW_IP, [int(batch.ts_ns[i])], batch.source)
        row = decode_batch(one)
        for name in COPY_COLUMNS:
            getattr(table, name)[i] = getattr(row, name)[0]
        table.frag[i] = 0
        table.pl_off[i] = row.pl_off[0]  # relative to the rebuilt packet, not the frame
        self._last_packet = packet

    def _rebuilt_payload(
        self, dgram: _Datagram, payload: bytes, table: PacketTable, i: int
    ) -> bytes:
        start = int(table.pl_off[i])
        return self._last_packet[start : start + int(table.pl_len[i])]

    def _expire(self, now: int) -> None:
        # Datagrams sit in arrival order, so the stale ones are at the front: O(1) per fragment
        # instead of a scan of every pending datagram (a fragment flood must stay cheap).
        while self.pending:
            key = next(iter(self.pending))
            if now - self.pending[key].first_ts <= self.timeout_ns:
                break
            del self.pending[key]
            self.stats.expired += 1
