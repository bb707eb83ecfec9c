"""The flow table, driven through the engine.

One flow per conversation whatever the direction; the originator from the handshake (or the
first packet); per-direction counters; idle timeouts in packet time; port reuse; the close
delay; the live-flow cap; the hash-collision guard; identical results whatever the batch size.
"""

from __future__ import annotations

import struct
from collections import Counter

import numpy as np
import numpy.typing as npt
import pytest

import otsight.pipeline.engine as engine_module
from otsight.core.plugins import FlowContext
from otsight.decode.flows import (
    END_CLOSED,
    END_EOF,
    END_EVICTED,
    END_SPLIT,
    END_TIMEOUT,
)
from otsight.decode.keys import FlowKeys
from otsight.decode.table import PacketTable

from .streams_helper import (
    CLIENT,
    CLIENT_PORT,
    MS,
    SEC,
    SERVER,
    SERVER_PORT,
    T0,
    Harness,
    Packet,
    TcpConversation,
    config,
    icmp_echo_packet,
    mixed_traffic,
    run,
    udp_packet,
)

BATCH_SIZES = [1, 7, 1000]
ADDRESS_PAIRS = [
    ("192.0.2.10", "192.0.2.20"),  # the client sorts first in the flow key
    ("192.0.2.200", "192.0.2.20"),  # the server sorts first
    ("2001:db8::20", "2001:db8::10"),
]


def wire(packets: list[Packet]) -> int:
    return sum(p.wirelen if p.wirelen is not None else len(p.frame) for p in packets)


# --------------------------------------------------------------------------- one flow, two ways
@pytest.mark.parametrize(("client", "server"), ADDRESS_PAIRS)
def test_both_directions_share_one_flow(client: str, server: str) -> None:
    conv = TcpConversation(client, server)
    syn, syn_ack, ack = conv.handshake()
    request = conv.client(0, b"request!", ack=0)
    response = conv.server(0, b"response-", ack=8)
    fin, fin_ack, last_ack = conv.close(8, 9)
    packets = [syn, syn_ack, ack, request, response, fin, fin_ack, last_ack]

    h = run(packets)

    rec = h.only
    from_client = [syn, ack, request, fin, last_ack]
    from_server = [syn_ack, response, fin_ack]
    assert (rec.flow_id, rec.proto) == (1, 6)
    assert (rec.orig_ip, rec.orig_port, rec.resp_ip, rec.resp_port) == (
        client,
        CLIENT_PORT,
        server,
        SERVER_PORT,
    )
    assert rec.handshake
    assert (rec.orig_packets, rec.resp_packets) == (5, 3)
    assert (rec.orig_bytes, rec.resp_bytes) == (wire(from_client), wire(from_server))
    assert rec.bytes == wire(packets)
    assert (rec.orig_payload, rec.resp_payload) == (8, 9)
    assert (rec.first_ts_ns, rec.last_ts_ns) == (syn.ts_ns, last_ack.ts_ns)
    assert rec.end_reason == END_EOF  # closed, but the input ended inside the close delay
    assert rec.tcp["orig_delivered"] == 8
    assert rec.tcp["resp_delivered"] == 9
    assert rec.tcp["orig_flags"] == 0x02 | 0x10 | 0x08 | 0x01
    assert rec.tcp["resp_flags"] == 0x02 | 0x10 | 0x08 | 0x01
    assert h.recorder.contexts == {1: FlowContext(1, 6, client, CLIENT_PORT, server, SERVER_PORT)}
    assert h.recorder.first_calls[1] == (0, b"request!")
    assert h.recorder.layout(1, 0) == [b"request!"]
    assert h.recorder.layout(1, 1) == [b"response-"]
    assert [(it.kind, it.frame) for it in h.items] == [("data", 4), ("data", 5), ("end", 0)]
    assert h.items[-1].ts_ns == last_ack.ts_ns
    assert h.engine.stats.flows_started == h.engine.stats.flows_ended == 1
    assert h.engine.flows.live == 0


