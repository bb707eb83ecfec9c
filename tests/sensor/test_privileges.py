"""The service unit's privileges are enough: the sensor runs as an unprivileged user holding only
CAP_NET_RAW and CAP_NET_ADMIN as ambient capabilities (what deploy/otsight-sensor.service
grants), with no new privileges, and still captures, stores and stops cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from otsight.lab.topology import RUN_ENV, wait_for_line

from .plant import HMI, PLC, plant, rows, start_hmi, start_plc, status_state

NOBODY = 65534
CAPS = "-all,+net_raw,+net_admin"


@pytest.mark.live
@pytest.mark.timeout(300)
def test_sensor_runs_unprivileged_with_the_units_capabilities() -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux) to drop to an unprivileged user")
    # Not under pytest's tmp_path: its parent is root's, mode 0700, closed to the user.
    with tempfile.TemporaryDirectory(prefix="otsight-sensor-") as top:
        Path(top).chmod(0o755)
        state = Path(top) / "state"  # like the unit's StateDirectory: the only writable place
        state.mkdir()
        os.chown(state, NOBODY, NOBODY)
        _run_unprivileged(state)


def _run_unprivileged(state: Path) -> None:
    db = state / "otsight.db"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(state / "numba"), HOME=str(state))
    with plant(PLC, HMI) as topo:
        env[RUN_ENV] = topo.run_id  # found and ended with the run, should the test fail
        argv = ["ip", "netns", "exec", topo.switch_ns,
                "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                f"--inh-caps={CAPS}", f"--ambient-caps={CAPS}", f"--bounding-set={CAPS}",
                "--no-new-privs",
                sys.executable, "-m", "otsight.cli.sensor", "--interface", "br0",
                "--db", str(db), "--checkpoint-s", "1"]  # fmt: skip
        sensor = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
        )
        try:
            # A fresh numba cache: the kernels compile on the first batch (seconds, once).
            wait_for_line(sensor, b"capturing on", 120.0, stream="stderr")
            start_plc(topo)
            start_hmi(topo, poll_s=0.3)
            time.sleep(3.0)
            sensor.send_signal(signal.SIGTERM)
            _out, err = sensor.communicate(timeout=120.0)
        finally:
            if sensor.poll() is None:
                os.killpg(sensor.pid, signal.SIGKILL)
                sensor.wait(10.0)
    assert sensor.returncode == 0, err.decode()
    assert db.stat().st_uid == NOBODY
    assert status_state(db)["state"] == "stopped"
    assert status_state(db)["counters"]["captured"] > 10
    roles = dict(rows(db, "select asset_id, role from assets"))
    assert roles[f"mac:{PLC.mac}"] == "plc"
