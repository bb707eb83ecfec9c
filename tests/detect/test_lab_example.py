"""The bundled lab captures scored against their truth (examples/lab-mixed: recon, MITM,
manipulation on a whole plant; lab-manipulation, lab-mitm, lab-dos: one attack on a small
plant each), and detection is deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

from otsight.detect.evaluate import load_truth, score
from otsight.detect.registry import create_detectors

from .builders import detect

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lab-mixed"


def test_every_attack_step_of_the_example_is_detected() -> None:
    truth = load_truth(EXAMPLE / "truth.json")
    stage = detect([EXAMPLE / "capture.pcap"], create_detectors())
    result = score(truth, stage.alerts, stage.raw)
    print(
        f"\nlab-mixed: {len(truth.steps)} steps, recall {result.recall}, precision "
        f"{result.precision} ({result.true_alerts}/{result.alerts}), median TTD "
        f"{result.median_ttd_s} s, false alerts {len(result.false_alerts)} in "
        f"{result.normal_hours * 3600:.0f} s normal ({result.false_per_hour}/h), "
        f"info findings {result.info_findings}"
    )
    for r in result.steps:
        print(f"  {r.step.step_id:8} {'yes' if r.detected else 'MISSED':6} "
              f"ttd {r.ttd_s if r.ttd_s is None else round(r.ttd_s, 2)} {', '.join(r.kinds)}")
    assert result.recall == 1.0
    assert result.false_alerts == ()
    assert result.median_ttd_s is not None
    assert result.median_ttd_s < 2.0
    by_step = {r.step.step_id: set(r.kinds) for r in result.steps}
    assert "host-sweep" in by_step["recon-1"]
    assert "port-scan" in by_step["recon-2"]
    assert "unknown-client-discovery" in by_step["recon-3"]
    assert "arp-spoofing" in by_step["mitm-1"]
    assert "unknown-master-write" in by_step["manip-1"] & by_step["manip-2"] & by_step["manip-3"]
    assert "modbus-listen-only" in by_step["manip-4"]


def test_same_capture_twice_gives_identical_alerts() -> None:
    first = detect([EXAMPLE / "capture.pcap"], create_detectors())
    second = detect([EXAMPLE / "capture.pcap"], create_detectors())
    assert first.alerts == second.alerts
    assert first.raw == second.raw
    assert first.incidents() == second.incidents()
    assert len({a.alert_id for a in first.alerts}) == len(first.alerts)


@pytest.mark.parametrize(
    ("scenario", "kinds"),
    [
        ("manipulation", {"unknown-master-write", "modbus-listen-only"}),
        ("mitm", {"arp-spoofing"}),
        ("dos", {"connection-flood"}),
    ],
)
def test_each_small_scenario_is_detected_without_false_alerts(
    scenario: str, kinds: set[str]
) -> None:
    folder = EXAMPLE.parent / f"lab-{scenario}"
    truth = load_truth(folder / "truth.json")
    stage = detect([folder / "capture.pcap"], create_detectors())
    result = score(truth, stage.alerts, stage.raw)
    print(f"\nlab-{scenario}: recall {result.recall}, precision {result.precision}, median TTD "
          f"{result.median_ttd_s} s, false {len(result.false_alerts)}")
    assert result.recall == 1.0
    assert result.precision == 1.0
    assert result.false_alerts == ()
    assert result.median_ttd_s is not None
    assert result.median_ttd_s < 2.0
    assert kinds <= {kind for r in result.steps for kind in r.kinds}