@pytest.mark.parametrize(("client", "server"), ADDRESS_PAIRS)
def test_syn_ack_seen_first_makes_its_receiver_the_originator(client: str, server: str) -> None:
    conv = TcpConversation(client, server)
    packets = [
        conv.syn_ack(),  # the SYN was not captured
        conv.client(0, ack=0, flags="A"),
        conv.server(0, b"banner", ack=0),
        conv.client(0, b"hello", ack=6),
    ]
    rec = run(packets).only
    assert (rec.orig_ip, rec.orig_port, rec.resp_ip, rec.resp_port) == (
        client,
        CLIENT_PORT,
        server,
        SERVER_PORT,
    )
    assert rec.handshake
    assert (rec.orig_packets, rec.resp_packets) == (2, 2)
    assert (rec.orig_payload, rec.resp_payload) == (5, 6)


@pytest.mark.parametrize(("client", "server"), ADDRESS_PAIRS)
def test_syn_decides_the_originator_even_when_the_capture_reorders_it(
    client: str, server: str
) -> None:
    conv = TcpConversation(client, server)
    syn, syn_ack, ack = conv.handshake()
    h = run([syn_ack, syn, ack, conv.client(0, b"abc")])
    assert (h.only.orig_ip, h.only.resp_ip) == (client, server)
    assert h.recorder.layout(1, 0) == [b"abc"]


@pytest.mark.parametrize(("client", "server"), ADDRESS_PAIRS)
@pytest.mark.parametrize("first_speaker", ["client", "server"])
def test_without_a_handshake_the_first_packet_decides(
    client: str, server: str, first_speaker: str
) -> None:
    conv = TcpConversation(client, server)
    if first_speaker == "server":
        packets = [conv.server(10, b"srv", ack=20), conv.client(20, b"cli", ack=13)]
        orig, resp = server, client
    else:
        packets = [conv.client(20, b"cli", ack=10), conv.server(10, b"srv", ack=23)]
        orig, resp = client, server
    h = run(packets)
    rec = h.only
    assert (rec.orig_ip, rec.resp_ip) == (orig, resp)
    assert not rec.handshake
    assert (rec.orig_packets, rec.resp_packets) == (1, 1)
    first, second = (b"srv", b"cli") if first_speaker == "server" else (b"cli", b"srv")
    assert h.recorder.layout(1, 0) == [first]
    assert h.recorder.layout(1, 1) == [second]


# --------------------------------------------------------------------------- UDP and ICMP
def test_udp_flow_counts_each_direction_and_delivers_each_datagram() -> None:
    a, b = "10.10.0.2", "10.10.0.1"  # the originator sorts second in the key
    packets = []
    for k in range(3):
        packets.append(udp_packet(a, b, 47808, 47808, b"who-is-%d" % k, T0 + k * SEC))
        packets.append(udp_packet(b, a, 47808, 47808, b"i-am-%d!" % k, T0 + k * SEC + MS))
    h = run(packets)
    rec = h.only
    assert (rec.proto, rec.orig_ip, rec.orig_port, rec.resp_ip, rec.resp_port) == (
        17,
        a,
        47808,
        b,
        47808,
    )
    assert not rec.handshake
    assert rec.tcp == {}
    assert (rec.orig_packets, rec.resp_packets) == (3, 3)
    assert (rec.orig_bytes, rec.resp_bytes) == (wire(packets[0::2]), wire(packets[1::2]))
    assert (rec.orig_payload, rec.resp_payload) == (3 * 8, 3 * 7)
    assert [(it.kind, it.direction, it.data) for it in h.items] == [
        *[
            x
            for k in range(3)
            for x in (("data", 0, b"who-is-%d" % k), ("data", 1, b"i-am-%d!" % k))
        ],
        ("end", -1, b""),
    ]
    assert [it.frame for it in h.items[:-1]] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("src", "dst", "proto"),
    [("203.0.113.9", "203.0.113.5", 1), ("2001:db8::9", "2001:db8::5", 58)],
)
def test_icmp_echo_request_and_reply_share_one_flow(src: str, dst: str, proto: int) -> None:
    packets = []
    for seq in range(2):
        t = T0 + seq * SEC
        packets.append(icmp_echo_packet(src, dst, 77, seq, b"ping", t))
        packets.append(icmp_echo_packet(dst, src, 77, seq, b"ping", t + MS, reply=True))
    h = run(packets)
    rec = h.only
    assert (rec.proto, rec.orig_ip, rec.orig_port, rec.resp_ip, rec.resp_port) == (
        proto,
        src,
        0,
        dst,
        0,
    )
    assert (rec.orig_packets, rec.resp_packets) == (2, 2)
    # ICMP payload: what follows type, code and checksum (identifier, sequence, data).
    assert (rec.orig_payload, rec.resp_payload) == (16, 16)
    body = [struct.pack(">HH", 77, seq) + b"ping" for seq in range(2)]
    assert h.recorder.stream(1, 0) == b"".join(body)
    assert h.recorder.stream(1, 1) == b"".join(body)


