"""End to end: build the plant in namespaces, run a scenario, check the capture with tshark.

Needs root, ``ip``, ``tcpdump``, ``tshark`` (and ``nmap`` for recon); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from otsight.lab.topology import PREFIX, list_namespaces, processes_of_run, run_namespaces

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "truth.schema.json"
DURATION = 16.0


def _skip_reason(tools: tuple[str, ...]) -> str | None:
    if os.geteuid() != 0:
        return "live lab test needs root (network namespaces, bridge, tcpdump)"
    missing = [t for t in tools if shutil.which(t) is None]
    return f"live lab test needs {', '.join(missing)} on PATH" if missing else None


def _require(*tools: str) -> None:
    reason = _skip_reason(("ip", "tcpdump", "tshark", *tools))
    if reason:
        pytest.skip(reason)


def _tshark(pcap: Path, display_filter: str, *fields: str) -> list[list[str]]:
    argv = ["tshark", "-r", str(pcap), "-Y", display_filter, "-T", "fields"]
    for field in fields:
        argv += ["-e", field]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def _run(scenario: str, out: Path) -> dict[str, Any]:
    from otsight.lab.runner import run_scenario

    run_scenario(scenario, out, duration=DURATION, seed=3)
    truth: dict[str, Any] = json.loads((out / "truth.json").read_text())
    return truth


def _check_common(out: Path, truth: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text())).validate(truth)
    pcap = out / "capture.pcap"
    # Nothing left behind: namespaces, links (they live only in the namespaces), processes.
    run_id = truth["bridge"].split("-")[1]
    assert run_namespaces(run_id) == []
    assert processes_of_run(run_id) == []
    # Protocols and the device-identification answers carry the vendors of truth.json.
    phs = subprocess.run(["tshark", "-r", str(pcap), "-q", "-z", "io,phs"], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    assert "mbtcp" in phs
    assert "modbus" in phs
    devices = {d["name"]: d for d in truth["devices"]}
    for dev in devices.values():
        if dev["identity"] is None:
            continue
        answers = _tshark(pcap, f"ip.src=={dev['ips'][0]} && modbus.func_code==43",
                          "modbus.object_str_value")
        assert any(dev["identity"]["vendor"] in row[0] for row in answers), dev["name"]
    # Frames carry the vendor MACs; every frame lies inside the capture window.
    macs = {row[0] for row in _tshark(pcap, "eth", "eth.src")}
    for dev in devices.values():
        if not dev["attacker"]:
            assert dev["macs"][0] in macs, dev["name"]
    times = [float(r[0]) for r in _tshark(pcap, "frame", "frame.time_epoch")]
    assert truth["capture"]["start"] <= min(times)
    assert max(times) <= truth["capture"]["end"]
    # Normal HMI polling (FC3/FC4) and its occasional in-band setpoint write (FC6).
    hmi_ip = devices["hmi"]["ips"][0]
    hmi_fcs = {int(r[0]) for r in _tshark(pcap, f"ip.src=={hmi_ip} && mbtcp",
                                          "modbus.func_code")}
    assert {3, 4, 6} <= hmi_fcs


def _in_windows(ts: float, steps: list[dict[str, Any]], after: float = 0.0) -> bool:
    return any(s["start"] - 0.001 <= ts <= s["end"] + after for s in steps)


@pytest.mark.live
@pytest.mark.timeout(180)
def test_manipulation_end_to_end(tmp_path: Path) -> None:
    _require()
    truth = _run("manipulation", tmp_path)
    _check_common(tmp_path, truth)
    pcap = tmp_path / "capture.pcap"
    steps = truth["attack_steps"]
    assert [s["step_id"] for s in steps] == ["manip-1", "manip-2", "manip-3", "manip-4"]
    assert all(s["ok"] for s in steps)
    atk = next(d for d in truth["devices"] if d["attacker"])["ips"][0]
    writes = _tshark(pcap, f"ip.src=={atk} && mbtcp", "frame.time_epoch", "modbus.func_code")
    assert {int(fc) for _, fc in writes} == {6, 16, 8}
    for ts, fc in writes:  # every attacker Modbus request inside a step's window
        assert _in_windows(float(ts), steps), (ts, fc)
    for (ts,) in _tshark(pcap, f"ip.src=={atk}", "frame.time_epoch"):  # + FIN/ACK tail
        assert _in_windows(float(ts), steps, after=0.5), ts
    oor = _tshark(pcap, f"ip.src=={atk} && modbus.func_code==6 && modbus.data==13:88",
                  "frame.time_epoch")
    assert len(oor) == 1
    # FC8/4 silences the victim: no Modbus answer from plc2 after the listen-only step.
    plc2 = next(d for d in truth["devices"] if d["name"] == "plc2")["ips"][0]
    listen_only = steps[3]
    late = _tshark(pcap, f"ip.src=={plc2} && mbtcp && frame.time_epoch > {listen_only['start']}",
                   "frame.time_epoch")
    assert late == []


@pytest.mark.live
@pytest.mark.timeout(180)
def test_recon_end_to_end(tmp_path: Path) -> None:
    _require("nmap")
    truth = _run("recon", tmp_path)
    _check_common(tmp_path, truth)
    pcap = tmp_path / "capture.pcap"
    steps = {s["step_id"]: s for s in truth["attack_steps"]}
    assert sorted(steps["recon-1"]["details"]["hosts_up"]) == sorted(
        d["ips"][0] for d in truth["devices"] if not d["attacker"])
    atk = next(d for d in truth["devices"] if d["attacker"])
    sweep = _tshark(pcap, f"arp.opcode==1 && eth.src=={atk['macs'][0]}", "frame.time_epoch")
    assert len(sweep) > 200  # the /24 ARP sweep
    syns = _tshark(pcap, f"ip.src=={atk['ips'][0]} && tcp.flags.syn==1 && tcp.flags.ack==0 "
                   "&& (tcp.dstport==102 || tcp.dstport==44818 || tcp.dstport==20000)",
                   "frame.time_epoch")
    assert syns
    assert all(_in_windows(float(t), [steps["recon-2"]]) for (t,) in syns)
    devid = _tshark(pcap, f"ip.src=={atk['ips'][0]} && modbus.func_code==43", "frame.time_epoch")
    assert len(devid) >= 4
    assert all(_in_windows(float(t), [steps["recon-3"]]) for (t,) in devid)


@pytest.mark.live
@pytest.mark.timeout(120)
def test_ctrl_c_tears_everything_down(tmp_path: Path) -> None:
    _require()
    before = {ns for ns in list_namespaces() if ns.startswith(PREFIX)}
    code = ("from pathlib import Path; from otsight.lab.runner import run_scenario; "
            f"run_scenario('normal', Path({str(tmp_path)!r}), duration=60)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    new: set[str] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(n.endswith("-ews") for n in new):
        time.sleep(0.2)
        new = {ns for ns in list_namespaces() if ns.startswith(PREFIX)} - before
    assert new, "the run never built its namespaces"
    run_id = next(iter(new)).split("-")[1]
    time.sleep(3.0)  # the plant is running now
    assert processes_of_run(run_id)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert run_namespaces(run_id) == []
    assert processes_of_run(run_id) == []
