"""The sensor in process: options, counters, the store sink's immediate alerts, and the wall-clock
checkpoint that stores a quiet link's last packets without waiting for another one."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from otsight.capture.live import LiveCapture
from otsight.sensor.counters import SensorCounters
from otsight.sensor.options import SensorOptions
from otsight.sensor.service import Sensor
from otsight.store.batch import BatchWriter
from otsight.store.db import make_engine, session_factory
from otsight.store.migrate import ensure_schema
from otsight.store.sink import StoreSink
from otsight.testing.netns import in_netns
from store.factories import alert

from .plant import HMI, PLC, plant, rows, status_state, wait_until


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("checkpoint_s", 0.0),
        ("stats_every_s", -1.0),
        ("tick_s", float("inf")),
        ("max_flows", 0),
        ("queue_bytes", 1000),
    ],
)
def test_options_are_checked(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        SensorOptions("eth0", **{field: value})  # type: ignore[arg-type]


def test_counters_read_as_one_line_and_as_json() -> None:
    counters = SensorCounters(
        interface="eth1",
        uptime_s=61.26,
        captured=1200,
        kernel_received=1210,
        kernel_dropped=10,
        processed=1200,
        queue_bytes=0,
        queue_peak_bytes=3 << 20,
        queue_waits=2,
        flows_live=4,
        flows_total=9,
        flows_evicted=1,
        assets=3,
        alerts=2,
        alerts_raised=5,
        detector_skips=0,
        fragments_dropped=0,
        stage_errors=0,
        store_batches=7,
        store_failed_batches=0,
        store_lost=0,
        rss_bytes=200 << 20,
        peak_rss_bytes=210 << 20,
    )
    line = counters.line()
    assert line.startswith("sensor eth1: up 61 s; frames 1,200 captured")
    assert "10 dropped by the kernel (of 1,210)" in line
    assert "1 evicted" in line
    assert "peak 3.0 MB, 2 waits" in line
    assert "memory 200 MB (peak 210 MB)" in line
    doc = json.loads(json.dumps(counters.to_dict()))
    assert doc["uptime_s"] == 61.26
    assert doc["kernel_dropped"] == 10


def _store(tmp_path: Path) -> tuple[StoreSink, Path]:
    db = tmp_path / "sink.db"
    engine = make_engine(db)
    ensure_schema(engine)
    merged = [alert(1, count=3)]
    sink = StoreSink(BatchWriter(session_factory(engine)), "live:test", alerts=lambda: merged)
    return sink, db


def test_a_raised_alert_is_stored_at_once_and_merged_at_the_checkpoint(tmp_path: Path) -> None:
    sink, db = _store(tmp_path)
    sink.alert_raised(alert(1))
    assert sink.new_alerts == 1
    sink.save_recent()
    assert sink.new_alerts == 0
    assert rows(db, "select alert_id, count from alerts") == [("ot-commands:plc-stop:1", 1)]
    sink.save_recent()  # nothing new: nothing written, nothing failed
    sink.alert_raised(alert(1))
    sink.save()  # the checkpoint writes the merged view, and the raised one is not left over
    assert sink.new_alerts == 0
    assert rows(db, "select alert_id, count from alerts") == [("ot-commands:plc-stop:1", 3)]
    assert sink.writer.stats.batches == 2
    assert sink.failed_batches == 0


def test_a_failed_write_is_counted_not_raised(tmp_path: Path) -> None:
    sink, db = _store(tmp_path)
    engine = make_engine(db)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alert_evidence"))
        conn.execute(text("DROP TABLE incident_alerts"))
        conn.execute(text("DROP TABLE alerts"))
    engine.dispose()
    sink.alert_raised(alert(2))
    sink.save_recent()
    sink.save()
    assert sink.failed_batches == 2
    assert sink.writer.stats.lost == 2


def _sensor(db: Path, options: SensorOptions) -> Sensor:
    engine = make_engine(db)
    ensure_schema(engine)
    return Sensor(options, session_factory(engine), name="sensor:test")


@pytest.mark.live
@pytest.mark.timeout(120)
def test_stop_before_run_ends_at_once_with_a_clean_finish(tmp_path: Path) -> None:
    db = tmp_path / "sensor.db"
    with plant(PLC) as topo:
        capture = in_netns(topo.switch_ns, lambda: LiveCapture("br0"))
        sensor = _sensor(db, SensorOptions("br0"))
        sensor.stop()
        started = time.monotonic()
        counters = sensor.run(capture)
        took = time.monotonic() - started
    assert took < 1.0
    assert counters.captured == 0
    assert counters.processed == 0
    assert status_state(db)["state"] == "stopped"


@pytest.mark.live
@pytest.mark.timeout(120)
def test_a_quiet_link_is_checkpointed_on_the_wall_clock(tmp_path: Path) -> None:
    """The first batch is stored at once; a later burst on a link that then goes quiet is
    stored at the next wall-clock checkpoint, though no further packet comes to trigger it."""
    db = tmp_path / "sensor.db"
    checkpoint_s = 1.0
    with plant(PLC, HMI) as topo:
        for host, peer in ((PLC, HMI), (HMI, PLC)):  # no ARP: only the datagrams we send
            subprocess.run(
                [
                    "ip",
                    "-n",
                    topo.ns(host.name),
                    "neigh",
                    "replace",
                    peer.ip,
                    "lladdr",
                    peer.mac,
                    "dev",
                    "eth0",
                    "nud",
                    "permanent",
                ],
                check=True,
            )
        capture = in_netns(topo.switch_ns, lambda: LiveCapture("br0", "udp"))
        sensor = _sensor(db, SensorOptions("br0", checkpoint_s=checkpoint_s, stats_every_s=0.5))
        result: list[SensorCounters] = []
        runner = threading.Thread(target=lambda: result.append(sensor.run(capture)))
        runner.start()
        try:

            def burst(src: str, dst: str) -> float:
                def send() -> float:
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                        sock.bind((src, 47000))
                        for _ in range(5):
                            sock.sendto(b"x" * 64, (dst, 47001))
                    return time.time()

                return in_netns(topo.ns("plc" if src == PLC.ip else "hmi"), send)

            burst(PLC.ip, HMI.ip)
            wait_until(lambda: rows(db, "select count(*) from assets")[0][0] >= 1, 3.0)
            first_write = time.time()
            time.sleep(0.2)
            second = burst(HMI.ip, PLC.ip)  # inside the checkpoint interval: not written yet
            assert rows(db, "select max(last_seen) from assets")[0][0] < second - 0.1
            stored = wait_until(
                lambda: rows(db, "select max(last_seen) from assets")[0][0] >= second - 0.1,
                checkpoint_s + 2.0,
            )
            written_after = time.time() - first_write
            assert stored
            running = status_state(db)
            assert running["state"] == "running"
            assert running["counters"]["captured"] == 10
        finally:
            sensor.stop()
            runner.join(10.0)
    assert not runner.is_alive()
    assert checkpoint_s - 0.1 <= written_after <= checkpoint_s + 1.0
    counters = result[0]
    assert counters.captured == counters.processed == 10
    assert counters.kernel_dropped == 0
    assert counters.flows_live == 0
    assert counters.flows_total == 2  # one UDP flow each way (ports 47000 -> 47001)
    assert status_state(db)["state"] == "stopped"
