"""Fuzzing the decode kernel: it never raises, stays inside each frame, and frames stay apart.

Every property decodes a batch that mixes fuzzed frames with a sentinel (a valid frame with a
known row) and checks, for every row: the offsets and payload lie within that frame's captured
bytes, the codes are known ones, the row is the one the frame decodes to alone in its own buffer
(so nothing leaks between neighbours), and the sentinel's row is exact. The same holds for
every prefix of every fuzzed frame (exhaustive truncation on top of the drawn damage).

Every test here runs twice: with the kernel compiled by numba, and once more (with fewer
examples) by :func:`test_kernel_stays_in_bounds_without_jit` in a subprocess with
``NUMBA_DISABLE_JIT=1``, where the kernel runs as plain Python over numpy arrays. There a read
past the end of a buffer raises IndexError instead of silently reading garbage, and since each
frame is also decoded alone (its last byte the buffer's last), any read past a frame's end
surfaces.
"""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otsight.capture.batch import FrameBatch
from otsight.core.types import SUPPORTED_LINKTYPES
from otsight.decode.kernel import decode_batch, decode_kernel
from otsight.decode.table import (
    ERR_NAMES,
    L3_ARP,
    L3_IPV4,
    L3_IPV6,
    L3_LLC,
    L3_NONE,
    L3_OTHER,
    PacketTable,
)
from otsight.testing.nojit import rerun_without_jit
from otsight.testing.packets import arp, ethernet, ip_bytes, mac_bytes

from .test_kernel import (
    CASES,
    CUTS,
    LT_IEEE802_11,
    LT_PPI,
    SENTINEL,
    Row,
    assert_row,
    batch_of,
    decode_one,
    eth,
    ipv4_raw,
    sll,
    sll2,
    vxlan,
)

