"""Lab pieces that need no root: the process model, nmap parsing, truth and its schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otsight.lab import topology
from otsight.lab.model import AttackStep, BenignChange, Truth
from otsight.lab.process import TankProcess
from otsight.lab.runner import _parse_grepable
from otsight.lab.scenarios import ATTACKER, NORMAL_CONVERSATIONS, PLANT, SCENARIOS

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "truth.schema.json"


def test_tank_is_deterministic_and_cycles_the_pump() -> None:
    a, b = TankProcess(7), TankProcess(7)
    levels = []
    for _ in range(240):
        a.advance(0.5)
        b.advance(0.5)
        levels.append(a.input_registers()[0])
    assert a.input_registers() == b.input_registers()
    running = [a.state.pump_running]
    c = TankProcess(7)
    for _ in range(400):
        c.advance(0.5)
        running.append(c.state.pump_running)
    assert True in running
    assert running.count(False) > 1
    assert max(levels) <= 1000
    assert min(levels) >= 0


def test_holding_write_changes_behaviour() -> None:
    proc = TankProcess(1)
    proc.write_holding(0, [5000])  # out of range: accepted, as by many real PLCs
    assert proc.holding[0] == 5000
    proc.advance(120.0)
    assert not proc.state.pump_running or proc.state.level_mm < 1000


def test_parse_grepable() -> None:
    text = (
        "# Nmap 7.93 scan\n"
        "Host: 192.0.2.10 ()\tStatus: Up\n"
        "Host: 192.0.2.10 ()\tPorts: 102/closed/tcp//iso-tsap///, 502/open/tcp//mbap///\n"
        "Host: 192.0.2.20 ()\tPorts: 502/closed/tcp//mbap///\n"
    )
    assert _parse_grepable(text) == {"192.0.2.10": [502], "192.0.2.20": []}


def _truth() -> Truth:
    step = AttackStep(
        step_id="x-1", name="n", technique_ids=("T0855",), attacker="atk", victims=("plc1",),
        description="d", start=1.0e9, end=1.0e9 + 1,
    )
    return Truth(
        scenario="manipulation", seed=1, network="192.0.2.0/24", bridge="otslab-abcd-sw/br0",
        capture_file="capture.pcap", capture_start=1.0e9 - 5, capture_end=1.0e9 + 5,
        devices=[*PLANT, ATTACKER], conversations=list(NORMAL_CONVERSATIONS),
        attack_steps=[step], tools={"pymodbus": "3.16.1"},
    )


def test_truth_matches_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = json.loads(json.dumps(_truth().to_dict()))
    jsonschema.Draft202012Validator(schema).validate(doc)
    doc["attack_steps"][0]["technique_ids"] = ["X1"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(doc)


def test_scenarios_are_consistent() -> None:
    for scenario in SCENARIOS.values():
        names = {d.name for d in scenario.devices}
        for step in scenario.steps:
            assert set(step.victims) <= names
            assert step.actor is None or step.actor in names
            if step.benign:  # a documented change, not an attack: no technique
                assert not step.technique_ids
                assert step.actor is not None
            else:
                assert step.technique_ids
                assert any(d.attacker for d in scenario.devices)
            assert all(t.startswith("T0") for t in step.technique_ids)
        assert len({s.step_id for s in scenario.steps}) == len(scenario.steps)
        assert [s.at for s in scenario.steps] == sorted(s.at for s in scenario.steps)
        assert len({d.mac for d in scenario.devices}) == len(scenario.devices)
    assert {"normal", "recon", "manipulation", "mitm", "dos", "benign-change", "mixed"} <= set(
        SCENARIOS)
    assert SCENARIOS["mitm"].steps[0].technique_ids[0] == "T0830"
    assert SCENARIOS["dos"].steps[0].technique_ids[0] == "T0814"


def test_benign_changes_in_truth() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    truth = _truth()
    truth.benign_changes.append(BenignChange(
        change_id="maint-1", name="n", actor="ews", targets=("plc1",), description="d",
        start=1.0e9 + 2, end=1.0e9 + 3, details={"result": {"reads": 6}}))
    doc = json.loads(json.dumps(truth.to_dict()))
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["benign_changes"][0]["actor"] == "ews"
    del doc["benign_changes"][0]["actor"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(doc)


def test_attack_tools_refuse_outside_the_lab() -> None:
    from otsight.lab.agents import attacks

    with pytest.raises(attacks.LabGuardError):  # the test runs in no otslab-* namespace
        attacks.conn_flood({"target": "192.0.2.10", "count": 1})
    with pytest.raises(attacks.LabGuardError):
        attacks.arp_mitm({"mac": "02:00:00:00:00:01", "a": {"ip": "192.0.2.20", "mac": "x"},
                          "b": {"ip": "10.0.0.1", "mac": "y"}})


def test_calibration_block_is_readable() -> None:
    proc = TankProcess(1)
    assert proc.holding[10:16] == [0, 1000, 5, 3, 3108, 9131]
    assert proc.holding[:4] == [800, 200, 75, 1]


def test_not_root_is_said_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(topology.LabError, match="needs root"):
        topology.require_root_and_tools()


def test_host_names_are_checked() -> None:
    with pytest.raises(ValueError, match="bad host name"):
        topology.Topology([topology.Host("Bad_Name", "192.0.2.1", 24, "02:00:00:00:00:01")])
    with pytest.raises(ValueError, match="unique"):
        topology.Topology([topology.Host("a", "192.0.2.1", 24, "02:00:00:00:00:01")] * 2)


def test_extras_are_consistent_and_in_the_schema() -> None:
    from otsight.lab.scenarios import EXTRAS

    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    devices = [*PLANT, ATTACKER, *(d for devs, _ in EXTRAS.values() for d in devs)]
    assert len({d.name for d in devices}) == len(devices)
    assert len({d.mac for d in devices}) == len(devices)
    assert len({d.ip for d in devices}) == len(devices)
    assert all(d.ip.startswith("192.0.2.") for d in devices)
    truth = _truth()
    truth.devices.extend(d for devs, _ in EXTRAS.values() for d in devs)
    truth.conversations.extend(c for _, convs in EXTRAS.values() for c in convs)
    doc = json.loads(json.dumps(truth.to_dict()))
    jsonschema.Draft202012Validator(schema).validate(doc)
    by_name = {d["name"]: d for d in doc["devices"]}
    assert by_name["cam1"]["role"] == "camera"
    assert by_name["cam1"]["macs"][0].startswith("44:19:b6")  # Hikvision OUI
    assert by_name["wks"]["addressing"] == "dhcp"
    http = next(c for c in doc["conversations"] if c["protocol"] == "http")
    assert http["auth_user"]
    from otsight.lab.scenarios import VMS_PASSWORD

    assert VMS_PASSWORD not in json.dumps(doc)


def test_camera_documents() -> None:
    from xml.etree import ElementTree

    from otsight.lab.agents.camera import basic_auth, device_info_xml, snapshot_jpeg

    doc = ElementTree.fromstring(device_info_xml({
        "model": "DS-2CD2143G2-I", "serial": "S<1>", "firmware": "V5.7.3 build 220112",
        "vendor": "Hikvision"}))
    ns = "{http://www.hikvision.com/ver20/XMLSchema}"
    assert doc.findtext(f"{ns}model") == "DS-2CD2143G2-I"
    assert doc.findtext(f"{ns}serialNumber") == "S<1>"
    assert doc.findtext(f"{ns}firmwareVersion") == "V5.7.3 build 220112"
    jpeg = snapshot_jpeg(3)
    assert jpeg[:2] == b"\xff\xd8"
    assert jpeg[-2:] == b"\xff\xd9"
    assert 200 <= len(jpeg) <= 1000
    assert jpeg == snapshot_jpeg(3) != snapshot_jpeg(4)
    assert basic_auth("u", "p") == "Basic dTpw"


def test_dhcp_commands(tmp_path: Path) -> None:
    from otsight.lab import dhcp

    argv = dhcp.dnsmasq_argv("192.0.2.2", "192.0.2.0/24", [("54:ee:75:3a:60:60", "192.0.2.60")],
                             120, tmp_path)
    assert argv[:3] == ["dnsmasq", "--no-daemon", "--conf-file=/dev/null"]
    assert {"--no-resolv", "--no-hosts", "--bind-interfaces", "--interface=eth0"} <= set(argv)
    assert not any(a.startswith("--server") for a in argv)  # nothing to forward to
    assert "--dhcp-range=192.0.2.100,192.0.2.149,255.255.255.0,120s" in argv
    assert "--dhcp-host=54:ee:75:3a:60:60,192.0.2.60" in argv
    with pytest.raises(ValueError, match="is not in"):
        dhcp.dnsmasq_argv("10.0.0.1", "192.0.2.0/24", [], 120, tmp_path)
    with pytest.raises(ValueError, match="is not in"):
        dhcp.dnsmasq_argv("192.0.2.2", "192.0.2.0/24", [("m", "198.51.100.1")], 120, tmp_path)
    conf = dhcp.dhclient_conf("ENG-WKS-07", "MSFT 5.0")
    assert 'send host-name "ENG-WKS-07";' in conf
    assert 'send vendor-class-identifier "MSFT 5.0";' in conf
    with pytest.raises(ValueError, match="bad DHCP option"):
        dhcp.dhclient_conf('x"; evil', "MSFT 5.0")
    dhcp.write_dhclient_files(tmp_path, "ENG-WKS-07", "MSFT 5.0")
    assert (tmp_path / "dhclient-script").stat().st_mode & 0o111
    assert dhcp.dhclient_argv(tmp_path)[-1] == "eth0"
