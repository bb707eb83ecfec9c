"""Everything the inventory has learnt so far, kept compact until assets are resolved from it.

Facts arrive at message rate, so each one costs a dictionary update: observations are folded by
(subject, attribute, value, source) with a count and first/last time, activities by (client,
server, protocol, category, operation), served ports by (server, transport, port), TCP
connections that carried nothing by (client, server, port). Resolution into assets
(:mod:`otsight.inventory.resolve`) reads this ledger; it never reads packets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.types import ip_from_words
from ..decode.flows import FlowColumns
from .model import Activity, Observation

Subject = tuple[str, str]  # ("mac", "aa:bb:..") or ("ip", "192.0.2.1")


@dataclass(slots=True)
class ObservationTally:
    """One distinct observed value of an attribute, from one source, about one subject."""

    attribute: str
    value: str
    source: str
    reliability: int
    count: int
    first_ts: float
    last_ts: float
    first_frame: int


@dataclass(slots=True)
class ActivityTally:
    count: int
    first_ts: float
    last_ts: float
    server_port: int | None
    transport: str | None


@dataclass(slots=True)
class PortTally:
    """A port that answered: how many flows, from which clients."""

    flows: int = 0
    clients: set[str] = field(default_factory=set)
    first_ts: float = 0.0
    last_ts: float = 0.0


@dataclass(slots=True)
class IpTraffic:
    packets: int = 0
    bytes: int = 0
    first_ts: float = 0.0
    last_ts: float = 0.0
    peers: set[str] = field(default_factory=set)
    sent: int = 0  # packets this address sent (an address that only received is not a device)


@dataclass(slots=True)
class Probes:
    """Connection attempts an address made that got no answer (refused, or nothing at all)."""

    flows: int = 0
    targets: set[str] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)


@dataclass(slots=True)
class EmptyConnections:
    """TCP connections one client opened to one service that carried no data either way (a
    handshake, or a lone SYN, then a close): a monitor's port check now and then; hundreds a
    second are a connection flood."""

    flows: int = 0
    answered: int = 0  # the server accepted them (SYN-ACK)
    first_ts: float = 0.0
    last_ts: float = 0.0


@dataclass(slots=True)
class Conversation:
    """Two endpoints and a service, summed over the flows between them."""

    client: str
    server: str
    transport: str
    port: int
    flows: int = 0
    packets: int = 0
    bytes: int = 0
    first_ts: float = 0.0
    last_ts: float = 0.0


MAX_PEERS = 4096  # a scanner's peer set is capped; the count of peers stays exact below it

_TRANSPORTS = {6: "tcp", 17: "udp", 132: "sctp"}


class Ledger:
    """Facts and flow summaries, folded as they arrive."""

    def __init__(self) -> None:
        self.observations: dict[tuple[Subject, str, str, str], ObservationTally] = {}
        self.activities: dict[tuple[Subject, Subject, str, str, str], ActivityTally] = {}
        self.ports: dict[tuple[str, str, int], PortTally] = {}
        self.traffic: dict[str, IpTraffic] = {}
        self.conversations: dict[tuple[str, str, str, int], Conversation] = {}
        self.probes: dict[str, Probes] = {}
        self.empty: dict[tuple[str, str, int], EmptyConnections] = {}
        self._empty_keys: dict[str, int] = {}  # keys per client in ``empty`` (capped)

    # ------------------------------------------------------------------ facts
    def observe(self, obs: Observation) -> None:
        subject = _subject(obs.mac, obs.ip)
        if subject is None or not obs.value:
            return
        key = (subject, obs.attribute, obs.value, obs.source)
        tally = self.observations.get(key)
        if tally is None:
            self.observations[key] = ObservationTally(
                obs.attribute, obs.value, obs.source, obs.reliability, 1, obs.ts, obs.ts, obs.frame
            )
        else:
            tally.count += 1
            tally.last_ts = max(tally.last_ts, obs.ts)
        if obs.mac and obs.ip:
            # A fact naming both binds them (ARP sender, DHCP lease, DCP IP block).
            bind = (("mac", obs.mac), "ip", obs.ip, obs.source)
            if bind != key:
                btally = self.observations.get(bind)
                if btally is None:
                    self.observations[bind] = ObservationTally(
                        "ip", obs.ip, obs.source, obs.reliability, 1, obs.ts, obs.ts, obs.frame
                    )
                else:
                    btally.count += 1
                    btally.last_ts = max(btally.last_ts, obs.ts)

    def act(self, act: Activity) -> None:
        # Activities name devices by IP where they have one (the service's address).
        client = _subject(None, act.client_ip) or _subject(act.client_mac, None)
        server = _subject(None, act.server_ip) or _subject(act.server_mac, None)
        if client is None or server is None:
            return
        key = (client, server, act.protocol, act.category, act.operation)
        tally = self.activities.get(key)
        if tally is None:
            self.activities[key] = ActivityTally(1, act.ts, act.ts, act.server_port, act.transport)
        else:
            tally.count += 1
            tally.last_ts = max(tally.last_ts, act.ts)

    def act_many(
        self,
        client: Subject,
        server: Subject,
        protocol: str,
        category: str,
        operation: str,
        count: int,
        first_ts: float,
        last_ts: float,
        server_port: int | None,
        transport: str | None,
    ) -> None:
        """``count`` identical activities at once (a columnar batch of polling)."""
        key = (client, server, protocol, category, operation)
        tally = self.activities.get(key)
        if tally is None:
            self.activities[key] = ActivityTally(count, first_ts, last_ts, server_port, transport)
        else:
            tally.count += count
            tally.first_ts = min(tally.first_ts, first_ts)
            tally.last_ts = max(tally.last_ts, last_ts)

    # ------------------------------------------------------------------ flows
    def add_flows(self, flows: FlowColumns) -> None:
        """Answered ports, traffic per address and conversations from ended flows."""
        n = len(flows)
        if n == 0:
            return
        first = flows.first_ts / 1e9
        last = flows.last_ts / 1e9
        packets = flows.orig_packets + flows.resp_packets
        nbytes = flows.orig_bytes + flows.resp_bytes
        # A TCP responder answered if it sent SYN-ACK or any payload; UDP if it sent anything.
        syn_ack = (flows.resp_flags & 0x12) == 0x12
        answered = np.where(
            flows.proto == 6, syn_ack | (flows.resp_payload > 0), flows.resp_packets > 0
        )
        cols = zip(
            flows.orig_hi.tolist(),
            flows.orig_lo.tolist(),
            flows.resp_hi.tolist(),
            flows.resp_lo.tolist(),
            flows.proto.tolist(),
            flows.resp_port.tolist(),
            flows.orig_packets.tolist(),
            flows.resp_packets.tolist(),
            packets.tolist(),
            nbytes.tolist(),
            first.tolist(),
            last.tolist(),
            answered.tolist(),
            strict=True,
        )
        orig_ports = flows.orig_port.tolist()
        # TCP flows that carried no payload either way (SYN floods, connect floods, port checks)
        no_data = (flows.orig_payload == 0) & (flows.resp_payload == 0)
        empty = ((flows.proto == 6) & no_data).tolist()
        for k, (oh, ol, rh, rl, proto, port, opk, rpk, pk, by, t0, t1, ok) in enumerate(cols):
            orig = ip_from_words(oh, ol)
            resp = ip_from_words(rh, rl)
            self._traffic(orig, resp, pk, by, t0, t1, opk)
            self._traffic(resp, orig, pk, by, t0, t1, rpk)
            transport = _TRANSPORTS.get(proto)
            if transport is None or (proto == 17 and orig_ports[k] == port):
                # UDP between two equal ports (BACnet 47808, NTP 123): who serves is not shown
                # by the flow's direction; the protocol's activities say it instead.
                continue
            if empty[k]:
                self._empty_connection(orig, resp, port, t0, t1, ok)
            if not ok:
                pr = self.probes.get(orig)
                if pr is None:
                    pr = self.probes[orig] = Probes()
                pr.flows += 1
                if len(pr.targets) < MAX_PEERS:
                    pr.targets.add(resp)
                if len(pr.ports) < MAX_PEERS:
                    pr.ports.add(port)
                continue
            pkey = (resp, transport, port)
            pt = self.ports.get(pkey)
            if pt is None:
                pt = self.ports[pkey] = PortTally(first_ts=t0)
            pt.flows += 1
            if len(pt.clients) < MAX_PEERS:
                pt.clients.add(orig)
            pt.last_ts = max(pt.last_ts, t1)
            ckey = (orig, resp, transport, port)
            conv = self.conversations.get(ckey)
            if conv is None:
                conv = self.conversations[ckey] = Conversation(
                    orig, resp, transport, port, first_ts=t0
                )
            conv.flows += 1
            conv.packets += pk
            conv.bytes += by
            conv.last_ts = max(conv.last_ts, t1)

    def _empty_connection(
        self, client: str, server: str, port: int, t0: float, t1: float, answered: bool
    ) -> None:
        key = (client, server, port)
        ec = self.empty.get(key)
        if ec is None:
            # A scanner's probes are empty connections too: one key each, capped per client.
            keys = self._empty_keys.get(client, 0)
            if keys >= MAX_PEERS:
                return
            self._empty_keys[client] = keys + 1
            ec = self.empty[key] = EmptyConnections(first_ts=t0, last_ts=t1)
        ec.flows += 1
        ec.answered += answered
        ec.first_ts = min(ec.first_ts, t0)
        ec.last_ts = max(ec.last_ts, t1)

    def _traffic(
        self, ip: str, peer: str, packets: int, nbytes: int, t0: float, t1: float, sent: int
    ) -> None:
        tr = self.traffic.get(ip)
        if tr is None:
            tr = self.traffic[ip] = IpTraffic(first_ts=t0)
        else:
            tr.first_ts = min(tr.first_ts, t0)
        tr.packets += packets
        tr.bytes += nbytes
        tr.sent += sent
        tr.last_ts = max(tr.last_ts, t1)
        if len(tr.peers) < MAX_PEERS:
            tr.peers.add(peer)


def _subject(mac: str | None, ip: str | None) -> Subject | None:
    """Facts about a device name it by MAC when they know it (the stabler identity), else IP."""
    if mac:
        return ("mac", mac)
    if ip:
        return ("ip", ip)
    return None