def test_other_protocols_and_ports_are_other_flows() -> None:
    t = T0
    packets = [
        udp_packet("10.0.0.1", "10.0.0.2", 1000, 2000, b"a", t),
        udp_packet("10.0.0.1", "10.0.0.2", 1000, 2001, b"b", t + 1),
        udp_packet("10.0.0.1", "10.0.0.3", 1000, 2000, b"c", t + 2),
        Packet(TcpConversation("10.0.0.1", "10.0.0.2", 1000, 2000).client(0, b"d").frame, t + 3),
        udp_packet("10.0.0.2", "10.0.0.1", 2000, 1000, b"e", t + 4),
    ]
    h = run(packets)
    assert [(r.flow_id, r.proto, r.resp_ip, r.resp_port, r.packets) for r in h.records] == [
        (1, 17, "10.0.0.2", 2000, 2),
        (2, 17, "10.0.0.2", 2001, 1),
        (3, 17, "10.0.0.3", 2000, 1),
        (4, 6, "10.0.0.2", 2000, 1),
    ]


# --------------------------------------------------------------------------- idle timeouts
@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_idle_timeout_in_packet_time_starts_a_new_flow(batch_size: int) -> None:
    def pkt(payload: bytes, ts_ns: int) -> Packet:
        return udp_packet(CLIENT, SERVER, 5000, 161, payload, ts_ns)

    packets = [
        pkt(b"one", T0),
        pkt(b"two", T0 + 30 * SEC),
        pkt(b"three", T0 + 90 * SEC),  # idle exactly 60 s: still the same flow
        pkt(b"four", T0 + 150 * SEC + 1),  # idle 60 s + 1 ns: a new flow
        pkt(b"five", T0 + 151 * SEC),
    ]
    h = run(packets, batch_size=batch_size)
    first, second = h.records
    assert (first.flow_id, first.packets, first.end_reason) == (1, 3, END_TIMEOUT)
    assert (first.first_ts_ns, first.last_ts_ns) == (T0, T0 + 90 * SEC)
    assert (second.flow_id, second.packets, second.end_reason) == (2, 2, END_EOF)
    assert second.first_ts_ns == T0 + 150 * SEC + 1
    assert h.recorder.stream(1, 0) == b"onetwothree"
    assert h.recorder.stream(2, 0) == b"fourfive"
    assert sorted(h.recorder.contexts) == [1, 2]
    # on_end of the first flow comes before the second flow's data, at its own last packet time
    assert [(it.kind, it.flow_id) for it in h.items][3:5] == [("end", 1), ("data", 2)]
    assert h.items[3].ts_ns == T0 + 90 * SEC


