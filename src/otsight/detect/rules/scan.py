"""Host sweeps and port scans: many failed probes from one source, fast or slow.

A probe is a TCP SYN, an ICMP echo request or an ARP who-has. It fails when the target rejects
it (TCP RST, ICMP unreachable) or does not answer within ``grace_s``; it succeeds on a SYN-ACK,
an echo reply or an ARP reply. Counting failures rather than probes keeps a SCADA server that
connects to fifty live RTUs at start-up quiet, while a scanner fails on nearly every probe.

Per source, distinct failed (target, port) pairs are counted over two sliding windows of packet
time (fast and slow). Crossing a window's threshold raises ``host-sweep`` when the probes aimed
at one or two ports/kinds across many hosts, ``port-scan`` otherwise (T0846); the source's
windows then start over, so a long scan raises again and the deduplicator counts the repeats.

The packet work is vectorised on batch columns (masks); Python then runs once per probe,
answer or rejection, in packet order, so a probe's fate (answered in time, retried, failed) is the
same wherever batches are cut. The common case, a probe its batch answers in time, is found
vectorised and costs next to nothing: all it leaves behind is an entry in its source's queue,
and not even that when the batch's own expiry would pass over it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from ...alerts.factory import new_alert
from ...alerts.model import Alert, AlertEvidence
from ...core.events import BaseEvent
from ...core.types import ip_from_words
from ...decode.table import (
    L3_IPV4,
    L3_IPV6,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    PROTO_UDP,
    TCP_ACK,
    TCP_RST,
    TCP_SYN,
)
from ...decode.view import BatchView
from ...protocols.arp.dissector import ArpMessage
from ..base import Detector, DetectorOptions

PROTO_ARP = 0x806  # pseudo protocol number of ARP probes in pair keys
V4MAPPED = 0xFFFF_0000_0000
MAX_REMEMBERED = 65_536  # parsed ARP addresses kept (forgotten all at once beyond)

Host = tuple[int, int]  # (hi, lo) address words
INTP = npt.NDArray[np.intp]
Pair = tuple[int, int, int, int]  # target hi, target lo, port, protocol


class ScanOptions(DetectorOptions):
    grace_s: float = Field(default=1.0, gt=0, description="wait for an answer before 'failed'")
    fast_window_s: float = Field(default=60.0, gt=0)
    fast_hosts: int = Field(default=10, ge=2, description="failed hosts for a fast sweep")
    fast_pairs: int = Field(default=10, ge=2, description="failed host:port pairs, fast scan")
    slow_window_s: float = Field(default=3600.0, gt=0)
    slow_hosts: int = Field(default=40, ge=2)
    slow_pairs: int = Field(default=100, ge=2)
    sweep_max_ports: int = Field(
        default=2, ge=1, description="a sweep probes at most this many ports/kinds per host"
    )
    max_sources: int = Field(default=20_000, ge=1, description="memory bound (~2 kB each)")
    max_pending: int = Field(default=20_000, ge=1, description="unanswered probes per source")


@dataclass(slots=True)
class _Probe:
    ts: float
    frame: int
    flow_id: int | None


@dataclass(slots=True)
class _Failure:
    source: Host
    pair: Pair
    probe: _Probe
    decided: float  # packet time at which the failure was known
    how: str  # "rejected (RST)", "unreachable", "no answer"


def _is_service(pair: Pair) -> bool:
    return pair[3] in (PROTO_TCP, PROTO_UDP)


def _bump(counter: dict[Any, int], key: Any, step: int) -> None:
    value = counter.get(key, 0) + step
    if value:
        counter[key] = value
    else:
        del counter[key]


class _Window:
    """Distinct failed pairs of one source within ``span`` seconds (first failure time), with
    the counters the two verdicts need kept up to date (no rescans per failure)."""

    __slots__ = ("hosts", "other_hosts", "pairs", "ports", "queue", "services", "span")

    def __init__(self, span: float) -> None:
        self.span = span
        self.queue: deque[tuple[float, Pair]] = deque()
        self.pairs: dict[Pair, _Failure] = {}
        self.hosts: dict[Host, int] = {}  # every failed pair's host
        self.other_hosts: dict[Host, int] = {}  # hosts of ARP/ICMP failures
        self.ports: dict[tuple[int, int], int] = {}  # TCP/UDP (port, protocol)
        self.services = 0  # TCP/UDP failed pairs

    def _count(self, pair: Pair, step: int) -> None:
        host = (pair[0], pair[1])
        _bump(self.hosts, host, step)
        if _is_service(pair):
            _bump(self.ports, (pair[2], pair[3]), step)
            self.services += step
        else:
            _bump(self.other_hosts, host, step)

    def add(self, failure: _Failure) -> None:
        now = failure.probe.ts
        while self.queue and now - self.queue[0][0] > self.span:
            _, old = self.queue.popleft()
            if self.pairs.pop(old, None) is not None:
                self._count(old, -1)
        if failure.pair in self.pairs:
            return
        self.pairs[failure.pair] = failure
        self.queue.append((now, failure.pair))
        self._count(failure.pair, 1)

    def clear(self) -> None:
        self.queue.clear()
        self.pairs.clear()
        self.hosts.clear()
        self.other_hosts.clear()
        self.ports.clear()
        self.services = 0


class _Source:
    __slots__ = ("fast", "last_failure", "levels", "pending", "queue", "slow")

    def __init__(self, opts: ScanOptions) -> None:
        self.levels = {"host-sweep": 0, "port-scan": 0}  # alerts this episode: each doubles
        self.last_failure = float("-inf")
        self.pending: dict[Pair, _Probe] = {}
        self.queue: deque[tuple[float, Pair]] = deque()  # pending in probe order
        self.fast = _Window(opts.fast_window_s)
        self.slow = _Window(opts.slow_window_s)


def _rows(*arrays: npt.NDArray[np.generic]) -> list[list[int]]:
    return [a.tolist() for a in arrays]


class ScanDetector(Detector[ScanOptions]):
    """Host sweeps and port scans from failed TCP, ICMP and ARP probes."""

    name: ClassVar[str] = "scan"
    description: ClassVar[str] = "host sweeps and port scans (fast and slow), by failed probes"
    Options = ScanOptions
    event_types = (ArpMessage,)
    wants_batches = True

    def __init__(self, options: ScanOptions | None = None) -> None:
        super().__init__(options)
        self._sources: dict[Host, _Source] = {}
        self._failures: list[_Failure] = []
        self._now = 0.0
        self.dropped = 0
        self._hosts: dict[str, Host] = {}  # ARP address text -> address words

    # ------------------------------------------------------------------ ARP probes (events)
    def on_event(self, event: BaseEvent) -> Iterable[Alert]:
        if not isinstance(event, ArpMessage) or event.probe or event.gratuitous:
            return ()
        operation = event.operation
        if operation == "request":
            source = self._v4(event.sender_ip)
            target = self._v4(event.target_ip)
            self._probe(source, (target[0], target[1], 0, PROTO_ARP), event.ts, event.frame, None)
        elif operation == "reply":
            requester = self._v4(event.target_ip)
            answered = self._v4(event.sender_ip)
            self._answer(requester, (answered[0], answered[1], 0, PROTO_ARP), event.ts, None)
        return ()

    def _v4(self, address: str) -> Host:
        """:func:`_v4`, remembered: a LAN's ARP names the same few hundred addresses over and
        over, and parsing the text costs more than the rest of a message's work."""
        host = self._hosts.get(address)
        if host is None:
            if len(self._hosts) >= MAX_REMEMBERED:
                self._hosts.clear()
            host = self._hosts[address] = _v4(address)
        return host

    # ------------------------------------------------------------------ TCP/ICMP (batches)
    def on_batch(self, view: BatchView) -> Iterable[Alert]:
        t, batch = view.table, view.batch
        if len(batch) == 0:
            return self._decide()
        ok = (t.err == 0) & ((t.l3 == L3_IPV4) | (t.l3 == L3_IPV6))
        proto, sport = t.proto, t.sport
        flags = t.tcp_flags
        tcp = ok & (proto == PROTO_TCP)
        syn_ack = flags & (TCP_SYN | TCP_ACK)
        icmp4, icmp6 = ok & (proto == PROTO_ICMP), ok & (proto == PROTO_ICMPV6)
        self._now = max(self._now, float(batch.ts_ns.max()) / 1e9)

        probes = (tcp & (syn_ack == TCP_SYN)) | (icmp4 & (sport == 8)) | (icmp6 & (sport == 128))
        answers = (tcp & (syn_ack == (TCP_SYN | TCP_ACK))) | (icmp4 & (sport == 0)) | (
            icmp6 & (sport == 129)
        )
        rejects = tcp & ((flags & TCP_RST) != 0)
        unreachable = (icmp4 & (sport == 3)) | (icmp6 & (sport == 1))
        if probes.any() or unreachable.any() or (
            self._sources and (answers.any() or rejects.any())
        ):
            self._in_order(view, probes, answers & ~rejects, rejects, unreachable)
        return self._decide()

    def finish(self) -> Iterable[Alert]:
        """End of input: a probe still unanswered gets no answer any more (decided, as live,
        at probe time + grace)."""
        return self._decide(everything=True)

    # ------------------------------------------------------------------ internals
    def _in_order(
        self,
        view: BatchView,
        probes: npt.NDArray[np.bool_],
        answers: npt.NDArray[np.bool_],
        rejects: npt.NDArray[np.bool_],
        unreachable: npt.NDArray[np.bool_],
    ) -> None:
        """Probes, answers, rejections and ICMP errors one by one in packet order, so that
        what a probe's fate is does not depend on where batches happen to be cut (probes
        answered in time within the batch cost less: :meth:`_answered_in_time`)."""
        t, batch = view.table, view.batch
        # Answers and rejections travel target -> source: keep those to a watched source (one
        # known already or probing in this batch).
        back = np.flatnonzero(answers | rejects)
        probing = np.flatnonzero(probes)
        if back.size:
            watched = np.fromiter((h[1] for h in self._sources), dtype=np.uint64,
                                  count=len(self._sources))
            watched = np.concatenate([watched, t.src_lo[probing]])
            back = back[np.isin(t.dst_lo[back], watched)]
        rows = np.sort(np.concatenate([probing, back, np.flatnonzero(unreachable)]))
        if not rows.size:
            return
        is_probe, rejected, icmp_error = probes[rows], rejects[rows], unreachable[rows]
        # the probes ICMP errors quote, read first: their sources take the probe-by-probe way
        quoted = {i: self._quoted(view, i) for i in rows[icmp_error].tolist()}
        tcp = t.proto[rows] == PROTO_TCP
        out_port = np.where(tcp, t.dport[rows], 0)  # a probe's target port
        in_port = np.where(tcp, t.sport[rows], 0)  # an answer's source port
        seconds = batch.ts_ns[rows] / 1e9
        fast = self._answered_in_time(
            view, rows, is_probe, rejected, icmp_error, out_port, in_port, seconds,
            [inner[0][1] for inner in quoted.values() if inner is not None],
        )
        if fast.any():
            # Their answers have nothing left to do, nor have the probes whose place in the
            # queue this batch's expiry passes over anyway (_expired_with_batch).
            keep = ~((fast & ~is_probe) | self._expired_with_batch(view, rows, fast, seconds))
            rows, is_probe, rejected, icmp_error, fast, out_port, in_port, seconds = (
                a[keep] for a in (rows, is_probe, rejected, icmp_error, fast, out_port, in_port,
                                  seconds)
            )
        cols = _rows(rows, is_probe, rejected, icmp_error, fast, t.src_hi[rows],
                     t.src_lo[rows], t.dst_hi[rows], t.dst_lo[rows], out_port, in_port,
                     t.proto[rows], seconds, rows + batch.first_frame, view.flow_ids[rows])
        sources = self._sources
        for (i, probe, reject, icmp, answered, shi, slo, dhi, dlo, dport, sport, proto, when,
             frame, flow) in zip(*cols, strict=True):
            if answered:
                # A probe answered in time: all that is left of it is its place in the
                # source's queue.
                state = sources.get((shi, slo))
                if state is None:
                    state = sources[(shi, slo)] = _Source(self.options)
                state.queue.append((when, (dhi, dlo, dport, proto)))
            elif probe:
                self._probe((shi, slo), (dhi, dlo, dport, proto), when, frame, flow or None)
            elif icmp:
                self._unreachable(quoted[i], when, frame)
            else:
                self._answer((dhi, dlo), (shi, slo, sport, proto), when,
                             "rejected (RST)" if reject else None)

    def _answered_in_time(
        self,
        view: BatchView,
        rows: INTP,
        is_probe: npt.NDArray[np.bool_],
        rejected: npt.NDArray[np.bool_],
        icmp_error: npt.NDArray[np.bool_],
        out_port: npt.NDArray[np.integer[Any]],
        in_port: npt.NDArray[np.integer[Any]],
        seconds: npt.NDArray[np.float64],
        quoted_sources: list[int],
    ) -> npt.NDArray[np.bool_]:
        """Which of ``rows`` are probes the batch answers in time, and those answers: pairs
        whose only lasting effect is the probe's entry in its source's queue.

        Per (source, target, port, protocol), its rows in packet order must open with such
        pairs, one after the other: a probe, then its answer (not a rejection) within
        ``grace_s``. The pairs before the first row that breaks the pattern count; the rest,
        and every row of a source that had probes pending when the batch began or that an
        ICMP error of the batch names (``quoted_sources``: address low words), take the
        probe-by-probe way. None count when a memory bound could be reached within the batch
        (which probes it drops depends on every probe pending meanwhile)."""
        opts, sources = self.options, self._sources
        fast = np.zeros(rows.shape[0], np.bool_)
        probes = int(is_probe.sum())
        most = max((len(state.pending) for state in sources.values()), default=0)
        if (not probes or most + probes > opts.max_pending
                or len(sources) + probes > opts.max_sources):
            return fast
        t = view.table
        src_hi = np.where(is_probe, t.src_hi[rows], t.dst_hi[rows])
        src_lo = np.where(is_probe, t.src_lo[rows], t.dst_lo[rows])
        dst_hi = np.where(is_probe, t.dst_hi[rows], t.src_hi[rows])
        dst_lo = np.where(is_probe, t.dst_lo[rows], t.src_lo[rows])
        port = np.where(is_probe, out_port, in_port)
        proto = t.proto[rows]
        slow = icmp_error.copy()
        busy = [host[1] for host, state in sources.items() if state.pending] + quoted_sources
        if busy:
            slow |= np.isin(src_lo, np.array(busy, dtype=np.uint64))
        cand = np.flatnonzero(~slow)
        n = int(cand.shape[0])
        if n < 2:
            return fast
        # the candidates by key, then in packet order
        order = cand[np.lexsort((cand, proto[cand], port[cand], dst_lo[cand], dst_hi[cand],
                                 src_lo[cand], src_hi[cand]))]
        same = np.ones(n - 1, np.bool_)  # the row's key is the one of the row before
        for col in (src_hi, src_lo, dst_hi, dst_lo, port, proto):
            c = col[order]
            same &= c[1:] == c[:-1]
        new_key = np.r_[True, ~same]
        starts = np.flatnonzero(new_key)
        key = np.cumsum(new_key) - 1
        place = np.arange(n) - starts[key]  # the row's place among its key's rows
        after = order[np.minimum(np.arange(1, n + 1), n - 1)]  # the next row (of the key?)
        paired = (
            is_probe[order] & np.r_[same, False] & ~is_probe[after] & ~rejected[after]
            & (seconds[after] - seconds[order] <= opts.grace_s)
        )
        bad = np.flatnonzero((place % 2 == 0) & ~paired)
        broken = np.full(starts.shape[0], n, np.int64)  # per key: the place of its 1st bad pair
        np.minimum.at(broken, key[bad], place[bad])
        fast[order[place < broken[key]]] = True
        return fast

    def _expired_with_batch(
        self, view: BatchView, rows: INTP, fast: npt.NDArray[np.bool_],
        seconds: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.bool_]:
        """Which probes answered in time (``fast``) need no entry in their source's queue.

        Popping an answered probe's entry can only fail a probe of the same target sent at
        the very same time and still pending. When the :meth:`_expire` that ends this batch
        pops the entry (it is older than ``grace_s`` by then, and so is each entry its
        source's queue held before the batch) and the batch is in time order, that probe's
        own entry, right behind, is popped then too: leaving the answered one out changes
        nothing. Nor does not making the source for it: a source with nothing pending and no
        failure is forgotten as idle by that same expiry (a probe that does not take this
        way still makes its source, as before)."""
        ts_ns = view.batch.ts_ns[rows]
        if not (ts_ns[1:] >= ts_ns[:-1]).all():
            return np.zeros(rows.shape[0], np.bool_)
        now, grace = self._now, self.options.grace_s
        young = [  # (sources with probes pending take the probe-by-probe way anyway)
            host[1] for host, state in self._sources.items()
            if state.queue and not state.pending
            and now - max(when for when, _ in state.queue) <= grace
        ]
        settled = fast & (now - seconds > grace)
        if young:
            settled &= ~np.isin(view.table.src_lo[rows], np.array(young, dtype=np.uint64))
        return settled

    def _quoted(self, view: BatchView, i: int) -> tuple[Host, Pair] | None:
        """ICMP unreachable quotes the probe's headers: the target and port it was sent to."""
        t, batch = view.table, view.batch
        start = int(batch.offset[i]) + int(t.pl_off[i])
        quoted = bytes(batch.buf[start : start + max(0, int(t.pl_len[i]))])
        return _quoted_probe(quoted, int(t.l3[i]) == L3_IPV6)

    def _unreachable(self, inner: tuple[Host, Pair] | None, ts: float, frame: int) -> None:
        """The probe an ICMP error quoted (:meth:`_quoted`) failed."""
        if inner is None:
            return
        (shi, slo), pair = inner
        source = self._sources.get((shi, slo))
        probe = source.pending.pop(pair, None) if source is not None else None
        if probe is None:
            if pair[3] != PROTO_UDP:
                return  # a TCP/ICMP probe we did not see: nothing to count
            probe = _Probe(ts, frame, None)  # UDP probes: the error stands for the probe
        self._failures.append(_Failure((shi, slo), pair, probe, ts, "unreachable"))

    def _probe(self, source: Host, pair: Pair, ts: float, frame: int, flow: int | None) -> None:
        state = self._sources.get(source)
        if state is None:
            if len(self._sources) >= self.options.max_sources:
                self.dropped += 1
                return
            state = self._sources[source] = _Source(self.options)
        waiting = state.pending.get(pair)
        if waiting is not None:
            if ts - waiting.ts <= self.options.grace_s:
                return  # a retry of a probe still waiting for its answer
            del state.pending[pair]  # that one failed before this retry was sent
            self._failures.append(
                _Failure(source, pair, waiting, waiting.ts + self.options.grace_s, "no answer")
            )
        if len(state.pending) >= self.options.max_pending:
            self.dropped += 1
            return
        state.pending[pair] = _Probe(ts, frame, flow)
        state.queue.append((ts, pair))
        self._now = max(self._now, ts)

    def _answer(self, source: Host, pair: Pair, ts: float, rejected: str | None) -> None:
        state = self._sources.get(source)
        if state is None:
            return
        probe = state.pending.pop(pair, None)
        if probe is None:
            return
        grace = self.options.grace_s
        if ts - probe.ts > grace:  # too late: it had failed by then, whatever the answer
            self._failures.append(_Failure(source, pair, probe, probe.ts + grace, "no answer"))
        elif rejected:
            self._failures.append(_Failure(source, pair, probe, ts, rejected))

    def _expire(self, everything: bool = False) -> None:
        """Probes unanswered for ``grace_s`` failed (decided at probe time + grace); sources
        quiet for a slow window are forgotten (their episode is over: thresholds back to
        normal)."""
        grace = self.options.grace_s
        idle: list[Host] = []
        for host, state in self._sources.items():
            queue = state.queue
            expired = False
            while queue and (everything or self._now - queue[0][0] > grace):
                when, pair = queue.popleft()
                probe = state.pending.get(pair)
                if probe is not None and probe.ts == when:
                    del state.pending[pair]
                    self._failures.append(_Failure(host, pair, probe, when + grace, "no answer"))
                    expired = True
            quiet = self._now - state.last_failure > self.options.slow_window_s
            if not state.pending and not expired and quiet and not everything:
                idle.append(host)
        for host in idle:
            del self._sources[host]

    def _decide(self, everything: bool = False) -> list[Alert]:
        self._expire(everything)
        if not self._failures:
            return []
        failures, self._failures = self._failures, []
        failures.sort(key=lambda f: (f.decided, f.probe.frame))
        alerts: list[Alert] = []
        opts = self.options
        for failure in failures:
            state = self._sources.get(failure.source)
            if state is None:
                state = self._sources[failure.source] = _Source(opts)
            elif failure.decided - state.last_failure > opts.slow_window_s:
                # Quiet for a slow window: that episode is over, thresholds back to normal
                # (judged here, in failure order, not when a batch happens to end).
                state.levels = {"host-sweep": 0, "port-scan": 0}
            state.last_failure = max(state.last_failure, failure.decided)
            sweeps, scans = 2 ** state.levels["host-sweep"], 2 ** state.levels["port-scan"]
            for window, hosts, pairs, speed in (
                (state.fast, opts.fast_hosts * sweeps, opts.fast_pairs * scans, "fast"),
                (state.slow, opts.slow_hosts * sweeps, opts.slow_pairs * scans, "slow"),
            ):
                window.add(failure)
                kind = self._crossed(window, hosts, pairs)
                if kind is not None:
                    alerts.append(self._alert(kind, speed, failure, window))
                    state.levels[kind] += 1
                    state.fast.clear()
                    state.slow.clear()
                    break
        return alerts

    def _crossed(self, window: _Window, hosts: int, pairs: int) -> str | None:
        """``host-sweep``: many hosts probed on few ports (or by ARP/ICMP); ``port-scan``:
        many failed TCP/UDP host:port pairs over more ports than a sweep uses."""
        few_ports = len(window.ports) <= self.options.sweep_max_ports
        swept = window.hosts if few_ports else window.other_hosts
        if len(swept) >= hosts:
            return "host-sweep"
        if not few_ports and window.services >= pairs:
            return "port-scan"
        return None

    def _alert(self, kind: str, speed: str, last: _Failure, window: _Window) -> Alert:
        few_ports = len(window.ports) <= self.options.sweep_max_ports
        if kind == "port-scan":
            relevant = [f for f in window.pairs.values() if _is_service(f.pair)]
        else:
            relevant = [
                f for f in window.pairs.values() if few_ports or not _is_service(f.pair)
            ]
        failures = sorted(relevant, key=lambda f: (f.probe.ts, f.probe.frame))
        first = failures[0]
        src = ip_from_words(*last.source)
        span_s = max(last.probe.ts - first.probe.ts, 0.0)
        span = f"{span_s * 1000:.0f} ms" if span_s < 1 else f"{span_s:.1f} s"
        hosts = len({(f.pair[0], f.pair[1]) for f in failures})
        pairs = len(failures)
        ports = sorted({_port_name(f.pair) for f in failures})
        shown = ", ".join(ports[:6]) + ("..." if len(ports) > 6 else "")
        what = "hosts" if kind == "host-sweep" else "host:port pairs"
        title = (
            f"{'Host sweep' if kind == 'host-sweep' else 'Port scan'} from {src}: "
            f"{hosts if kind == 'host-sweep' else pairs} {what} probed in {span} ({speed})"
        )
        explanation = (
            f"{src} sent probes ({shown}) that failed on {pairs} host:port pairs of {hosts} "
            f"hosts within {span} (rejected or unanswered): it is mapping which devices "
            "and services exist, the first step before attacking them (remote system "
            "discovery)."
        )
        shown_failures = [*failures[:5], last] if last not in failures[:5] else failures[:5]
        evidence = tuple(
            AlertEvidence(
                ts=f.probe.ts, frame=f.probe.frame, flow_id=f.probe.flow_id,
                protocol=_proto_name(f.pair[3]), operation="probe",
                detail=f"{ip_from_words(f.pair[0], f.pair[1])} {_port_name(f.pair)}: {f.how}",
            )
            for f in shown_failures
        )
        return new_alert(
            detector=self.name, kind=kind, severity="medium", title=title,
            explanation=explanation, technique_id="T0846", ts=first.probe.ts,
            frame=first.probe.frame, src_ip=src, protocol=_proto_name(first.pair[3]),
            evidence=evidence, detected_ts=last.decided,
        )


