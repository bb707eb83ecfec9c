"""Two processes give exactly the results of one: the same events in the same order, the same
alerts, the same summary; a failing worker stops the run with a clear error instead of a hang
or silently missing flows."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from otsight.capture.pcap import BATCH_FRAMES
from otsight.export.jsonl import JsonlSink
from otsight.pipeline import runner, shards
from otsight.pipeline.assemble import build_stages, run_files
from otsight.protocols.modbus.batch import ModbusBatch
from otsight.testing.synth import generate

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "examples" / "lab-mixed" / "capture.pcap"


@pytest.mark.parametrize("share", [0.5, shards.MAIN_SHARE_OBSERVED])
def test_owner_gives_the_main_process_its_share_of_consecutive_flows(share: float) -> None:
    owners = [shards.owner(flow_id, share) for flow_id in range(1, 100_001)]
    assert abs(owners.count(shards.MAIN) / len(owners) - share) < 0.01
    # consecutive flows (a poll burst) alternate often enough to split any run of them
    assert max(len(run) for run in "".join(map(str, owners)).replace("1", " ").split()) < 40


def _cli(capture: Path, out: Path, processes: int) -> dict[str, Any]:
    events, alerts = out / f"events-{processes}.jsonl", out / f"alerts-{processes}.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "otsight.cli", "analyze", str(capture), "--json",
         "--events", str(events), "--alerts-out", str(alerts), "--processes", str(processes)],
        capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"},
    )
    summary = json.loads(done.stdout)
    summary.pop("elapsed_s")
    return {"summary": summary, "events": events.read_bytes(), "alerts": alerts.read_bytes()}


@pytest.mark.parametrize("kind", ["lab", "plant"])
def test_two_processes_write_the_same_events_alerts_and_summary(
    kind: str, tmp_path: Path
) -> None:
    if kind == "lab":
        capture = LAB  # real protocol stacks: Modbus, S7, ENIP, MQTT, DHCP, ... and attacks
    else:
        capture = tmp_path / "plant.pcap"  # Modbus polling between ~50 hosts and IT traffic
        generate(capture, 60_000, seed=6)
    one, two = _cli(capture, tmp_path, 1), _cli(capture, tmp_path, 2)
    assert one["events"].count(b"\n") > 1000
    assert one["summary"]["dissected"]
    assert two == one


def test_batches_of_both_processes_at_one_position_are_joined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both processes poll Modbus flows in the same packet range: their compiled batches are
    merged into one in packet order, as one process would have made it."""
    joined: list[int] = []
    original = ModbusBatch.merged.__func__  # type: ignore[attr-defined]

    def counting(cls: type[ModbusBatch], batches: list[ModbusBatch]) -> ModbusBatch:
        merged: ModbusBatch = original(cls, batches)
        joined.append(len(merged))
        frames = merged.columns["frame"]
        assert (frames[1:] >= frames[:-1]).all()
        assert len(merged) == sum(len(b) for b in batches)
        return merged

    monkeypatch.setattr(ModbusBatch, "merged", classmethod(counting))
    capture = tmp_path / "plant.pcap"
    generate(capture, 30_000, seed=2)
    written = []
    for processes in (1, 2):
        path = tmp_path / f"{processes}.jsonl"
        sink = JsonlSink(path)
        # small batches: flows are claimed by the compiled path between ranges, and a batch
        # of 30,000 packets would be one range
        run_files([str(capture)], build_stages([sink]), batch_frames=4096, processes=processes)
        sink.close()
        written.append(path.read_bytes())
    assert joined
    assert sum(joined) > 1000
    assert written[0] == written[1]


def test_a_worker_that_dies_stops_the_run_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def die(*args: Any) -> None:
        os._exit(3)  # as if killed: no message, the pipe just closes

    monkeypatch.setattr(shards, "_work", die)
    sink = JsonlSink(Path(os.devnull))
    with pytest.raises(shards.ShardError, match="ended without its results"):
        shards.analyze_sharded([str(LAB)], build_stages([sink]), batch_frames=BATCH_FRAMES)


def test_a_worker_that_fails_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    main = os.getpid()
    real = runner.analyze

    def failing_in_worker(*args: Any, **kwargs: Any) -> Any:
        if os.getpid() != main:
            raise MemoryError("no room")
        return real(*args, **kwargs)

    monkeypatch.setattr(shards, "analyze", failing_in_worker)
    sink = JsonlSink(Path(os.devnull))
    with pytest.raises(shards.ShardError, match="MemoryError: no room"):
        shards.analyze_sharded([str(LAB)], build_stages([sink]))


def test_every_event_of_a_capture_crosses_processes_unchanged() -> None:
    """The worker pickles its events (msgspec Structs): every kind the lab capture
    makes comes back equal, of the same class, with the same ECS document."""
    events: list[Any] = []

    class Keep:
        name = "keep"

        def on_event(self, event: Any) -> None:
            events.append(event)

        def on_events(self, batch: Any) -> None:
            events.extend(batch.events())

        def on_batch(self, view: Any) -> None:
            pass

        def on_flows(self, flows: Any) -> None:
            pass

        def finish(self) -> None:
            pass

    run_files([str(LAB)], build_stages([Keep()]))
    assert len({type(e) for e in events}) >= 15
    back = pickle.loads(pickle.dumps(events, protocol=pickle.HIGHEST_PROTOCOL))
    assert [type(e) for e in back] == [type(e) for e in events]
    assert back == events
    assert [e.ecs() for e in back] == [e.ecs() for e in events]
