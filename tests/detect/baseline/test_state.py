"""The baseline as a file: same decisions after save and load, resumable learning, feedback,
merging, determinism, and clear errors for files that are not baselines."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from otsight.capture.sources import read_stream
from otsight.detect.baseline.detector import BaselineDetector
from otsight.detect.baseline.feedback import FeedbackError, mark_expected
from otsight.detect.baseline.model import BaselineState, merge
from otsight.detect.baseline.persist import (
    BaselineFormatError,
    dump_baseline,
    load_baseline,
    save_baseline,
    state_from_dict,
    state_to_dict,
)
from otsight.detect.rules.ot_commands import UnknownMasterDetector
from otsight.detect.stage import DetectionStage
from otsight.pipeline.assemble import build_stages, run_batches

from .plant import ATK, EWS, HMI, PLC, PLC2, Plant, baseline, run, summary
from .test_detect import attacked


@pytest.fixture
def learned(tmp_path: Path) -> BaselineState:
    """Normal operation: 100 s learned, then 20 s of the same judged by it."""
    detector = baseline(learn_s=100)
    run(Plant().normal(0, 120).write(tmp_path / "normal.pcap"), detector)
    assert detector.complete
    assert run(tmp_path / "normal.pcap", baseline(detector.state)).alerts == []
    return detector.state


def later(tmp_path: Path) -> Path:
    """Another day of the same plant, with changes: an attacker, a new EWS command, a stop."""
    cap = Plant().normal(0, 60, plc2_until=40)
    cap.arp_request(10.0, ATK, PLC)
    sport = cap.connect(10.1, ATK, PLC)
    cap.write_register(10.2, ATK, PLC, sport, 2, 100)
    sport = cap.connect(20.0, EWS, PLC2)
    cap.read(20.1, EWS, PLC2, sport, 0, 10)
    cap.write_register(30.3, HMI, PLC, 40001, 0, 5000)
    return cap.write(tmp_path / "later.pcap")


def decisions(stage: DetectionStage) -> list[tuple[str, str, str, str]]:
    return [(a.alert_id, a.kind, a.title, a.explanation) for a in stage.alerts]


def test_a_saved_and_loaded_baseline_decides_exactly_the_same(
    tmp_path: Path, learned: BaselineState
) -> None:
    path = tmp_path / "plant.baseline.json"
    save_baseline(learned, path)
    loaded = load_baseline(path)
    assert dump_baseline(loaded) == path.read_bytes()  # nothing lost or reordered
    capture = later(tmp_path)
    in_memory = run(capture, baseline(state_from_dict(state_to_dict(learned))))
    from_file = run(capture, baseline(loaded))
    assert decisions(from_file) == decisions(in_memory)
    assert summary(from_file.alerts) == [
        ("new-device", ATK, None),
        ("new-conversation", ATK, PLC),
        ("new-operation", ATK, PLC),
        ("new-conversation", EWS, PLC2),  # the SYN: who connected
        ("new-operation", EWS, PLC2),  # the request: what it did
        ("write-out-of-range", HMI, PLC),
        ("polling-stopped", HMI, PLC2),
    ]


def test_learning_resumes_where_the_saved_state_stopped(tmp_path: Path) -> None:
    full = attacked(tmp_path / "attacked.pcap")
    whole = run(full, baseline(learn_s=60))
    first = Plant().normal(0, 30).write(tmp_path / "first-half.pcap")
    part = baseline(learn_s=60)
    run(first, part)
    assert not part.complete
    assert part.state.learning.seconds == pytest.approx(29.2, abs=0.1)
    path = tmp_path / "partial.json"
    save_baseline(part.state, path)
    resumed = baseline(load_baseline(path))  # the goal (60 s) travels with the state
    assert not resumed.complete
    stage = run(full, resumed)  # learns ~31 s more of the second capture, then detects
    assert resumed.complete
    assert resumed.state.learning.seconds == pytest.approx(60.0)
    assert summary(stage.alerts) == summary(whole.alerts)


def test_accepting_an_alert_silences_it_on_replay(tmp_path: Path, learned: BaselineState) -> None:
    capture = later(tmp_path)
    before = run(capture, baseline(state_from_dict(state_to_dict(learned))))
    connect, read = (a for a in before.alerts if a.src_ip == EWS)
    assert mark_expected(learned, connect) == [f"conversation {EWS} -> {PLC2} tcp/502"]
    assert mark_expected(learned, read) == [
        f"{EWS} -> {PLC2} tcp/502 modbus read-holding-registers, reads holding-registers 0-9"]
    after = run(capture, baseline(state_from_dict(state_to_dict(learned))))
    assert summary(after.alerts) == [s for s in summary(before.alerts) if s[1] != EWS]
    for alert in after.alerts:  # every kind can be accepted
        mark_expected(learned, alert)
    assert run(capture, baseline(learned)).alerts == []


def test_an_accepted_write_widens_the_learned_range(
    tmp_path: Path, learned: BaselineState
) -> None:
    capture = later(tmp_path)
    stage = run(capture, baseline(state_from_dict(state_to_dict(learned))))
    write = next(a for a in stage.alerts if a.kind == "write-out-of-range")
    mark_expected(learned, write)
    assert learned.points[(PLC, "modbus", 1, "holding-registers")].values[0][:2] == (780, 5000)


def test_only_baseline_alerts_can_be_accepted(tmp_path: Path, learned: BaselineState) -> None:
    stage = run(later(tmp_path), UnknownMasterDetector(), baseline(learned))
    other = next(a for a in stage.alerts if a.detector == "unknown-master")
    with pytest.raises(FeedbackError, match="comes from detector 'unknown-master'"):
        mark_expected(learned, other)
    mine = next(a for a in stage.alerts if a.detector == "baseline")
    forged = replace(mine, evidence=(replace(mine.evidence[0], detail="garbage"),))
    with pytest.raises(FeedbackError, match="not a baseline record"):
        mark_expected(learned, forged)


def test_runs_are_deterministic_and_independent_of_batch_boundaries(tmp_path: Path) -> None:
    capture = attacked(tmp_path / "attacked.pcap")
    results = []
    for frames in (1, 7, 500, 65536):
        detector = baseline(learn_s=60)
        stage = DetectionStage([detector], keep_raw=True)
        with capture.open("rb") as fh:
            run_batches(str(capture), read_stream(fh, str(capture), frames),
                        build_stages([stage]))
        assert stage.raw is not None
        results.append((decisions(stage), [a.alert_id for a in stage.raw],
                        dump_baseline(detector.state)))
    assert all(r == results[0] for r in results[1:])
    assert len(results[0][0]) == 6


def test_merged_baselines_allow_what_either_allows(tmp_path: Path) -> None:
    a, b = baseline(learn_s=60), baseline(learn_s=60)
    run(Plant().normal(0, 60).write(tmp_path / "a.pcap"), a)
    cap = Plant().normal(0, 60)
    for t in range(0, 60, 5):
        cap.read(t + 0.7, EWS, PLC2, 41999, 0, 4)
    run(cap.write(tmp_path / "b.pcap"), b)
    both = merge([a.state, b.state])
    assert both.knows_peer(PLC2, EWS, "modbus")
    assert both.knows_peer(PLC, HMI, "modbus")
    assert both.learning.seconds == pytest.approx(a.state.learning.seconds * 2, abs=0.5)
    hmi_reads = both.edges[(HMI, PLC, "tcp", 502)].protocols["modbus"]["read-holding-registers"]
    assert hmi_reads == 2 * a.state.edges[(HMI, PLC, "tcp", 502)].protocols["modbus"][
        "read-holding-registers"]
    assert state_from_dict(state_to_dict(both)).knows_peer(PLC2, EWS, "modbus")


# ----------------------------------------------------------------------------- bad files
def _doc(learned: BaselineState) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(dump_baseline(learned))
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="something-else"), "not an otsight baseline"),
        (lambda d: d.update(version=99), "version 99 is not supported"),
        (lambda d: d.pop("learning"), "learning: Field required"),
        (lambda d: d["edges"][0].update(port=70000), "edges.0.port"),
        (lambda d: d["edges"][0].update(port="x"), "edges.0.port"),
        (lambda d: d["devices"][0].update(mac="not-a-mac"), "devices.0.mac"),
        (lambda d: d["points"][0].update(read=[9, 1]), "runs backwards"),
        (lambda d: d["series"][0].update(intervals=[1.0] * 200), "series.0.intervals"),
        (lambda d: d["series"][0].update(extra=1), "series.0.extra"),
    ],
)
def test_a_corrupt_or_foreign_document_is_refused_with_its_reason(
    tmp_path: Path, learned: BaselineState, change: Any, message: str
) -> None:
    doc = _doc(learned)
    change(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(BaselineFormatError, match=message) as info:
        load_baseline(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "invalid JSON"),
        (b"\x89PNG\r\n\x1a\n", "invalid JSON"),
        (b"[1, 2]", "a JSON object is expected"),
        (b"[" * 100_000, "nested too deeply|invalid JSON"),
        (b'{"format": "otsight-baseline", "version": 1, "learning": {"seconds": NaN}}',
         "learning.seconds"),
    ],
)
def test_a_file_that_is_no_baseline_is_refused(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    with pytest.raises(BaselineFormatError, match=message):
        load_baseline(path)


def test_a_truncated_baseline_is_refused(tmp_path: Path, learned: BaselineState) -> None:
    path = tmp_path / "cut.json"
    data = dump_baseline(learned)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(BaselineFormatError, match="invalid JSON"):
        load_baseline(path)
    with pytest.raises(BaselineFormatError, match="cannot read baseline"):
        load_baseline(tmp_path / "missing.json")


def test_saving_replaces_the_file_atomically(tmp_path: Path, learned: BaselineState) -> None:
    (tmp_path / "dir").mkdir()
    path = tmp_path / "dir" / "b.json"
    path.write_text("old")
    path.chmod(0o640)
    save_baseline(learned, path)
    assert load_baseline(path).knows_peer(PLC, HMI, "modbus")
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["b.json"]  # no temporary file left


def test_the_detector_uses_the_state_it_is_given(learned: BaselineState) -> None:
    detector = BaselineDetector(state=learned)
    assert detector.state is learned
    assert detector.complete
    assert detector.detecting