def test_idle_flow_ends_when_other_traffic_moves_packet_time_on() -> None:
    h = Harness(config(udp=10.0))
    h.feed([udp_packet("10.0.0.1", "10.0.0.2", 1, 2, b"x", T0)])
    h.feed([udp_packet("10.0.0.3", "10.0.0.4", 1, 2, b"y", T0 + 10 * SEC)])
    assert h.records == []  # idle exactly the timeout: not yet
    # Packet time, not wall time: T0 is long past, yet nothing expired without packets.
    h.feed([udp_packet("10.0.0.3", "10.0.0.4", 1, 2, b"z", T0 + 10 * SEC + 1)])
    assert [(r.flow_id, r.end_reason) for r in h.records] == [(1, END_TIMEOUT)]
    assert h.recorder.ends() == [1]
    h.finish()
    assert [(r.flow_id, r.end_reason, r.packets) for r in h.records] == [
        (1, END_TIMEOUT, 1),
        (2, END_EOF, 2),
    ]


def test_timeouts_follow_the_protocol() -> None:
    conv = TcpConversation(step_ns=100 * SEC)  # 100 s between packets: < 300 s TCP timeout
    tcp_packets = [*conv.handshake(), conv.client(0, b"slow")]
    udp = [udp_packet("10.0.0.1", "10.0.0.2", 1, 2, b"u", T0 + k * 100 * SEC) for k in range(1, 3)]
    h = run(sorted([*tcp_packets, *udp], key=lambda p: p.ts_ns))
    assert sorted((r.proto, r.packets) for r in h.records) == [(6, 4), (17, 1), (17, 1)]


# --------------------------------------------------------------------------- port reuse, close
def _first_connection(closing: str) -> tuple[TcpConversation, list[Packet]]:
    conv = TcpConversation(client_isn=1000, server_isn=2000)
    packets = [*conv.handshake(), conv.client(0, b"one"), conv.server(0, b"ONE", ack=3)]
    if closing == "fin":
        packets += conv.close(3, 3)
    else:
        packets.append(conv.client(3, ack=3, flags="RA"))
    return conv, packets


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("closing", ["fin", "rst"])
def test_syn_after_close_starts_a_new_flow(closing: str, batch_size: int) -> None:
    conv, first = _first_connection(closing)
    again = TcpConversation(client_isn=70_000, server_isn=80_000, start_ns=conv.now + SEC)
    second = [*again.handshake(), again.client(0, b"two"), again.server(0, b"TWO", ack=3)]

    h = run(first + second, batch_size=batch_size)

    r1, r2 = h.records
    assert (r1.flow_id, r1.packets, r1.end_reason) == (1, len(first), END_SPLIT)
    assert (r2.flow_id, r2.packets, r2.end_reason) == (2, len(second), END_EOF)
    assert r2.handshake
    assert (r2.orig_ip, r2.resp_ip) == (CLIENT, SERVER)
    assert (h.recorder.stream(1, 0), h.recorder.stream(1, 1)) == (b"one", b"ONE")
    assert (h.recorder.stream(2, 0), h.recorder.stream(2, 1)) == (b"two", b"TWO")
    assert r2.tcp["orig_retrans"] == r2.tcp["orig_gaps"] == 0


def test_syn_retransmission_and_half_close_stay_in_the_flow() -> None:
    conv = TcpConversation()
    syn, syn_ack, ack = conv.handshake()
    packets = [
        syn,
        conv.syn(),  # retransmitted SYN
        syn_ack,
        ack,
        conv.client(0, b"req", flags="FPA"),  # the client half-closes
        conv.server(0, b"resp", ack=4),
    ]
    h = run(packets)
    assert h.only.packets == 6
    assert h.recorder.layout(1, 0) == [b"req"]
    assert h.recorder.layout(1, 1) == [b"resp"]


