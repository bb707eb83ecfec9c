"""Shared harness for the flow, reassembly, fragment and engine tests.

A recording :class:`StreamHandler` and factory, a tiny TCP conversation builder (relative
sequence numbers, any ISN, wrap-around included) and :func:`run`, which pushes packets through
an :class:`Engine` in batches of a chosen size and returns what the engine reported.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from otsight.capture.batch import FrameBatch
from otsight.core.plugins import FlowContext, HandlerFactory, StreamHandler
from otsight.decode.flows import FlowRecord, Timeouts
from otsight.pipeline.engine import Engine, EngineConfig
from otsight.testing.packets import (
    ETH_IPV4,
    ETH_IPV6,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    ethernet,
    icmp_echo,
    icmpv6_echo,
    ipv4,
    ipv6,
    tcp_frame,
    udp_frame,
)

LINKTYPE_ETHERNET = 1
SEC = 1_000_000_000
MS = 1_000_000
T0 = 1_700_000_000 * SEC  # packet time starts here (wall time never matters)

MAC_A = "02:00:00:00:00:01"
MAC_B = "02:00:00:00:00:02"
CLIENT = "192.0.2.10"
SERVER = "192.0.2.20"
CLIENT_PORT = 40000
SERVER_PORT = 502


# --------------------------------------------------------------------------- packets
@dataclass(frozen=True, slots=True)
class Packet:
    """One captured frame; ``wirelen`` larger than the frame means it was snaplen-truncated."""

    frame: bytes
    ts_ns: int
    wirelen: int | None = None


def snapped(packet: Packet, caplen: int) -> Packet:
    """The packet as a capture with snap length ``caplen`` would have stored it."""
    return Packet(packet.frame[:caplen], packet.ts_ns, len(packet.frame))


def batches(packets: Sequence[Packet], size: int) -> list[FrameBatch]:
    """Cut ``packets`` into batches of ``size``, numbering frames from 1 across batches."""
    out: list[FrameBatch] = []
    for start in range(0, len(packets), size):
        chunk = packets[start : start + size]
        batch = FrameBatch.from_frames(
            [p.frame for p in chunk],
            LINKTYPE_ETHERNET,
            [p.ts_ns for p in chunk],
            first_frame=start + 1,
        )
        wire = [p.wirelen if p.wirelen is not None else len(p.frame) for p in chunk]
        batch.wirelen = np.asarray(wire, dtype=np.int32)
        out.append(batch)
    return out


def udp_packet(src: str, dst: str, sport: int, dport: int, payload: bytes, ts_ns: int) -> Packet:
    return Packet(udp_frame(src, dst, sport, dport, payload), ts_ns)


def icmp_echo_packet(
    src: str, dst: str, ident: int, seq: int, payload: bytes, ts_ns: int, *, reply: bool = False
) -> Packet:
    """An ICMP (IPv4) or ICMPv6 (IPv6) echo request or reply."""
    if ":" in src:
        body = icmpv6_echo(ident, seq, payload, reply, src_ip=src, dst_ip=dst)
        frame = ethernet(MAC_B, MAC_A, ETH_IPV6, ipv6(src, dst, IPPROTO_ICMPV6, body))
    else:
        body = icmp_echo(ident, seq, payload, reply)
        frame = ethernet(MAC_B, MAC_A, ETH_IPV4, ipv4(src, dst, IPPROTO_ICMP, body), pad=True)
    return Packet(frame, ts_ns)


class TcpConversation:
    """Builds the packets of one TCP connection with relative sequence numbers.

    ``client(rel, data)`` is a client segment whose first data byte is stream offset ``rel``
    (0 = the first byte after the SYN); ``ack`` is the server stream offset acknowledged.
    Each packet advances the conversation clock by ``step_ns`` unless ``ts_ns`` is given.
    """

    def __init__(
        self,
        client: str = CLIENT,
        server: str = SERVER,
        client_port: int = CLIENT_PORT,
        server_port: int = SERVER_PORT,
        *,
        client_isn: int = 1000,
        server_isn: int = 500_000,
        start_ns: int = T0,
        step_ns: int = MS,
    ) -> None:
        self.client_ip = client
        self.server_ip = server
        self.client_port = client_port
        self.server_port = server_port
        self.client_isn = client_isn
        self.server_isn = server_isn
        self.now = start_ns
        self.step_ns = step_ns

    def _ts(self, ts_ns: int | None) -> int:
        if ts_ns is None:
            self.now += self.step_ns
            return self.now
        self.now = ts_ns
        return ts_ns

    def client(
        self,
        rel: int,
        data: bytes = b"",
        *,
        ack: int | None = 0,
        flags: str = "PA",
        ts_ns: int | None = None,
    ) -> Packet:
        return self._segment(True, rel, data, ack, flags, ts_ns)

    def server(
        self,
        rel: int,
        data: bytes = b"",
        *,
        ack: int | None = 0,
        flags: str = "PA",
        ts_ns: int | None = None,
    ) -> Packet:
        return self._segment(False, rel, data, ack, flags, ts_ns)

    def _segment(
        self,
        from_client: bool,
        rel: int,
        data: bytes,
        ack: int | None,
        flags: str,
        ts_ns: int | None,
    ) -> Packet:
        if from_client:
            own, peer = self.client_isn, self.server_isn
            src, dst = self.client_ip, self.server_ip
            sport, dport = self.client_port, self.server_port
        else:
            own, peer = self.server_isn, self.client_isn
            src, dst = self.server_ip, self.client_ip
            sport, dport = self.server_port, self.client_port
        if ack is None:
            flags = flags.replace("A", "")
        frame = tcp_frame(
            src,
            dst,
            sport,
            dport,
            seq=(own + 1 + rel) & 0xFFFFFFFF,
            ack=(peer + 1 + (ack or 0)) & 0xFFFFFFFF,
            flags=flags,
            payload=data,
        )
        return Packet(frame, self._ts(ts_ns))

    def syn(self, data: bytes = b"", ts_ns: int | None = None) -> Packet:
        frame = tcp_frame(
            self.client_ip,
            self.server_ip,
            self.client_port,
            self.server_port,
            seq=self.client_isn,
            ack=0,
            flags="S",
            payload=data,
        )
        return Packet(frame, self._ts(ts_ns))

    def syn_ack(self, ts_ns: int | None = None) -> Packet:
        frame = tcp_frame(
            self.server_ip,
            self.client_ip,
            self.server_port,
            self.client_port,
            seq=self.server_isn,
            ack=(self.client_isn + 1) & 0xFFFFFFFF,
            flags="SA",
        )
        return Packet(frame, self._ts(ts_ns))

    def handshake(self) -> list[Packet]:
        return [self.syn(), self.syn_ack(), self.client(0, ack=0, flags="A")]

    def close(self, client_len: int, server_len: int) -> list[Packet]:
        """FIN from the client, FIN-ACK from the server, last ACK from the client."""
        return [
            self.client(client_len, ack=server_len, flags="FA"),
            self.server(server_len, ack=client_len + 1, flags="FA"),
            self.client(client_len + 1, ack=server_len + 1, flags="A"),
        ]


def mixed_traffic(seed: int) -> list[Packet]:
    """Seeded, realistic-looking traffic, merged in time order.

    TCP connections with handshakes, requests and responses, segments reordered, retransmitted
    or lost in capture (a later ACK proves the loss), closes, port reuse within the close delay
    and after it, late packets after a close; UDP flows idle past their timeout; ICMP echoes.
    """
    rng = random.Random(seed)
    lists: list[list[Packet]] = []
    for k in range(5):
        conv = TcpConversation(
            client=f"192.0.2.{100 + k}",
            client_port=40000 + k,
            client_isn=rng.getrandbits(32),
            server_isn=rng.getrandbits(32),
            start_ns=T0 + rng.randrange(0, 2 * SEC),
            step_ns=rng.randrange(1, 400) * MS,
        )
        for _connection in range(2):
            packets = conv.handshake()
            sent = got = 0
            for _ in range(rng.randrange(2, 7)):
                req = rng.randbytes(rng.randrange(1, 60))
                resp = rng.randbytes(rng.randrange(1, 200))
                if len(req) > 1 and rng.random() < 0.3:
                    cut = rng.randrange(1, len(req))
                    packets.append(conv.client(sent + cut, req[cut:], ack=got))
                    packets.append(conv.client(sent, req[:cut], ack=got))
                else:
                    packets.append(conv.client(sent, req, ack=got))
                if rng.random() < 0.2:
                    packets.append(conv.client(sent, req, ack=got))  # retransmission
                sent += len(req)
                if rng.random() < 0.2:
                    got += len(resp)  # lost in capture; the client's next ACK proves it
                    continue
                packets.append(conv.server(got, resp, ack=sent))
                got += len(resp)
            packets += conv.close(sent, got)
            if rng.random() < 0.5:
                late = conv.now + rng.choice([2, 20]) * SEC  # inside / after the close delay
                packets.append(conv.server(got + 1, ack=sent + 1, flags="A", ts_ns=late))
            lists.append(packets)
            # The same ports again: within the close delay (reuse) or long after it.
            gap_s = rng.choice([1, 3, 30])
            conv = TcpConversation(
                client=conv.client_ip,
                client_port=conv.client_port,
                client_isn=rng.getrandbits(32),
                server_isn=rng.getrandbits(32),
                start_ns=conv.now + gap_s * SEC,
                step_ns=conv.step_ns,
            )
    for k in range(4):
        src, dst = f"198.51.100.{k + 1}", "198.51.100.200"
        t = T0 + rng.randrange(0, 5 * SEC)
        packets = []
        for _ in range(rng.randrange(2, 6)):
            t += rng.choice([10 * MS, 2 * SEC, 70 * SEC])  # 70 s: past the UDP timeout
            packets.append(udp_packet(src, dst, 47808, 47808, rng.randbytes(12), t))
            t += MS
            packets.append(udp_packet(dst, src, 47808, 47808, rng.randbytes(20), t))
        lists.append(packets)
    for k, src in enumerate(("203.0.113.5", "2001:db8::5")):
        dst = "203.0.113.9" if k == 0 else "2001:db8::9"
        t = T0 + rng.randrange(0, 3 * SEC)
        packets = []
        for seq in range(3):
            t += SEC
            packets.append(icmp_echo_packet(src, dst, 7, seq, b"ping", t))
            packets.append(icmp_echo_packet(dst, src, 7, seq, b"ping", t + MS, reply=True))
        lists.append(packets)
    merged = [p for packets in lists for p in packets]
    merged.sort(key=lambda p: p.ts_ns)  # stable: equal times keep their list order
    return merged


# --------------------------------------------------------------------------- handlers
@dataclass(frozen=True, slots=True)
class Item:
    """One handler call, flattened: kind is "data", "gap" or "end"."""

    kind: str
    flow_id: int
    direction: int = -1
    data: bytes = b""
    nbytes: int = 0
    ts_ns: int = 0
    frame: int = 0


class RecordingHandler:
    """A StreamHandler that writes every call into its recorder."""

    def __init__(self, recorder: Recorder, flow: FlowContext) -> None:
        self.recorder = recorder
        self.flow = flow

    def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> None:
        self.recorder.items.append(
            Item("data", self.flow.flow_id, direction, bytes(data), len(data), ts_ns, frame)
        )
        if self.recorder.fail_on is not None and self.recorder.fail_on(self.flow, data):
            raise RuntimeError("handler bug (test)")

    def on_gap(self, direction: int, nbytes: int, ts_ns: int) -> None:
        self.recorder.items.append(Item("gap", self.flow.flow_id, direction, b"", nbytes, ts_ns))

    def on_end(self, ts_ns: int) -> None:
        self.recorder.items.append(Item("end", self.flow.flow_id, ts_ns=ts_ns))


@dataclass
class Recorder:
    """Factory plus log: makes a RecordingHandler per flow and keeps what they were told.

    ``accept`` returning False makes the factory return None for that flow; ``fail_on``
    returning True makes ``on_data`` raise after recording the call.
    """

    items: list[Item] = field(default_factory=list)
    contexts: dict[int, FlowContext] = field(default_factory=dict)
    first_calls: dict[int, tuple[int, bytes]] = field(default_factory=dict)
    accept: Callable[[FlowContext, int, bytes], bool] | None = None
    fail_on: Callable[[FlowContext, bytes], bool] | None = None

    def __call__(
        self, flow: FlowContext, direction: int, first_data: bytes
    ) -> StreamHandler | None:
        self.contexts[flow.flow_id] = flow
        self.first_calls[flow.flow_id] = (direction, bytes(first_data))
        if self.accept is not None and not self.accept(flow, direction, first_data):
            return None
        return RecordingHandler(self, flow)

    # ------------------------------------------------------------------ views
    def of(self, flow_id: int) -> list[Item]:
        return [it for it in self.items if it.flow_id == flow_id]

    def stream(self, flow_id: int, direction: int) -> bytes:
        """The bytes delivered for one direction, concatenated (gaps left out)."""
        return b"".join(
            it.data
            for it in self.items
            if it.kind == "data" and it.flow_id == flow_id and it.direction == direction
        )

    def layout(self, flow_id: int, direction: int) -> list[bytes | int]:
        """The direction's deliveries in order: bytes for data, an int (size) for a gap.

        Adjacent data chunks are merged, so the result does not depend on segmentation.
        """
        out: list[bytes | int] = []
        for it in self.items:
            if it.flow_id != flow_id or it.direction != direction:
                continue
            if it.kind == "gap":
                out.append(it.nbytes)
            elif out and isinstance(out[-1], bytes):
                out[-1] = out[-1] + it.data
            else:
                out.append(it.data)
        return out

    def ends(self) -> list[int]:
        return [it.flow_id for it in self.items if it.kind == "end"]

    def by_flow(self) -> dict[int, list[Item]]:
        """Items grouped per flow, each group in delivery order (for cross-run comparisons)."""
        out: dict[int, list[Item]] = {}
        for it in self.items:
            out.setdefault(it.flow_id, []).append(it)
        return out


# --------------------------------------------------------------------------- running
def config(
    *,
    max_flows: int = 500_000,
    fragment_timeout: float = 30.0,
    **timeouts: float,
) -> EngineConfig:
    return EngineConfig(
        max_flows=max_flows, timeouts=Timeouts(**timeouts), fragment_timeout=fragment_timeout
    )


class Harness:
    """An engine wired to a :class:`Recorder` and a list of ended flows."""

    def __init__(
        self,
        engine_config: EngineConfig | None = None,
        recorder: Recorder | None = None,
        factory: HandlerFactory | None = None,
        *,
        handlers: bool = True,
    ) -> None:
        self.recorder = recorder if recorder is not None else Recorder()
        self.records: list[FlowRecord] = []
        chosen: HandlerFactory | None = factory if factory is not None else self.recorder
        self.engine = Engine(
            engine_config,
            handler_factory=chosen if handlers else None,
            on_flow_end=self.records.append,
        )
        self.frames = 0

    def feed(self, packets: Iterable[Packet], batch_size: int = 1000) -> Harness:
        """Process ``packets`` (capture order) in batches of ``batch_size``."""
        for batch in batches(list(packets), batch_size):
            batch.first_frame = self.frames + 1  # frames numbered across feed() calls
            self.frames += len(batch)
            self.engine.process(batch)
        return self

    def finish(self) -> Harness:
        self.engine.finish()
        return self

    @property
    def items(self) -> list[Item]:
        return self.recorder.items

    def record(self, flow_id: int) -> FlowRecord:
        (match,) = [r for r in self.records if r.flow_id == flow_id]
        return match

    @property
    def only(self) -> FlowRecord:
        """The single flow of the run (fails if there is not exactly one)."""
        (match,) = self.records
        return match

    def sorted_records(self) -> list[FlowRecord]:
        return sorted(self.records, key=lambda r: r.flow_id)


def run(
    packets: Iterable[Packet],
    *,
    batch_size: int = 1000,
    engine_config: EngineConfig | None = None,
    recorder: Recorder | None = None,
    factory: HandlerFactory | None = None,
    handlers: bool = True,
) -> Harness:
    """Feed ``packets`` through a fresh engine and end every open flow."""
    harness = Harness(engine_config, recorder, factory, handlers=handlers)
    return harness.feed(packets, batch_size).finish()