NOJIT = os.environ.get("NUMBA_DISABLE_JIT", "") not in ("", "0")
EXAMPLES = int(os.environ.get("OTSIGHT_FUZZ_EXAMPLES", "300"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # leave no .hypothesis directory in a shared tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
no_hang = pytest.mark.timeout(300, method="thread")

LINKTYPES = sorted(SUPPORTED_LINKTYPES | {LT_PPI, LT_IEEE802_11})
L3_CODES = {L3_NONE, L3_ARP, L3_OTHER, L3_LLC, L3_IPV4, L3_IPV6}
Frame = tuple[int, bytes]  # (link type, bytes)


# ============================================================================ the properties


def decode_alone(items: list[Frame]) -> PacketTable:
    """Each frame decoded by itself, in a buffer that ends where the frame ends."""
    table = PacketTable.empty(len(items))
    columns = table.columns()
    start = np.zeros(1, dtype=np.int64)
    for i, (linktype, frame) in enumerate(items):
        decode_kernel(
            np.frombuffer(frame, dtype=np.uint8),
            start,
            np.array([len(frame)], dtype=np.int32),
            np.array([linktype], dtype=np.int32),
            *(column[i : i + 1] for column in columns),
        )
    return table


def assert_sane(table: PacketTable, items: list[Frame]) -> None:
    """Offsets within each frame, known codes: checked column-wise (cheap for long sweeps)."""
    caplen = np.array([len(frame) for _, frame in items], dtype=np.int64)
    l3_off = table.l3_off.astype(np.int64)
    pl_off = table.pl_off.astype(np.int64)
    pl_len = table.pl_len.astype(np.int64)
    bad = (l3_off < 0) | (l3_off > caplen) | (pl_off < 0) | (pl_len < 0)
    bad |= pl_off + pl_len > caplen
    bad |= ~np.isin(table.err, list(ERR_NAMES)) | ~np.isin(table.l3, list(L3_CODES))
    bad |= (table.tunnel > 3) | (table.frag > 1)
    tcp = (table.proto == 6) & table.has_ports & (table.err == 0) & (table.frag == 0)
    bad |= tcp & (table.pl_wire < table.pl_len)
    if bad.any():
        i = int(np.argmax(bad))
        pytest.fail(f"frame {i} {items[i]!r} decodes to {table.row(i)}")


def assert_same(got: PacketTable, alone: PacketTable, items: list[Frame]) -> None:
    differs = np.zeros(len(got), dtype=bool)
    for a, b in zip(got.columns(), alone.columns(), strict=True):
        differs |= a != b
    if differs.any():
        i = int(np.argmax(differs))
        pytest.fail(
            f"frame {i} {items[i]!r} decodes to {got.row(i)} in the batch, "
            f"to {alone.row(i)} alone: the row depends on its neighbours"
        )


def sweep(items: list[Frame]) -> PacketTable:
    """``items`` in one batch and each alone (with the kernel uncompiled, any read past a
    frame's end then raises IndexError): the same rows, all sane."""
    table = decode_batch(batch_of(items))
    assert len(table) == len(items)
    assert_sane(table, items)
    assert_same(table, decode_alone(items), items)
    return table


def check(items: list[Frame], sentinels: list[int]) -> None:
    """Every invariant of the module docstring, for ``items`` and every prefix of each frame."""
    table = sweep(items)
    for i in sentinels:
        assert_row(table.row(i), SENTINEL.expected, f"sentinel at {i}")
    for i, (linktype, frame) in enumerate(items):
        if i not in sentinels:
            sweep([(linktype, frame[:cut]) for cut in range(len(frame) + 1)])


@st.composite
def with_sentinels(draw: st.DrawFn, frames: list[Frame]) -> tuple[list[Frame], list[int]]:
    """Put the sentinel somewhere among ``frames`` (and maybe at both ends)."""
    items = list(frames)
    pos = draw(st.integers(0, len(items)))
    items.insert(pos, (SENTINEL.linktype, SENTINEL.frame))
    where = [pos]
    if draw(st.booleans()):
        items.append((SENTINEL.linktype, SENTINEL.frame))
        where.append(len(items) - 1)
    return items, where


# ============================================================================ random bytes

ETHERTYPES = [
    0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8, 0x9100, 0x8847, 0x8848, 0x8864, 0x8863, 0x88CC,
    0x0000, 0x0003, 0x002E, 0x05DC, 0x05DD, 0x0600, 0xFFFF,
]
FAMILIES = [2, 10, 24, 28, 30, 0, 7, 0x02000000, 0x18000000, 0xFFFFFFFF]
ethertype = st.sampled_from(ETHERTYPES) | st.integers(0, 0xFFFF)
be16 = ethertype.map(lambda v: struct.pack(">H", v))


@st.composite
def link_header(draw: st.DrawFn, linktype: int) -> bytes:
    """A plausible (or not) link-layer header for ``linktype``, so random bytes reach L3."""
    if not draw(st.booleans()):
        return b""
    if linktype == 1:
        return draw(st.binary(min_size=12, max_size=12)) + draw(be16)
    if linktype == 113:
        hatype = draw(st.sampled_from([1, 772, 0xFFFF]))
        return struct.pack(">HHH", 0, hatype, draw(st.sampled_from([6, 0, 8]))) + bytes(8) + draw(
            be16
        )
    if linktype == 276:
        return draw(be16) + struct.pack(">HIHBB", 0, 1, 1, 0, 6) + bytes(8)
    if linktype in (0, 108):
        order = draw(st.sampled_from("<>"))
        return struct.pack(order + "I", draw(st.sampled_from(FAMILIES)))
    if linktype == LT_PPI:
        hlen = draw(st.sampled_from([0, 7, 8, 9, 12, 40, 0xFFFF]))
        dlt = draw(st.sampled_from([1, 101, 113, 276, 0, LT_PPI, LT_IEEE802_11]))
        return struct.pack("<BBHI", 0, 0, hlen, dlt) + draw(st.binary(max_size=8))
    # raw IP and the rest: an IP-looking first byte
    return bytes([draw(st.sampled_from([0x45, 0x46, 0x4F, 0x44, 0x60, 0x6F, 0x00]))])


@st.composite
def random_frame(draw: st.DrawFn) -> Frame:
    linktype = draw(st.sampled_from(LINKTYPES))
    return linktype, draw(link_header(linktype)) + draw(st.binary(max_size=160))


@no_hang
@FUZZ
@given(st.lists(random_frame(), min_size=1, max_size=4).flatmap(with_sentinels))
def test_fuzz_random_bytes_under_every_link_type(case: tuple[list[Frame], list[int]]) -> None:
    check(*case)


# ============================================================================ damaged valid frames

CORPUS: list[Frame] = [(c.linktype, c.frame) for c in CASES] + [
    (c.linktype, c.frame) for c in CUTS
]
INTERESTING_16 = [0, 1, 4, 5, 7, 8, 19, 20, 39, 40, 0x4000, 0x2000, 0x1FFF, 0x7FFF, 0xFFFF]


def _layer_offsets(linktype: int, frame: bytes) -> list[int]:
    """Where the headers of ``frame`` start (and typical header ends): cuts near them matter."""
    r = decode_one(linktype, frame)
    l3, pl = r["l3_off"], r["pl_off"]
    return sorted({0, l3, l3 + 20, l3 + 40, pl - 20, pl - 8, pl - 4, pl, len(frame)})


CUT_POINTS = {i: _layer_offsets(lt, f) for i, (lt, f) in enumerate(CORPUS)}


@st.composite
def damaged(draw: st.DrawFn) -> Frame:
    index = draw(st.integers(0, len(CORPUS) - 1))
    linktype, frame = CORPUS[index]
    data = bytearray(frame)
    for _ in range(draw(st.integers(0, 6))):
        # mostly in the headers, where the lengths and types live
        limit = len(data) - 1 if draw(st.integers(0, 4)) == 0 else min(len(data) - 1, 96)
        pos = draw(st.integers(0, limit))
        what = draw(st.integers(0, 3))
        if what == 0:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif what == 1:
            data[pos] = draw(st.integers(0, 255))
        elif pos + 2 <= len(data):
            struct.pack_into(">H", data, pos, draw(st.sampled_from(INTERESTING_16)))
    cut = draw(st.integers(0, 2))
    if cut == 1:  # anywhere
        data = data[: draw(st.integers(0, len(data)))]
    elif cut == 2:  # a few bytes around a layer boundary
        near = draw(st.sampled_from(CUT_POINTS[index])) + draw(st.integers(-8, 16))
        data = data[: max(0, near)]
    return linktype, bytes(data)


def test_every_prefix_of_the_corpus_alone() -> None:
    """Exhaustive truncation of the valid frames the mutations start from."""
    for linktype, frame in CORPUS:
        sweep([(linktype, frame[:cut]) for cut in range(len(frame) + 1)])


@no_hang
@FUZZ
@given(st.lists(damaged(), min_size=1, max_size=4).flatmap(with_sentinels))
def test_fuzz_truncated_and_flipped_valid_frames(case: tuple[list[Frame], list[int]]) -> None:
    check(*case)


# ============================================================================ layered lies
# Structurally valid stacks (L2 shims, IP with options or extension headers, tunnels, L4)
# whose length and type fields are drawn from edge values: deep paths with hostile numbers.

LIES = [0, 1, 4, 7, 8, 19, 20, 39, 40, 41, 60, 255, 1500, 0xFFFF]
MAC_X = mac_bytes("02:00:00:00:00:0a")


def length_or_lie(draw: st.DrawFn, real: int) -> int:
    if draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from([*LIES, max(0, real - 1), real + 1]))
    return real


@st.composite
def transport(draw: st.DrawFn, proto: int, v6: bool, depth: int) -> bytes:
    body = draw(st.binary(max_size=24))
    if proto == 6:
        doff = draw(st.sampled_from([0x50, 0x60, 0x80, 0xF0, 0x40, 0x00, 0x51]))
        return struct.pack(">HHIIBBHHH", 1, 2, 3, 4, doff, draw(st.integers(0, 255)), 5, 0, 0) + (
            draw(st.binary(max_size=40)) + body
        )
    if proto == 17:
        dport = draw(st.sampled_from([4789, 4789, 53, 0]))
        datagram = vxlan(1, draw(inner_ethernet(depth))) if dport == 4789 else body
        ulen = length_or_lie(draw, 8 + len(datagram))
        return struct.pack(">HHHH", 9, dport, ulen, 0) + datagram
    if proto == 47:
        flags = draw(st.sampled_from([0, 0x8000, 0x2000, 0x1000, 0xB000, 0x3001, 0x4000, 0xFFFF]))
        gproto = draw(st.sampled_from([0x0800, 0x86DD, 0x6558, 0x880B]))
        if gproto == 0x6558:
            inner = draw(inner_ethernet(depth))
        elif depth < 2:
            inner = draw(ip_packet(gproto == 0x86DD, depth + 1))
        else:
            inner = body
        extra = draw(st.binary(min_size=0, max_size=12))
        return struct.pack(">HH", flags, gproto) + extra + inner
    if proto in (4, 41) and depth < 2:
        return draw(ip_packet(proto == 41, depth + 1))
    return body


@st.composite
def inner_ethernet(draw: st.DrawFn, depth: int) -> bytes:
    if depth >= 2 or draw(st.integers(0, 3)) == 0:
        et = draw(st.sampled_from([0x0806, 0x8100, 0x0800]))
        inner = arp(1, "02:00:00:00:00:01", "10.0.0.1", "02:00:00:00:00:02", "10.0.0.2")
        if et == 0x8100:
            return ethernet("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0806, inner, vlan=3)
        return MAC_X + MAC_X + struct.pack(">H", et) + inner[: draw(st.integers(0, 28))]
    v6 = draw(st.booleans())
    return eth(draw(ip_packet(v6, depth + 1)), 0x86DD if v6 else 0x0800)


PROTOS = [6, 6, 17, 17, 17, 47, 47, 4, 41, 1, 58, 132, 50, 59, 0, 255]
EXT_TYPES = [0, 43, 60, 44, 51, 135, 139, 140]


@st.composite
def ip_packet(draw: st.DrawFn, v6: bool, depth: int = 0) -> bytes:
    proto = draw(st.sampled_from(PROTOS))
    payload = draw(transport(proto, v6, depth))
    if not v6:
        options = bytes(4 * draw(st.sampled_from([0, 0, 1, 10])))
        packet = ipv4_raw(
            "192.0.2.1", "192.0.2.2", proto, payload, options=options,
            flags_offset=draw(st.sampled_from([0, 0, 0x4000, 0x2000, 1, 0x1FFF])),
            version_ihl=draw(st.sampled_from([None, None, 0x45, 0x4F, 0x44, 0x55])),
        )
        lied = bytearray(packet)
        struct.pack_into(">H", lied, 2, length_or_lie(draw, len(packet)))
        return bytes(lied)
    chain = b""
    nxt = proto
    for ext_type in reversed(draw(st.lists(st.sampled_from(EXT_TYPES), max_size=4))):
        if ext_type == 44:
            fo = draw(st.sampled_from([0, 1, 8, 0xFFF8, 6]))
            chain = struct.pack(">BBHI", nxt, 0, fo, 9) + chain
        else:
            units = draw(st.sampled_from([0, 1, 2, 255]))
            size = (units + 2) * 4 if ext_type == 51 else (units + 1) * 8
            body = bytes(min(size, 64) - 2) if size >= 8 else b""
            chain = bytes([nxt, units]) + body + chain
        nxt = ext_type
    rest = chain + payload
    header = struct.pack(">IHBB", 6 << 28, length_or_lie(draw, len(rest)), nxt, 64)
    return header + ip_bytes("2001:db8::1") + ip_bytes("2001:db8::2") + rest


@st.composite
def l2_stack(draw: st.DrawFn, payload: bytes, et: int) -> tuple[bytes, int]:
    """Wrap ``payload`` (of ethertype ``et``) in up to three shims; returns (bytes, ethertype)."""
    for shim in draw(st.lists(st.sampled_from(["vlan", "qinq", "mpls", "pppoe", "snap"]),
                              max_size=3)):
        if shim in ("vlan", "qinq"):
            payload = struct.pack(">HH", draw(st.integers(0, 0xFFFF)), et) + payload
            et = 0x8100 if shim == "vlan" else 0x88A8
        elif shim == "mpls":
            labels = draw(st.integers(0, 3))
            stack = b"".join(struct.pack(">I", 16 << 12) for _ in range(labels))
            stack += struct.pack(">I", 17 << 12 | draw(st.sampled_from([0x100, 0x100, 0x100, 0])))
            payload, et = stack + payload, 0x8847
        elif shim == "pppoe":
            ppp = {0x0800: 0x0021, 0x86DD: 0x0057}.get(et, 0xC021)
            payload = struct.pack(">BBHHH", 0x11, 0, 1, len(payload) + 2, ppp) + payload
            et = 0x8864
        else:
            payload = b"\xaa\xaa\x03\x00\x00" + draw(st.sampled_from([b"\x00", b"\x0c"])) + (
                struct.pack(">H", et) + payload
            )
            et = min(1500, length_or_lie(draw, len(payload)))
    return payload, et


@st.composite
def layered_frame(draw: st.DrawFn) -> Frame:
    v6 = draw(st.booleans())
    packet = draw(ip_packet(v6))
    et = 0x86DD if v6 else 0x0800
    linktype = draw(st.sampled_from([1, 1, 1, LT_PPI, 113, 276, 0, 108, 101, 228, 229]))
    if linktype in (1, LT_PPI, 113, 276):
        body, et = draw(l2_stack(packet, et))
        if linktype == 113:
            frame = sll(et) + body
        elif linktype == 276:
            frame = sll2(et) + body
        else:
            frame = MAC_X + MAC_X + struct.pack(">H", et) + body
            if linktype == LT_PPI:
                frame = struct.pack("<BBHI", 0, 0, 8, 1) + frame
    elif linktype in (0, 108):
        order = "<" if linktype == 0 else ">"
        frame = struct.pack(order + "I", 24 if v6 else 2) + packet
    else:
        frame = packet
    if draw(st.integers(0, 3)) == 0:
        # cut short, counted from the end (hypothesis draws small numbers most)
        frame = frame[: len(frame) - draw(st.integers(1, max(1, len(frame))))]
    return linktype, frame


@no_hang
@FUZZ
@given(st.lists(layered_frame(), min_size=1, max_size=3).flatmap(with_sentinels))
def test_fuzz_layered_frames_with_lying_fields(case: tuple[list[Frame], list[int]]) -> None:
    check(*case)


def test_layered_strategy_reaches_deep_layers() -> None:
    """Guard the generator: it must produce tunnels, fragments and decoded L4 at all."""
    seen: dict[str, int] = {"ipip": 0, "gre": 0, "vxlan": 0, "frag": 0, "ports": 0, "ok": 0}

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(layered_frame())
    def collect(item: Frame) -> None:
        r = decode_one(*item)
        for value, name in ((1, "ipip"), (2, "gre"), (3, "vxlan")):
            seen[name] += r["tunnel"] == value
        seen["ok"] += r["err"] == 0
        seen["frag"] += r["frag"]
        seen["ports"] += r["has_ports"]

    collect()
    assert all(seen.values()), seen


def test_fuzz_corpus_is_valid() -> None:
    """The frames the mutations start from decode as the exact tests expect."""
    for case in CASES:
        assert_row(decode_one(case.linktype, case.frame), case.expected, case.name)
    for cut in CUTS:
        r: Row = decode_one(cut.linktype, cut.frame)
        assert r["err"] == 0, (cut.name, r)
        assert r["tunnel"] == cut.tunnel[1], (cut.name, r)


# ============================================================================ without the JIT


def test_fuzz_kernel_is_plain_python_without_jit() -> None:
    """In the no-JIT run the kernel must really be uncompiled (else that run proves nothing)."""
    if not NOJIT:
        pytest.skip("only meaningful with NUMBA_DISABLE_JIT=1")
    batch = FrameBatch.from_frames([bytes(4)], 1)
    batch.caplen[:] = np.int32(60)  # claims more bytes than the buffer holds
    with pytest.raises(IndexError):
        decode_batch(batch)


@pytest.mark.skipif(NOJIT, reason="this is the no-JIT run already")
@pytest.mark.timeout(600, method="thread")
def test_kernel_stays_in_bounds_without_jit() -> None:
    rerun_without_jit(__file__, "test_kernel_stays_in_bounds_without_jit")