@pytest.mark.parametrize("closing", ["fin", "rst"])
def test_closed_flow_ends_after_the_close_delay(closing: str) -> None:
    conv, packets = _first_connection(closing)
    h = Harness(config(tcp_closed=5.0))
    h.feed(packets)
    h.feed([udp_packet("10.9.9.1", "10.9.9.2", 1, 2, b"x", conv.now + 5 * SEC)])
    assert h.records == []
    h.feed([udp_packet("10.9.9.1", "10.9.9.2", 1, 2, b"y", conv.now + 5 * SEC + 1)])
    assert [(r.flow_id, r.end_reason, r.packets) for r in h.records] == [
        (1, END_CLOSED, len(packets))
    ]
    assert h.recorder.ends() == [1]


def test_open_flow_is_not_ended_by_the_close_delay() -> None:
    conv = TcpConversation()
    packets = [*conv.handshake(), conv.client(0, b"x", flags="FPA")]  # one FIN only
    h = Harness().feed(packets)
    h.feed([udp_packet("10.9.9.1", "10.9.9.2", 1, 2, b"x", conv.now + 60 * SEC)])
    assert h.records == []


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("between", [True, False])
def test_late_packet_after_the_close_delay_is_a_new_flow(batch_size: int, between: bool) -> None:
    conv, first = _first_connection("fin")
    other = [udp_packet("10.9.9.1", "10.9.9.2", 1, 2, b"x", conv.now + 6 * SEC)] if between else []
    late = conv.server(4, ack=4, flags="A", ts_ns=conv.now + 7 * SEC)
    h = run([*first, *other, late], batch_size=batch_size)
    tcp_records = [r for r in h.records if r.proto == 6]
    assert [(r.packets, r.end_reason, r.handshake) for r in tcp_records] == [
        (len(first), END_CLOSED, True),
        (1, END_EOF, False),
    ]
    assert [r.flow_id for r in h.sorted_records()] == ([1, 2, 3] if between else [1, 2])


# --------------------------------------------------------------------------- the live-flow cap
def _udp_from(host: int, ts_ns: int) -> Packet:
    return udp_packet(f"10.1.0.{host}", "10.1.1.1", 1000, 2000, b"h%d" % host, ts_ns)


def test_cap_evicts_the_least_recently_seen_flows() -> None:
    h = Harness(config(max_flows=3))
    order = [1, 2, 3, 1, 4, 5]  # host 1 is seen again before hosts 4 and 5 arrive
    for k, host in enumerate(order):
        h.feed([_udp_from(host, T0 + k * SEC)])
        assert h.engine.flows.live <= 3
    assert [(r.orig_ip, r.end_reason, r.packets) for r in h.records] == [
        ("10.1.0.2", END_EVICTED, 1),
        ("10.1.0.3", END_EVICTED, 1),
    ]
    assert h.engine.flows.evicted == 2
    assert h.recorder.ends() == [2, 3]
    h.finish()
    assert [(r.flow_id, r.orig_ip, r.packets) for r in h.sorted_records()] == [
        (1, "10.1.0.1", 2),
        (2, "10.1.0.2", 1),
        (3, "10.1.0.3", 1),
        (4, "10.1.0.4", 1),
        (5, "10.1.0.5", 1),
    ]
    assert h.engine.stats.flows_ended == 5


def test_cap_never_evicts_a_flow_the_current_batch_continues() -> None:
    h = Harness(config(max_flows=2))
    h.feed([_udp_from(1, T0), _udp_from(2, T0 + SEC)])
    h.feed([_udp_from(3, T0 + 2 * SEC), _udp_from(1, T0 + 3 * SEC)])
    assert [(r.orig_ip, r.end_reason) for r in h.records] == [("10.1.0.2", END_EVICTED)]
    h.finish()
    host1 = [r for r in h.records if r.orig_ip == "10.1.0.1"]
    assert [(r.flow_id, r.packets) for r in host1] == [(1, 2)]
    assert h.recorder.stream(1, 0) == b"h1h1"


