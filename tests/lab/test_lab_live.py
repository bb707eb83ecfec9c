"""End to end: build the plant in namespaces, run a scenario, check the capture with tshark.

Needs root, ``ip``, ``tcpdump``, ``tshark`` (``nmap`` for recon and mixed, the ``scapy``
package for mitm and mixed); skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import itertools
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
DURATION = 14.0


def _skip_reason(tools: tuple[str, ...]) -> str | None:
    if os.geteuid() != 0:
        return "live lab test needs root (network namespaces, bridge, tcpdump)"
    missing = [t for t in tools if shutil.which(t) is None]
    return f"live lab test needs {', '.join(missing)} on PATH" if missing else None


def _require(*tools: str, modules: tuple[str, ...] = ()) -> None:
    reason = _skip_reason(("ip", "tcpdump", "tshark", *tools))
    if reason:
        pytest.skip(reason)
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"live lab test needs the Python package(s) {', '.join(missing)}")


def _tshark(pcap: Path, display_filter: str, *fields: str) -> list[list[str]]:
    argv = ["tshark", "-r", str(pcap), "-Y", display_filter, "-T", "fields"]
    for field in fields:
        argv += ["-e", field]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=120)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def _run(scenario: str, out: Path, duration: float = DURATION) -> dict[str, Any]:
    from otsight.lab.runner import run_scenario

    run_scenario(scenario, out, duration=duration, seed=3)
    truth: dict[str, Any] = json.loads((out / "truth.json").read_text())
    return truth


def _check_common(out: Path, truth: dict[str, Any], hmi_write: bool = True) -> None:
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
    assert ({3, 4, 6} if hmi_write else {3, 4}) <= hmi_fcs


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


def _dev(truth: dict[str, Any], name: str) -> tuple[str, str]:
    """(ip, mac) of device ``name``."""
    dev = next(d for d in truth["devices"] if d["name"] == name)
    return dev["ips"][0], dev["macs"][0]


@pytest.mark.live
@pytest.mark.timeout(120)
def test_mitm_end_to_end(tmp_path: Path) -> None:
    _require(modules=("scapy",))
    truth = _run("mitm", tmp_path, duration=12.0)
    _check_common(tmp_path, truth, hmi_write=False)
    pcap = tmp_path / "capture.pcap"
    (step,) = truth["attack_steps"]
    assert step["step_id"] == "mitm-1"
    assert step["technique_ids"][0] == "T0830"
    assert step["ok"], step["details"]
    atk_ip, atk_mac = _dev(truth, "atk")
    hmi_ip, hmi_mac = _dev(truth, "hmi")
    plc_ip, plc_mac = _dev(truth, "plc1")
    # Spoofed replies: the attacker's MAC claims plc1's IP (to the HMI), only inside the step.
    spoofed = _tshark(pcap, f"arp.opcode==2 && eth.src=={atk_mac} && arp.src.proto_ipv4=="
                      f"{plc_ip} && arp.src.hw_mac=={atk_mac} && eth.dst=={hmi_mac}",
                      "frame.time_epoch")
    assert len(spoofed) >= 4
    assert all(_in_windows(float(t), [step]) for (t,) in spoofed)
    # ... and then the true MAC of plc1 again (restore), still inside the step.
    restored = _tshark(pcap, f"arp.opcode==2 && eth.src=={atk_mac} && arp.src.hw_mac=={plc_mac}",
                       "frame.time_epoch")
    assert restored
    assert all(_in_windows(float(t), [step]) for (t,) in restored)
    # HMI -> plc1 Modbus requests went to the attacker's MAC, only inside the window.
    hijacked = _tshark(pcap, f"ip.src=={hmi_ip} && ip.dst=={plc_ip} && mbtcp && "
                       f"eth.dst=={atk_mac}", "frame.time_epoch")
    assert len(hijacked) >= 3
    assert all(_in_windows(float(t), [step]) for (t,) in hijacked)
    # The attacker forwarded them (polling went on) and plc1 answered through it.
    forwarded = _tshark(pcap, f"ip.src=={hmi_ip} && ip.dst=={plc_ip} && eth.src=={atk_mac} "
                        f"&& eth.dst=={plc_mac} && tcp.len>0", "frame.time_epoch")
    answers = _tshark(pcap, f"ip.src=={plc_ip} && ip.dst=={hmi_ip} && eth.dst=={atk_mac} "
                      "&& mbtcp", "frame.time_epoch")
    assert len(forwarded) >= 3
    assert len(answers) >= 3
    # Before and after the window the HMI talks to plc1's own MAC.
    direct = [float(t) for (t,) in _tshark(
        pcap, f"ip.src=={hmi_ip} && ip.dst=={plc_ip} && mbtcp && eth.dst=={plc_mac} "
        f"&& eth.src=={hmi_mac}", "frame.time_epoch")]
    assert any(t < step["start"] for t in direct)
    assert any(t > step["end"] for t in direct)
    assert not _tshark(pcap, f"icmp && ip.src=={atk_ip}", "frame.time_epoch")  # no redirects


@pytest.mark.live
@pytest.mark.timeout(120)
def test_dos_end_to_end(tmp_path: Path) -> None:
    _require()
    truth = _run("dos", tmp_path, duration=8.0)
    _check_common(tmp_path, truth, hmi_write=False)
    pcap = tmp_path / "capture.pcap"
    (step,) = truth["attack_steps"]
    assert step["technique_ids"][0] == "T0814"
    assert step["ok"], step["details"]
    atk_ip, _ = _dev(truth, "atk")
    plc_ip, _ = _dev(truth, "plc1")
    syns = _tshark(pcap, f"ip.src=={atk_ip} && ip.dst=={plc_ip} && tcp.dstport==502 && "
                   "tcp.flags.syn==1 && tcp.flags.ack==0", "frame.time_epoch")
    assert len(syns) >= 250
    assert all(_in_windows(float(t), [step]) for (t,) in syns)
    assert len({row[0] for row in _tshark(pcap, f"ip.src=={atk_ip} && tcp.flags.syn==1 && "
                                          "tcp.flags.ack==0", "tcp.srcport")}) >= 250
    # Everything the attacker sends lies in the window (plus the closing FIN/RST tail).
    for (t,) in _tshark(pcap, f"ip.src=={atk_ip}", "frame.time_epoch"):
        assert _in_windows(float(t), [step], after=1.0), t


@pytest.mark.live
@pytest.mark.timeout(120)
def test_benign_change_end_to_end(tmp_path: Path) -> None:
    _require()
    truth = _run("benign-change", tmp_path, duration=8.0)
    _check_common(tmp_path, truth, hmi_write=False)
    pcap = tmp_path / "capture.pcap"
    assert truth["attack_steps"] == []
    assert not any(d["attacker"] for d in truth["devices"])
    (change,) = truth["benign_changes"]
    assert change["actor"] == "ews"
    assert change["ok"], change["details"]
    ews_ip, _ = _dev(truth, "ews")
    plc_ip, _ = _dev(truth, "plc1")
    new_range = _tshark(pcap, f"ip.src=={ews_ip} && ip.dst=={plc_ip} && modbus.func_code==3 && "
                        "modbus.reference_num==10", "frame.time_epoch")
    assert len(new_range) == 6
    assert all(_in_windows(float(t), [change]) for (t,) in new_range)
    writes = _tshark(pcap, f"ip.src=={ews_ip} && modbus.func_code==6", "frame.time_epoch",
                     "modbus.reference_num", "modbus.data")
    assert len(writes) == 1
    assert _in_windows(float(writes[0][0]), [change])
    assert (writes[0][1], writes[0][2].replace(":", "")) == ("1", "00dc")  # HR 1 := 220


@pytest.mark.live
@pytest.mark.timeout(150)
def test_mixed_end_to_end(tmp_path: Path) -> None:
    _require("nmap", modules=("scapy",))
    truth = _run("mixed", tmp_path, duration=24.0)
    _check_common(tmp_path, truth)
    pcap = tmp_path / "capture.pcap"
    steps = truth["attack_steps"]
    assert [s["step_id"] for s in steps] == ["recon-1", "recon-2", "recon-3", "mitm-1",
                                             "manip-1", "manip-2", "manip-3", "manip-4"]
    assert all(s["ok"] for s in steps), [s["step_id"] for s in steps if not s["ok"]]
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(steps))
    atk_ip, atk_mac = _dev(truth, "atk")
    by_id = {s["step_id"]: s for s in steps}
    spoofed = _tshark(pcap, f"arp.opcode==2 && eth.src=={atk_mac} && arp.src.hw_mac=={atk_mac}",
                      "frame.time_epoch")
    assert spoofed
    assert all(_in_windows(float(t), [by_id["mitm-1"]]) for (t,) in spoofed)
    writes = _tshark(pcap, f"ip.src=={atk_ip} && mbtcp", "frame.time_epoch", "modbus.func_code")
    assert {6, 16, 8, 43} <= {int(fc) for _, fc in writes}
    for ts, _fc in writes:
        assert _in_windows(float(ts), steps), ts


@pytest.mark.live
@pytest.mark.timeout(120)
def test_normal_with_iiot_extras(tmp_path: Path) -> None:
    _require()
    from otsight.lab.runner import extras_available

    available = extras_available(("opcua", "mqtt", "camera", "dhcp", "bacnet"))
    truth = _run("normal", tmp_path, duration=10.0)
    _check_common(tmp_path, truth, hmi_write=False)
    pcap = tmp_path / "capture.pcap"
    names = {d["name"] for d in truth["devices"]}
    protocols = {c["protocol"] for c in truth["conversations"]}
    assert truth["attack_steps"] == []
    # truth.json lists exactly what ran.
    assert ({"hist", "rpt"} <= names) == (available["opcua"] is None)
    assert ({"mqtt", "iot1", "iot2"} <= names) == (available["mqtt"] is None)
    assert ("opcua" in protocols) == (available["opcua"] is None)
    assert ("mqtt" in protocols) == (available["mqtt"] is None)
    if available["opcua"] is None:
        hist_ip, _ = _dev(truth, "hist")
        rpt_ip, _ = _dev(truth, "rpt")
        reads = _tshark(pcap, f"opcua && ip.src=={rpt_ip} && ip.dst=={hist_ip} && "
                        "tcp.dstport==4840", "frame.time_epoch")
        assert len(reads) >= 3
    if available["mqtt"] is None:
        broker_ip, _ = _dev(truth, "mqtt")
        for sensor in ("iot1", "iot2"):
            ip, _ = _dev(truth, sensor)
            pubs = _tshark(pcap, f"mqtt.msgtype==3 && ip.src=={ip} && ip.dst=={broker_ip}",
                           "mqtt.topic")
            assert pubs, sensor
            assert all(row[0].startswith("plant/") for row in pubs)
    _check_camera(pcap, truth, available["camera"] is None)
    _check_dhcp(pcap, truth, available["dhcp"] is None)
    _check_bacnet(pcap, truth, available["bacnet"] is None)
    if any(available.values()):
        pytest.skip(f"extras not installed, checked without them: {available}")


def _check_camera(pcap: Path, truth: dict[str, Any], ran: bool) -> None:
    names = {d["name"] for d in truth["devices"]}
    assert ({"cam1", "vms"} <= names) == ran
    if not ran:
        return
    cam = next(d for d in truth["devices"] if d["name"] == "cam1")
    assert cam["role"] == "camera"
    cam_ip, vms_ip = cam["ips"][0], _dev(truth, "vms")[0]
    conv = next(c for c in truth["conversations"] if c["protocol"] == "http")
    user = conv["auth_user"]
    assert user
    # The camera's responses carry its embedded-web-server header; deviceInfo its identity.
    servers = _tshark(pcap, f"http.response && ip.src=={cam_ip}", "http.server")
    assert servers
    assert all(row[0] == "App-webs/" for row in servers)
    xml = _tshark(pcap, f'http.response && ip.src=={cam_ip} && http.content_type contains "xml"',
                  "http.file_data")
    assert xml
    body = xml[0][0]
    assert "<DeviceInfo" in body
    for value in (cam["model"], cam["firmware"], cam["vendor"]):
        assert value in body, value
    # The VMS pulls snapshots with HTTP Basic auth as the user of truth.json.
    auth = _tshark(pcap, f'http.request && ip.src=={vms_ip} && http.request.uri=="/snapshot.jpg"',
                   "http.authbasic")
    assert len(auth) >= 3
    assert all(row[0].split(":", 1)[0] == user for row in auth)
    jpegs = _tshark(pcap, f"ip.src=={cam_ip} && image-jfif", "frame.time_epoch")
    assert len(jpegs) >= 3


def _check_dhcp(pcap: Path, truth: dict[str, Any], ran: bool) -> None:
    names = {d["name"] for d in truth["devices"]}
    assert ({"infra", "wks"} <= names) == ran
    if not ran:
        return
    wks = next(d for d in truth["devices"] if d["name"] == "wks")
    assert wks["addressing"] == "dhcp"
    rows = _tshark(pcap, f"dhcp.option.dhcp==3 && eth.src=={wks['macs'][0]}",
                   "dhcp.option.hostname", "dhcp.option.vendor_class_id",
                   "dhcp.option.requested_ip_address")
    assert rows
    assert all(r[0] == wks["hostname"] and r[1] == "MSFT 5.0" for r in rows)
    assert rows[0][2] == wks["ips"][0]
    acks = _tshark(pcap, f"dhcp.option.dhcp==5 && dhcp.ip.your=={wks['ips'][0]}",
                   "frame.time_epoch")
    assert acks
    # ... and the workstation then uses the leased address (ARP announces/queries from it).
    assert _tshark(pcap, f"eth.src=={wks['macs'][0]}", "frame.time_epoch")


def _check_bacnet(pcap: Path, truth: dict[str, Any], ran: bool) -> None:
    names = {d["name"] for d in truth["devices"]}
    assert ({"bac1", "bms"} <= names) == ran
    if not ran:
        return
    bac = next(d for d in truth["devices"] if d["name"] == "bac1")
    bac_ip, bms_ip = bac["ips"][0], _dev(truth, "bms")[0]
    who_is = _tshark(pcap, f"bacapp.unconfirmed_service==8 && ip.src=={bms_ip}",
                     "frame.time_epoch")
    assert len(who_is) >= 2
    i_am = _tshark(pcap, f"bacapp.unconfirmed_service==0 && ip.src=={bac_ip}",
                   "bacapp.instance_number", "bacapp.vendor_identifier")
    assert len(i_am) >= 2
    assert all(row[1] == "7" for row in i_am)  # Siemens Schweiz AG
    for value in (bac["vendor"], bac["model"], bac["firmware"]):
        acks = _tshark(pcap, f'bacapp.type==3 && bacapp.confirmed_service==12 && '
                       f'ip.src=={bac_ip} && frame contains "{value}"', "frame.time_epoch")
        assert acks, value