def _v4(address: str) -> Host:
    a, b, c, d = (int(x) for x in address.split("."))
    return (0, V4MAPPED | (a << 24 | b << 16 | c << 8 | d))


def _proto_name(proto: int) -> str:
    names = {PROTO_TCP: "tcp", PROTO_UDP: "udp", PROTO_ICMP: "icmp", PROTO_ICMPV6: "icmpv6"}
    return names.get(proto, "arp" if proto == PROTO_ARP else str(proto))


def _port_name(pair: Pair) -> str:
    proto = _proto_name(pair[3])
    return f"{pair[2]}/{proto}" if pair[3] in (PROTO_TCP, PROTO_UDP) else proto


def _quoted_probe(data: bytes, v6: bool) -> tuple[Host, Pair] | None:
    """(probe source, (target, port, protocol)) from the headers an ICMP error quotes.

    ``data`` starts after the ICMP type/code/checksum: 4 more bytes, then the probe's IP header.
    """
    body = data[4:]
    if not v6:
        if len(body) < 20 or body[0] >> 4 != 4:
            return None
        ihl = (body[0] & 0x0F) * 4
        proto = body[9]
        src = (0, V4MAPPED | int.from_bytes(body[12:16], "big"))
        dst_hi, dst_lo = 0, V4MAPPED | int.from_bytes(body[16:20], "big")
        l4 = body[ihl:]
    else:
        if len(body) < 40 or body[0] >> 4 != 6:
            return None
        proto = body[6]
        src = (int.from_bytes(body[8:16], "big"), int.from_bytes(body[16:24], "big"))
        dst_hi, dst_lo = int.from_bytes(body[24:32], "big"), int.from_bytes(body[32:40], "big")
        l4 = body[40:]
    if proto in (PROTO_TCP, PROTO_UDP):
        if len(l4) < 4:
            return None
        port = int.from_bytes(l4[2:4], "big")
    elif proto in (PROTO_ICMP, PROTO_ICMPV6):
        port = 0
    else:
        return None
    return src, (dst_hi, dst_lo, port, proto)
