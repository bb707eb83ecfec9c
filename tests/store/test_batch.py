"""Batched writing: one transaction per batch; a failed or killed batch loses only itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from otsight.store import BatchFailed, BatchWriter
from otsight.store.models import AlertRow, AssetRow, ConversationRow, EventRow

from .factories import alert, conversation, hmi, modbus_write, plc


def count(sessions: sessionmaker[Session], model: type[object]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_writer_commits_a_batch_when_it_is_full(sessions: sessionmaker[Session]) -> None:
    writer = BatchWriter(sessions, max_items=3, max_age_s=3600)
    writer.add_assets([plc(1), plc(2)])
    assert count(sessions, AssetRow) == 0  # still collecting
    writer.add_alerts([alert(1)])  # third record: the batch is written
    assert (count(sessions, AssetRow), count(sessions, AlertRow)) == (2, 1)
    writer.add_conversations([conversation(1)])
    writer.add_events([modbus_write(1)], source="cap")
    writer.close()
    assert (count(sessions, ConversationRow), count(sessions, EventRow)) == (1, 1)
    assert writer.stats.batches == 2
    assert writer.stats.written == {
        "assets": 2, "alerts": 1, "incidents": 0, "conversations": 1, "events": 1
    }


def test_writer_commits_when_the_batch_gets_old(sessions: sessionmaker[Session]) -> None:
    now = [0.0]
    writer = BatchWriter(sessions, max_items=1000, max_age_s=2.0, clock=lambda: now[0])
    writer.add_assets([plc(1)])
    assert count(sessions, AssetRow) == 0
    now[0] = 2.5
    writer.add_assets([plc(2)])
    assert count(sessions, AssetRow) == 2


def test_a_failing_batch_is_rolled_back_alone(sessions: sessionmaker[Session]) -> None:
    writer = BatchWriter(sessions, max_items=1000, max_age_s=3600)
    writer.add_assets([plc(1)])
    writer.flush()
    # Batch two: its assets are written first, then the bad alert fails the transaction.
    writer.add_assets([plc(2), hmi()])
    writer.add_alerts([alert(1, severity="apocalyptic")])
    with pytest.raises(BatchFailed, match=r"3 records rolled back: .*severity"):
        writer.flush()
    with sessions() as s:
        assert list(s.scalars(select(AssetRow.asset_id))) == [plc(1).asset_id]
    writer.add_alerts([alert(2)])  # the writer goes on with the next batch
    writer.close()
    assert (count(sessions, AssetRow), count(sessions, AlertRow)) == (1, 1)
    assert (writer.stats.batches, writer.stats.failed_batches, writer.stats.lost) == (2, 1, 3)


WRITER = """
import sys
from otsight.store import BatchWriter, make_engine, session_factory
from otsight.inventory.model import Asset

sessions = session_factory(make_engine(sys.argv[1]))
writer = BatchWriter(sessions, max_items=200, max_age_s=3600)
n = 0
while True:
    writer.add_assets(Asset(asset_id=f"ip:10.0.{i >> 8}.{i & 255}") for i in range(n, n + 200))
    n += 200
    print(n, flush=True)
"""


def test_a_killed_writer_loses_only_the_batch_in_flight(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    committed = 0
    for line in proc.stdout:
        committed = int(line)
        if committed >= 2000:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Session(engine) as s:
        stored = s.scalar(select(func.count()).select_from(AssetRow)) or 0
    # Everything reported committed is there; a batch is all there or not at all.
    assert stored >= committed
    assert stored % 200 == 0
