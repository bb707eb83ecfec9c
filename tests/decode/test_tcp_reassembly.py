"""TCP reassembly per direction, through the engine: what a stream handler is told.

Every test asserts the exact bytes (``layout``: data merged, gaps as their size) and the
counters of the flow record. Stream offsets are relative: 0 is the first byte after the SYN.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import otsight.decode.tcp as tcp_module
from otsight.decode.flows import END_EOF, END_TIMEOUT, FlowRecord

from .streams_helper import (
    MS,
    SEC,
    T0,
    Harness,
    Packet,
    TcpConversation,
    config,
    run,
    snapped,
)

HEADERS = 14 + 20 + 20  # Ethernet + IPv4 + TCP without options


def counters(rec: FlowRecord, side: str = "orig") -> dict[str, int]:
    return {
        name: rec.tcp[f"{side}_{name}"]
        for name in ("delivered", "retrans", "overlaps", "gaps", "ooo")
    }


def stats(
    delivered: int, retrans: int = 0, overlaps: int = 0, gaps: int = 0, ooo: int = 0
) -> dict[str, int]:
    return {
        "delivered": delivered,
        "retrans": retrans,
        "overlaps": overlaps,
        "gaps": gaps,
        "ooo": ooo,
    }


# --------------------------------------------------------------------------- in order
def test_in_order_data_in_both_directions() -> None:
    conv = TcpConversation()
    packets = [
        *conv.handshake(),
        conv.client(0, b"GET "),
        conv.client(4, b"/x\r\n"),
        conv.server(0, b"200 ", ack=8),
        conv.client(8, b"\r\n", ack=4),
        conv.server(4, b"OK", ack=10),
    ]
    h = run(packets)
    assert h.recorder.layout(1, 0) == [b"GET /x\r\n\r\n"]
    assert h.recorder.layout(1, 1) == [b"200 OK"]
    assert [(it.kind, it.direction, it.data, it.frame) for it in h.items] == [
        ("data", 0, b"GET ", 4),
        ("data", 0, b"/x\r\n", 5),
        ("data", 1, b"200 ", 6),
        ("data", 0, b"\r\n", 7),
        ("data", 1, b"OK", 8),
        ("end", -1, b"", 0),
    ]
    assert [it.ts_ns for it in h.items[:-1]] == [p.ts_ns for p in packets[3:]]
    assert h.recorder.first_calls[1] == (0, b"GET ")
    assert counters(h.only) == stats(10)
    assert counters(h.only, "resp") == stats(6)


# --------------------------------------------------------------------------- out of order
def test_later_segment_first_is_delivered_in_order_once_the_hole_fills() -> None:
    conv = TcpConversation()
    packets = [
        *conv.handshake(),
        conv.client(5, b"WORLD"),  # frame 4: ahead of the stream, buffered
        conv.client(0, b"hello"),  # frame 5: fills the hole
        conv.client(10, b"!"),
    ]
    h = run(packets)
    assert [(it.kind, it.data, it.frame) for it in h.items] == [
        ("data", b"hello", 5),
        ("data", b"WORLD", 5),  # delivered by the frame that completed it
        ("data", b"!", 6),
        ("end", b"", 0),
    ]
    assert counters(h.only) == stats(11, ooo=1)


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_any_arrival_order_gives_the_stream_exactly_once(order: tuple[int, ...]) -> None:
    parts = [b"alpha-", b"bravo--", b"charlie", b"-delta"]
    offsets = [sum(len(p) for p in parts[:k]) for k in range(len(parts))]
    conv = TcpConversation()
    segments = [conv.client(offsets[k], parts[k]) for k in order]
    h = run([*conv.handshake(), *segments])
    assert h.recorder.layout(1, 0) == [b"".join(parts)]
    got = counters(h.only)
    assert (got["delivered"], got["retrans"], got["gaps"]) == (26, 0, 0)


# --------------------------------------------------------------------------- retransmission
def test_pure_retransmission_is_dropped_in_order() -> None:
    conv = TcpConversation()
    packets = [
        *conv.handshake(),
        conv.client(0, b"abc"),
        conv.client(0, b"abc"),
        conv.client(3, b"def"),
        conv.client(0, b"abcdef"),
    ]
    h = run(packets)
    assert h.recorder.layout(1, 0) == [b"abcdef"]
    assert len([it for it in h.items if it.kind == "data"]) == 2
    assert counters(h.only) == stats(6, retrans=9)


def test_pure_retransmission_is_dropped_while_data_is_buffered() -> None:
    conv = TcpConversation()
    packets = [
        *conv.handshake(),
        conv.client(0, b"abc"),
        conv.client(6, b"ghi"),  # buffered
        conv.client(0, b"abc"),  # old data on the slow path
        conv.client(6, b"ghi"),  # a second copy of the buffered segment
        conv.client(3, b"def"),
    ]
    h = run(packets)
    assert h.recorder.layout(1, 0) == [b"abcdefghi"]
    assert counters(h.only) == stats(9, retrans=6, ooo=2)


def test_partial_overlap_is_trimmed_in_order() -> None:
    conv = TcpConversation()
    packets = [*conv.handshake(), conv.client(0, b"abcd"), conv.client(2, b"cdefgh")]
    h = run(packets)
    assert [it.data for it in h.items if it.kind == "data"] == [b"abcd", b"efgh"]
    assert counters(h.only) == stats(8, retrans=2, overlaps=1)


def test_partial_overlap_is_trimmed_on_the_slow_path() -> None:
    conv = TcpConversation()
    packets = [
        *conv.handshake(),
        conv.client(0, b"abcd"),
        conv.client(8, b"ijkl"),  # buffered
        conv.client(2, b"cdefghij"),  # overlaps the delivered data and the buffered segment
    ]
    h = run(packets)
    assert h.recorder.layout(1, 0) == [b"abcdefghijkl"]
    assert counters(h.only) == stats(12, retrans=4, overlaps=2, ooo=1)


# --------------------------------------------------------------------------- gaps
@pytest.mark.parametrize("ack", [10, 5])  # beyond the buffered data / exactly the hole's end
def test_gap_declared_when_the_peer_acks_the_hole(ack: int) -> None:
    conv = TcpConversation()
    packets = [
        *conv.handshake(),
        # client bytes 0-4 were lost by the capture (the server got them)
        conv.client(5, b"WORLD"),  # frame 4: buffered, the hole is not yet known to be lost
        conv.server(0, ack=ack, flags="A"),  # frame 5: the server acknowledged the hole
        conv.server(0, b"resp", ack=10),  # frame 6
        conv.client(10, b"more", ack=4),  # frame 7
    ]
    h = run(packets)
    assert [(it.kind, it.direction, it.data, it.nbytes, it.frame) for it in h.items] == [
        ("gap", 0, b"", 5, 0),
        ("data", 0, b"WORLD", 5, 4),  # released at the ACK, stamped with its own frame
        ("data", 1, b"resp", 4, 6),
        ("data", 0, b"more", 4, 7),
        ("end", -1, b"", 0, 0),
    ]
    assert h.items[0].ts_ns == packets[4].ts_ns
    assert h.recorder.first_calls[1] == (0, b"WORLD")  # the gap reached the handler first
    assert counters(h.only) == stats(9, gaps=5, ooo=1)


def test_gap_reported_to_an_existing_handler_then_the_following_data() -> None:
    conv = TcpConversation()
    packets = [
        *conv.handshake(),
        conv.server(0, b"banner"),  # the handler exists before the client's gap
        conv.client(0, b"ab", ack=6),
        conv.client(7, b"hij", ack=6),  # bytes 2-6 lost
        conv.client(10, b"klm", ack=6),
        conv.server(6, b"ok", ack=13),  # ACKs everything: the hole is lost
    ]
    h = run(packets)
    assert h.recorder.layout(1, 0) == [b"ab", 5, b"hijklm"]
    assert h.recorder.layout(1, 1) == [b"bannerok"]
    kinds = [(it.kind, it.direction) for it in h.items]
    assert kinds == [
        ("data", 1),
        ("data", 0),
        ("gap", 0),  # declared by the server's ACK, before the server's own data
        ("data", 0),
        ("data", 0),
        ("data", 1),
        ("end", -1),
    ]
    assert counters(h.only) == stats(8, gaps=5, ooo=2)


def test_partial_ack_of_the_hole_waits_and_the_flow_end_flushes() -> None:
    conv = TcpConversation()
    packets = [
        *conv.handshake(),
        conv.client(0, b"abc"),
        conv.client(6, b"ghi"),
        conv.server(0, ack=5, flags="A"),  # bytes 3-4 received, 5 not yet: keep waiting
        conv.client(12, b"mno"),
    ]
    h = Harness().feed(packets)
    assert h.recorder.layout(1, 0) == [b"abc"]
    h.finish()
    assert h.recorder.layout(1, 0) == [b"abc", 3, b"ghi", 3, b"mno"]
    assert [it.kind for it in h.items][-1] == "end"
    last = packets[-1].ts_ns
    flushed = [it for it in h.items[1:] if it.kind == "data"]
    # Data that waited for a hole found lost keeps its own capture time; gap notices and the
    # end carry the flow's last packet time.
    assert [it.ts_ns for it in flushed] == [packets[-3].ts_ns, packets[-1].ts_ns]
    assert all(it.ts_ns == last for it in h.items[1:] if it.kind != "data")
    assert counters(h.only) == stats(9, gaps=6, ooo=2)
    assert h.only.end_reason == END_EOF


@pytest.mark.parametrize("batch_size", [1, 1000])
def test_flow_ending_on_idle_timeout_flushes_its_buffer(batch_size: int) -> None:
    conv = TcpConversation()
    first = [*conv.handshake(), conv.client(0, b"abc"), conv.client(6, b"ghi")]
    later = conv.client(9, b"jkl", ts_ns=conv.now + 301 * SEC)  # a new flow (mid-stream)
    h = run([*first, later], batch_size=batch_size)
    r1, r2 = h.records
    assert (r1.end_reason, r2.end_reason) == (END_TIMEOUT, END_EOF)
    assert h.recorder.layout(1, 0) == [b"abc", 3, b"ghi"]
    assert h.recorder.layout(2, 0) == [b"jkl"]
    assert counters(r1) == stats(6, gaps=3, ooo=1)


@pytest.mark.parametrize(
    ("limit", "value", "expected_ooo"),
    [("MAX_BUFFERED_SEGMENTS", 3, 4), ("MAX_BUFFERED_BYTES", 25, 3)],
)
def test_buffer_limit_forces_a_gap(
    monkeypatch: pytest.MonkeyPatch, limit: str, value: int, expected_ooo: int
) -> None:
    monkeypatch.setattr(tcp_module, limit, value)
    conv = TcpConversation()
    # bytes 0-9 lost, no ACK ever proves it: only the buffer limit ends the wait
    segments = [conv.client(10 * k, bytes([64 + k]) * 10) for k in range(1, 7)]
    h = run([*conv.handshake(), *segments])
    assert h.recorder.layout(1, 0) == [10, b"".join(bytes([64 + k]) * 10 for k in range(1, 7))]
    assert h.engine.tcp.forced_gaps == 1
    assert counters(h.only) == stats(60, gaps=10, ooo=expected_ooo)
    assert not h.engine.tcp.buffers


# --------------------------------------------------------------------------- stream starts
def test_mid_stream_pick_up_starts_at_the_first_data_seen() -> None:
    conv = TcpConversation(client_isn=123_456, server_isn=654_321)
    packets = [
        conv.client(1000, b"req1", ack=500),
        conv.server(500, b"resp1", ack=1004),
        conv.client(1004, b"req2", ack=505),
        conv.server(505, b"resp2", ack=1008),
    ]
    h = run(packets)
    assert not h.only.handshake
    assert h.recorder.layout(1, 0) == [b"req1req2"]
    assert h.recorder.layout(1, 1) == [b"resp1resp2"]
    assert counters(h.only) == stats(8)
    assert counters(h.only, "resp") == stats(10)


def test_mid_stream_pick_up_with_the_next_segment_first() -> None:
    conv = TcpConversation()
    packets = [conv.client(1010, b"later"), conv.client(1000, b"earlier"), conv.client(1015, b"!")]
    h = run(packets)
    # The first segment seen defines the stream start: older data is a retransmission.
    assert h.recorder.layout(1, 0) == [b"later!"]
    assert counters(h.only) == stats(6, retrans=7)


@pytest.mark.parametrize("client_isn", [2**32 - 1, 2**32 - 2, 2**32 - 7, 2**32 - 30])
def test_sequence_numbers_wrap_around(client_isn: int) -> None:
    conv = TcpConversation(client_isn=client_isn, server_isn=2**32 - 3)
    parts = [b"0123456789", b"abcdefghij", b"ABCDEFGHIJ"]
    packets = [
        *conv.handshake(),
        conv.client(20, parts[2]),
        conv.client(0, parts[0]),
        conv.client(10, parts[1]),
        # server: bytes 0-3 lost across its wrap, the client's ACK proves it
        conv.server(4, b"tail", ack=30),
        conv.client(30, b"end", ack=8),
    ]
    h = run(packets)
    assert h.recorder.layout(1, 0) == [b"".join(parts) + b"end"]
    assert h.recorder.layout(1, 1) == [4, b"tail"]
    assert counters(h.only) == stats(33, ooo=1)
    assert counters(h.only, "resp") == stats(4, gaps=4, ooo=1)


def test_syn_carrying_data() -> None:
    conv = TcpConversation()
    packets = [
        conv.syn(b"hello-"),
        conv.syn(b"hello-"),  # the SYN again, data included: a retransmission
        conv.syn_ack(),
        conv.client(6, b"world", ack=0),
    ]
    h = run(packets)
    assert h.recorder.layout(1, 0) == [b"hello-world"]
    assert counters(h.only) == stats(11, retrans=6)


# --------------------------------------------------------------------------- odd segments
def test_snaplen_truncated_segment_delivers_what_was_captured_and_a_gap() -> None:
    conv = TcpConversation()
    body = bytes(range(100))
    whole = conv.client(0, body)
    packets = [*conv.handshake(), snapped(whole, HEADERS + 30), conv.client(100, b"tail")]
    h = run(packets)
    assert h.recorder.layout(1, 0) == [body[:30], 70, b"tail"]
    rec = h.only
    assert counters(rec) == stats(34, gaps=70)
    assert rec.orig_payload == 34  # payload bytes captured
    client_packets = [p for p in packets if p is not packets[1]]
    assert rec.orig_bytes == sum(p.wirelen or len(p.frame) for p in client_packets)
    assert packets[3].wirelen == len(whole.frame)


def test_snapped_segment_out_of_order_and_headers_only() -> None:
    conv = TcpConversation()
    packets = [
        *conv.handshake(),
        snapped(conv.client(10, bytes(100)), HEADERS + 20),  # 20 of 100 bytes, ahead
        conv.client(0, b"0123456789"),  # fills the hole
        snapped(conv.client(110, b"x" * 50), HEADERS),  # headers only
        conv.client(160, b"after"),
    ]
    h = run(packets)
    assert h.recorder.layout(1, 0) == [b"0123456789" + bytes(20), 80, 50, b"after"]
    assert counters(h.only) == stats(35, gaps=130, ooo=1)


def test_data_on_rst_is_ignored() -> None:
    conv = TcpConversation()
    packets = [
        *conv.handshake(),
        conv.client(0, b"abc"),
        conv.client(3, b"RST-DATA", flags="RA"),
        conv.server(0, ack=3, flags="A"),
    ]
    h = run(packets)
    assert h.recorder.layout(1, 0) == [b"abc"]
    assert h.only.orig_payload == 3 + 8  # counted on the wire, not delivered
    assert counters(h.only) == stats(3)


def test_interleaved_flows_keep_their_own_state() -> None:
    a = TcpConversation(client_port=41000, client_isn=10, server_isn=20)
    b = TcpConversation(client_port=42000, client_isn=2**32 - 4, server_isn=99)
    packets = [
        *a.handshake(),
        *b.handshake(),
        a.client(4, b"5678"),
        b.client(4, b"EFGH"),
        b.client(0, b"ABCD"),
        a.client(8, b"9"),
        b.server(0, b"resp-b", ack=8),
        a.client(0, b"1234"),
        a.server(3, b"-a", ack=9),  # server a bytes 0-2 lost; client ACK below proves it
        a.client(9, b"", ack=5, flags="A"),
    ]
    packets.sort(key=lambda p: p.ts_ns)  # two clocks merged
    h = run(packets)
    ids = {rec.orig_port: rec.flow_id for rec in h.records}
    fa, fb = ids[41000], ids[42000]
    assert h.recorder.layout(fa, 0) == [b"123456789"]
    assert h.recorder.layout(fa, 1) == [3, b"-a"]
    assert h.recorder.layout(fb, 0) == [b"ABCDEFGH"]
    assert h.recorder.layout(fb, 1) == [b"resp-b"]


def test_connection_setup_without_data_delivers_nothing() -> None:
    conv = TcpConversation()
    h = run([*conv.handshake(), *conv.close(0, 0)])
    assert [it.kind for it in h.items] == []
    assert h.recorder.contexts == {}
    assert counters(h.only) == stats(0)


# --------------------------------------------------------------------------- property
@st.composite
def shuffled_stream(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, int]], int, bool, int]:
    """A stream, the segments that carry it (cuts, overlapping re-sends, duplicates) in any
    order, the client ISN, whether the SYN-ACK was captured, and the batch size."""
    data = draw(st.binary(min_size=1, max_size=1200))
    cuts = draw(st.lists(st.integers(1, max(1, len(data) - 1)), max_size=30))
    bounds = sorted({0, len(data), *(c for c in cuts if 0 < c < len(data))})
    segments = list(itertools.pairwise(bounds))
    extra = draw(
        st.lists(
            st.tuples(st.integers(0, len(data) - 1), st.integers(1, 200)).map(
                lambda t: (t[0], min(len(data), t[0] + t[1]))
            ),
            max_size=8,
        )
    )
    duplicates = draw(st.lists(st.sampled_from(segments), max_size=8))
    order = draw(st.permutations(segments + extra + duplicates))
    isn = draw(st.one_of(st.integers(0, 2**32 - 1), st.integers(2**32 - 1300, 2**32 - 1)))
    syn_ack = draw(st.booleans())
    batch_size = draw(st.sampled_from([1, 4, 1000]))
    return data, list(order), isn, syn_ack, batch_size


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=shuffled_stream())
def test_reordered_duplicated_segments_give_the_exact_stream(
    case: tuple[bytes, list[tuple[int, int]], int, bool, int],
) -> None:
    data, order, isn, syn_ack, batch_size = case
    conv = TcpConversation(client_isn=isn, step_ns=MS)
    packets: list[Packet] = [conv.syn()]
    if syn_ack:
        packets.append(conv.syn_ack())
    # The server never acknowledges anything: no hole can be declared lost.
    packets += [conv.client(a, data[a:b], ack=0) for a, b in order]
    h = run(packets, batch_size=batch_size, engine_config=config())
    assert h.recorder.stream(1, 0) == data
    assert [it.kind for it in h.items if it.kind != "data"] == ["end"]
    assert all(it.direction == 0 for it in h.items if it.kind == "data")
    rec = h.only
    assert rec.tcp["orig_delivered"] == len(data)
    assert rec.tcp["orig_gaps"] == 0
    assert h.engine.tcp.forced_gaps == 0
    assert rec.first_ts_ns == T0 + MS
