"""Cheaper event handling in detection: the stage names the event classes it wants (the
pipeline skips the others), and the scan rule remembers parsed ARP addresses. Neither may
change an alert."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.alerts.model import Alert
from otsight.core.events import BaseEvent, EventBatch
from otsight.decode.flows import FlowColumns
from otsight.decode.view import BatchView
from otsight.detect.registry import create_detectors
from otsight.detect.rules import scan
from otsight.detect.rules.scan import Host, Pair, ScanDetector
from otsight.detect.stage import DetectionStage
from otsight.pipeline.assemble import build_stages, run_files
from otsight.protocols.arp.dissector import ArpMessage

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab-mixed" / "capture.pcap"


class _Forward:
    """The stage behind an observer that does not say what it wants: it gets every event."""

    name = "forward"

    def __init__(self, stage: DetectionStage) -> None:
        self.stage = stage

    def on_event(self, event: BaseEvent) -> None:
        self.stage.on_event(event)

    def on_events(self, batch: EventBatch) -> None:
        self.stage.on_events(batch)

    def on_batch(self, view: BatchView) -> None:
        self.stage.on_batch(view)

    def on_flows(self, flows: FlowColumns) -> None:
        self.stage.on_flows(flows)

    def finish(self) -> None:
        self.stage.finish()


def _alerts(stage: DetectionStage) -> list[str]:
    return [repr(alert) for alert in stage.raw or []]


def test_the_stage_skipping_unwanted_events_raises_what_it_raises_given_every_event() -> None:
    selective = DetectionStage(create_detectors(), keep_raw=True)
    everything = DetectionStage(create_detectors(), keep_raw=True)
    assert run_files([str(EXAMPLE)], build_stages([selective])).ok
    assert run_files([str(EXAMPLE)], build_stages([_Forward(everything)])).ok
    selective.finish()
    everything.finish()
    assert selective.raw
    assert _alerts(selective) == _alerts(everything)
    assert selective.raised == everything.raised
    assert selective.errors == everything.errors


class _Parsing(ScanDetector):
    """The scan rule parsing every ARP address again (what it did before remembering)."""

    def _v4(self, address: str) -> Host:
        return scan._v4(address)

    def _arp_pair(self, address: str) -> Pair:
        host = scan._v4(address)
        return (host[0], host[1], 0, scan.PROTO_ARP)


def _arp(k: int, op: str, sender: int, target: int, ts: float) -> ArpMessage:
    sender_ip, target_ip = f"10.0.{sender // 250}.{sender % 250 + 1}", f"10.0.0.{target + 1}"
    if op == "reply":
        sender_ip, target_ip = target_ip, sender_ip
    return ArpMessage(
        ts=ts, frame=k + 1, src_mac="02:00:00:00:00:01", dst_mac="ff:ff:ff:ff:ff:ff",
        operation=op, sender_mac="02:00:00:00:00:01", sender_ip=sender_ip,
        target_mac="00:00:00:00:00:00", target_ip=target_ip, gratuitous=False, probe=False,
        mac_mismatch=False,
    )


def _run(detector: ScanDetector, events: list[ArpMessage]) -> tuple[list[Alert], object]:
    alerts = [a for e in events for a in detector.on_event(e)] + list(detector.finish())
    state = {h: (sorted(s.pending), list(s.queue)) for h, s in detector._sources.items()}
    return alerts, state


messages = st.lists(
    st.tuples(st.sampled_from(["request", "request", "reply"]), st.integers(0, 2),
              st.integers(0, 40), st.floats(0.0, 3.0)),
    max_size=120,
)


@settings(max_examples=60, deadline=None)
@given(messages, st.sampled_from([1, 3, 65_536]))
def test_remembered_arp_addresses_give_the_alerts_and_state_of_parsing_each_time(
    steps: list[tuple[str, int, int, float]], remembered: int
) -> None:
    ts, events = 1000.0, []
    for k, (op, sender, target, gap) in enumerate(steps):
        ts += gap
        events.append(_arp(k, op, sender, target, ts))
    with mock.patch.object(scan, "MAX_REMEMBERED", remembered):
        got = _run(ScanDetector(), events)
    assert got == _run(_Parsing(), events)
    assert len(got[0]) == len(_run(ScanDetector(), events)[0])


def test_arp_sweep_events_raise_a_host_sweep_with_the_parsed_addresses() -> None:
    events = [_arp(k, "request", 0, k, 1000.0 + k * 0.01) for k in range(12)]
    alerts, _ = _run(ScanDetector(), events)
    assert [a.kind for a in alerts] == ["host-sweep"]
    assert alerts[0].src_ip == "10.0.0.1"
    assert "10.0.0.3" in " ".join(e.detail for e in alerts[0].evidence)