def test_cap_holds_under_a_scan() -> None:
    h = Harness(config(max_flows=50))
    for start in range(0, 1000, 100):
        h.feed([_udp_from(1 + k % 250, T0 + k * MS) for k in range(start, start + 100)], 100)
        assert h.engine.flows.live <= 50 + 100  # overshoot by at most one batch of new flows
    h.finish()
    reasons = Counter(r.end_reason for r in h.records)
    assert reasons[END_EVICTED] == h.engine.flows.evicted > 0
    assert reasons[END_EOF] <= 50 + 100
    assert sum(r.packets for r in h.records) == 1000
    assert h.engine.flows.live == 0


# --------------------------------------------------------------------------- hash collisions
class _CollidingKeys(FlowKeys):
    """Every packet gets the same 64-bit hash: the keys must still never be merged."""

    def __init__(self, t: PacketTable, eligible: npt.NDArray[np.bool_]) -> None:
        super().__init__(t, eligible)
        self.hash = np.full_like(self.hash, 0x5EED)


def _collision_packets() -> list[Packet]:
    return [
        udp_packet("10.2.0.1", "10.2.0.9", 1, 2, b"x1", T0),
        udp_packet("10.2.0.2", "10.2.0.9", 1, 2, b"y1", T0 + MS),
        udp_packet("10.2.0.1", "10.2.0.9", 1, 2, b"x2", T0 + 2 * MS),
        udp_packet("10.2.0.9", "10.2.0.1", 2, 1, b"x3", T0 + 3 * MS),
    ]


def test_hash_collision_across_batches_never_merges_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "FlowKeys", _CollidingKeys)
    h = run(_collision_packets(), batch_size=1)
    assert h.engine.flows.collisions == 2
    # x1 | y1 takes the hash over | x2, x3 start again: three flows, none mixed.
    assert [(r.flow_id, r.orig_ip, r.packets) for r in h.sorted_records()] == [
        (1, "10.2.0.1", 1),
        (2, "10.2.0.2", 1),
        (3, "10.2.0.1", 2),
    ]
    assert h.recorder.stream(1, 0) == b"x1"
    assert h.recorder.stream(2, 0) == b"y1"
    assert (h.recorder.stream(3, 0), h.recorder.stream(3, 1)) == (b"x2", b"x3")


def test_hash_collision_inside_a_batch_never_merges_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "FlowKeys", _CollidingKeys)
    h = run(_collision_packets(), batch_size=1000)
    assert h.engine.flows.collisions == 1  # y1 is counted and skipped
    assert [(r.flow_id, r.orig_ip, r.packets) for r in h.records] == [(1, "10.2.0.1", 3)]
    assert h.recorder.stream(1, 0) == b"x1x2"
    assert h.recorder.stream(1, 1) == b"x3"


# --------------------------------------------------------------------------- determinism
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batch_size_never_changes_the_results(seed: int) -> None:
    packets = mixed_traffic(seed)
    runs = {size: run(packets, batch_size=size) for size in BATCH_SIZES}
    base = runs[1000]
    reasons = {r.end_reason for r in base.records}
    assert {END_TIMEOUT, END_CLOSED, END_EOF} <= reasons  # the traffic exercises the paths
    assert any(it.kind == "gap" for it in base.items)
    for size in BATCH_SIZES:
        other = runs[size]
        assert other.sorted_records() == base.sorted_records(), size
        assert other.recorder.by_flow() == base.recorder.by_flow(), size
        assert other.recorder.contexts == base.recorder.contexts, size
        assert other.engine.stats == base.engine.stats, size
    # Flow ids follow the order of each flow's first packet.
    firsts = [r.first_ts_ns for r in base.sorted_records()]
    assert firsts == sorted(firsts)
    assert [r.flow_id for r in base.sorted_records()] == list(range(1, len(base.records) + 1))


def test_same_input_twice_gives_identical_output() -> None:
    packets = mixed_traffic(7)
    a = run(packets, batch_size=7)
    b = run(packets, batch_size=7)
    assert a.records == b.records  # same order of ends, too
    assert a.items == b.items
