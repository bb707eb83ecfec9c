"""IPv4 and IPv6 fragment reassembly through the engine.

A datagram becomes one packet on the frame that completes it (that frame gets the 5-tuple and
the flow; earlier fragments have none). Overlaps are counted and the first copy of a byte wins;
incomplete datagrams expire in packet time; a flood of incomplete datagrams stays bounded.
"""

from __future__ import annotations

import itertools
import struct

import pytest

from otsight.decode.fragments import FragmentStats
from otsight.decode.view import BatchView
from otsight.testing.packets import (
    ETH_IPV4,
    ETH_IPV6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    ethernet,
    ipv4,
    ipv6,
    tcp,
    udp,
)

from .streams_helper import (
    MAC_A,
    MAC_B,
    MS,
    SEC,
    T0,
    Harness,
    Packet,
    TcpConversation,
    config,
)

SRC4, DST4 = "198.51.100.7", "198.51.100.8"
SRC6, DST6 = "2001:db8:1::7", "2001:db8:1::8"
DATA = bytes(range(256)) * 2  # 512 bytes of UDP payload: 520 bytes of UDP datagram
CUTS = [160, 320]  # fragment boundaries in the datagram (multiples of 8)


def ipv4_fragment(
    src: str, dst: str, proto: int, chunk: bytes, offset: int, more: bool, ident: int, ts: int
) -> Packet:
    word = (0x2000 if more else 0) | (offset // 8)
    packet = ipv4(src, dst, proto, chunk, ident=ident, flags_offset=word)
    return Packet(ethernet(MAC_B, MAC_A, ETH_IPV4, packet, pad=True), ts)


def ipv6_fragment(
    src: str, dst: str, proto: int, chunk: bytes, offset: int, more: bool, ident: int, ts: int
) -> Packet:
    header = struct.pack("!BBHI", proto, 0, offset | int(more), ident)
    return Packet(ethernet(MAC_B, MAC_A, ETH_IPV6, ipv6(src, dst, 44, header + chunk)), ts)


def fragments(
    l4: bytes,
    *,
    version: int = 4,
    ident: int = 0x4242,
    cuts: list[int] | None = None,
    proto: int = IPPROTO_UDP,
    src: str | None = None,
    dst: str | None = None,
    ts: int = T0,
) -> list[Packet]:
    """``l4`` cut into fragments at ``cuts``, in datagram order, 1 ms apart."""
    bounds = [0, *(CUTS if cuts is None else cuts), len(l4)]
    assert all(a < b and a % 8 == 0 for a, b in itertools.pairwise(bounds)), bounds
    make = ipv4_fragment if version == 4 else ipv6_fragment
    src = src or (SRC4 if version == 4 else SRC6)
    dst = dst or (DST4 if version == 4 else DST6)
    return [
        make(src, dst, proto, l4[a:b], a, b < len(l4), ident, ts + k * MS)
        for k, (a, b) in enumerate(itertools.pairwise(bounds))
    ]


def udp_datagram(data: bytes = DATA, version: int = 4) -> bytes:
    src, dst = (SRC4, DST4) if version == 4 else (SRC6, DST6)
    return udp(1111, 2222, data, src_ip=src, dst_ip=dst)


class FrameFlows:
    """Records the flow id the engine gave each frame (0: no flow)."""

    def __init__(self, harness: Harness) -> None:
        self.by_frame: dict[int, int] = {}
        harness.engine.on_batch = self

    def __call__(self, view: BatchView) -> None:
        for i, flow_id in enumerate(view.flow_ids.tolist()):
            self.by_frame[view.batch.first_frame + i] = flow_id


def retimed(packets: list[Packet], start: int = T0) -> list[Packet]:
    """The same frames in the given order, with increasing times (capture order)."""
    return [Packet(p.frame, start + k * MS, p.wirelen) for k, p in enumerate(packets)]


# --------------------------------------------------------------------------- whole datagrams
@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
@pytest.mark.parametrize("batch_size", [1, 1000])
def test_datagram_in_three_fragments_any_order(
    version: int, order: tuple[int, int, int], batch_size: int
) -> None:
    frags = fragments(udp_datagram(version=version), version=version)
    sent = retimed([frags[k] for k in order])
    h = Harness(config())
    flows = FrameFlows(h)
    h.feed(sent, batch_size).finish()

    src, dst = (SRC4, DST4) if version == 4 else (SRC6, DST6)
    rec = h.only
    assert (rec.proto, rec.orig_ip, rec.orig_port, rec.resp_ip, rec.resp_port) == (
        17,
        src,
        1111,
        dst,
        2222,
    )
    assert (rec.orig_packets, rec.orig_payload) == (1, len(DATA))
    assert rec.orig_bytes == len(sent[2].frame)  # the completing frame carries the flow
    assert rec.first_ts_ns == rec.last_ts_ns == sent[2].ts_ns
    assert [(it.kind, it.data, it.frame) for it in h.items] == [
        ("data", DATA, 3),
        ("end", b"", 0),
    ]
    assert flows.by_frame == {1: 0, 2: 0, 3: 1}
    assert h.engine.fragments.stats == FragmentStats(fragments=3, reassembled=1)
    assert not h.engine.fragments.pending


@pytest.mark.parametrize("version", [4, 6])
def test_fragmented_tcp_segment_joins_its_stream(version: int) -> None:
    client, server = (SRC4, DST4) if version == 4 else (SRC6, DST6)
    conv = TcpConversation(client, server, 40000, 502)
    body = bytes(range(200))
    segment = tcp(
        40000,
        502,
        conv.client_isn + 1 + 4,
        conv.server_isn + 1,
        "PA",
        body,
        src_ip=client,
        dst_ip=server,
    )
    packets = [*conv.handshake(), conv.client(0, b"head")]
    packets += fragments(
        segment,
        version=version,
        cuts=[96],
        proto=IPPROTO_TCP,
        src=client,
        dst=server,
        ts=conv.now + MS,
    )
    h = Harness(config()).feed(packets).finish()
    assert h.recorder.layout(1, 0) == [b"head" + body]
    assert h.only.orig_packets == 4  # SYN, ACK, head, and the completing fragment
    assert h.only.tcp["orig_delivered"] == 204


def test_interleaved_datagrams_are_kept_apart() -> None:
    a = fragments(udp_datagram(b"A" * 300), ident=1, cuts=[80, 160])
    b = fragments(udp_datagram(b"B" * 300), ident=2, cuts=[8, 160])
    other_src = fragments(
        udp(1111, 2222, b"C" * 300, src_ip="198.51.100.9", dst_ip=DST4),
        ident=1,
        cuts=[80, 160],
        src="198.51.100.9",
    )
    sent = retimed([a[0], b[0], other_src[1], a[1], b[2], other_src[0], b[1], a[2], other_src[2]])
    h = Harness(config()).feed(sent).finish()
    datagrams = {
        r.orig_ip: [it.data for it in h.recorder.of(r.flow_id) if it.kind == "data"]
        for r in h.records
    }
    # A and B share their 5-tuple (one flow, two datagrams, B completed first); C does not.
    assert datagrams == {SRC4: [b"B" * 300, b"A" * 300], "198.51.100.9": [b"C" * 300]}
    assert h.engine.fragments.stats == FragmentStats(fragments=9, reassembled=3)


# --------------------------------------------------------------------------- overlaps
@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("evil_first", [False, True])
def test_overlapping_fragments_are_counted_and_the_first_copy_wins(
    version: int, evil_first: bool
) -> None:
    l4 = udp_datagram(version=version)
    first, second, third = fragments(l4, version=version)
    make = ipv4_fragment if version == 4 else ipv6_fragment
    src, dst = (SRC4, DST4) if version == 4 else (SRC6, DST6)
    evil = make(src, dst, IPPROTO_UDP, b"\xee" * 80, 80, True, 0x4242, T0)  # inside `first`
    order = [evil, first, second, third] if evil_first else [first, evil, second, third]
    h = Harness(config()).feed(retimed(order)).finish()
    expected = bytearray(DATA)
    if evil_first:
        expected[80 - 8 : 160 - 8] = b"\xee" * 80  # datagram offsets 80-159, after the header
    assert h.recorder.stream(1, 0) == bytes(expected)
    assert h.engine.fragments.stats.overlaps == 1
    assert h.engine.fragments.stats.reassembled == 1


def test_duplicate_fragment_is_an_overlap() -> None:
    first, second, third = fragments(udp_datagram())
    h = Harness(config()).feed(retimed([first, second, second, third])).finish()
    assert h.recorder.stream(1, 0) == DATA
    assert h.engine.fragments.stats == FragmentStats(fragments=4, reassembled=1, overlaps=1)


# --------------------------------------------------------------------------- time and bounds
@pytest.mark.parametrize("version", [4, 6])
def test_incomplete_datagram_expires_in_packet_time(version: int) -> None:
    first, second, third = fragments(udp_datagram(version=version), version=version)
    h = Harness(config(fragment_timeout=30.0))
    h.feed([Packet(first.frame, T0)])
    h.feed([Packet(second.frame, T0 + 30 * SEC + 1), Packet(third.frame, T0 + 30 * SEC + 2)])
    assert h.engine.fragments.stats.expired == 1  # the first fragment is gone
    assert h.records == []
    assert h.items == []
    assert len(h.engine.fragments.pending) == 1  # the newer fragments wait for offset 0
    h.feed([Packet(first.frame, T0 + 31 * SEC)])  # a resent first fragment completes it
    h.finish()
    assert h.recorder.stream(1, 0) == DATA
    assert h.engine.fragments.stats == FragmentStats(fragments=4, reassembled=1, expired=1)


def test_datagram_completed_just_inside_the_timeout() -> None:
    first, second, third = fragments(udp_datagram())
    packets = [
        Packet(first.frame, T0),
        Packet(second.frame, T0 + SEC),
        Packet(third.frame, T0 + 30 * SEC),  # exactly the timeout after the first fragment
    ]
    h = Harness(config(fragment_timeout=30.0)).feed(packets).finish()
    assert h.recorder.stream(1, 0) == DATA
    assert h.engine.fragments.stats.expired == 0


def test_fragment_flood_stays_bounded() -> None:
    h = Harness(config())
    h.engine.fragments.max_datagrams = 64
    first_only = [fragments(udp_datagram(), ident=k, ts=T0 + k * MS)[0] for k in range(1000)]
    for start in range(0, 1000, 100):
        h.feed(first_only[start : start + 100], 50)
        assert len(h.engine.fragments.pending) <= 64
    stats = h.engine.fragments.stats
    assert stats == FragmentStats(fragments=1000, dropped=1000 - 64)
    assert h.engine.flows.live == 0
    # The oldest were dropped; the newest can still complete, and traffic goes on.
    newest = fragments(udp_datagram(), ident=999, ts=T0 + 2 * SEC)
    h.feed(newest[1:]).finish()
    assert h.engine.fragments.stats.reassembled == 1
    assert [r.orig_payload for r in h.records] == [len(DATA)]


def test_fragment_flood_with_default_limits_stays_cheap() -> None:
    h = Harness(config())
    limit = h.engine.fragments.max_datagrams
    count = limit + 4000
    flood = [
        ipv4_fragment(
            f"10.{k >> 16 & 255}.{k >> 8 & 255}.{k & 255}", DST4, 17, bytes(64), 0, True, k, T0 + k
        )
        for k in range(count)
    ]
    h.feed(flood, 4096)
    assert len(h.engine.fragments.pending) == limit
    assert h.engine.fragments.stats.dropped == count - limit


def test_oversized_datagram_is_dropped() -> None:
    # The last fragment would end past the largest possible datagram.
    huge = ipv4_fragment(SRC4, DST4, IPPROTO_UDP, bytes(200), 65_400, False, 9, T0)
    h = Harness(config()).feed([huge]).finish()
    assert h.engine.fragments.stats == FragmentStats(fragments=1, dropped=1)
    assert h.records == []
