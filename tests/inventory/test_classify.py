"""Role rules on hand-made profiles: each kind of evidence votes for the role it implies."""

from __future__ import annotations

from collections import Counter

import pytest

from otsight.inventory.classify import classify
from otsight.inventory.profile import Profile


def _profile(aid: str = "a", **kwargs: object) -> Profile:
    p = Profile(aid)
    for key, value in kwargs.items():
        setattr(p, key, value)
    return p


def _role(p: Profile, others: dict[str, Profile] | None = None) -> tuple[str, float, list[str]]:
    profiles = {p.asset_id: p, **(others or {})}
    d = classify(profiles, {})[p.asset_id]
    return d.role, d.confidence, [e.text for e in d.evidence]


def test_engineering_workstation_programs_controllers() -> None:
    p = _profile()
    p.uses["s7comm"] = {"plc1", "plc2"}
    p.used_ops.update({("s7comm", "program"): 4, ("s7comm", "diagnostic"): 2})
    p.used_by_server = {"plc1": Counter(program=4), "plc2": Counter(diagnostic=2)}
    role, conf, evidence = _role(p)
    assert role == "engineering_workstation"
    assert conf > 0.6
    assert any("programs or configures controllers (4 operations)" in e for e in evidence)


def test_outstation_is_rtu_and_its_master_a_scada_server() -> None:
    rtu = _profile("rtu")
    rtu.serves["dnp3"] = {"master"}
    master = _profile("master")
    master.uses["dnp3"] = {"rtu"}
    master.used_ops[("dnp3", "read")] = 100
    profiles = {"rtu": rtu, "master": master}
    decisions = classify(profiles, {})
    assert decisions["rtu"].role == "rtu"
    assert decisions["master"].role in {"scada_server", "hmi"}
    assert decisions["master"].purdue_level == 2


def test_broker_sensor_and_camera_recorder() -> None:
    broker = _profile("broker")
    broker.serves["mqtt"] = {"s1", "s2"}
    sensor = _profile("s1", vendor="Espressif Inc.")
    sensor.uses["mqtt"] = {"broker"}
    sensor.used_ops[("mqtt", "publish")] = 50
    cam = _profile("cam", vendor="Hangzhou Hikvision Digital Technology Co.,Ltd.")
    cam.ports[("tcp", 80)] = 1
    cam.serves["http"] = {"nvr"}
    nvr = _profile("nvr")
    nvr.uses["http"] = {"cam"}
    nvr.used_ops[("http", "browse")] = 30
    d = classify({"broker": broker, "s1": sensor, "cam": cam, "nvr": nvr}, {})
    assert d["broker"].role == "iot_gateway"
    assert d["s1"].role == "iot_sensor"
    assert d["cam"].role == "camera"
    assert d["nvr"].role == "it_server"  # second pass: it pulls from a camera
    assert any("camera" in e.text for e in d["nvr"].evidence)


@pytest.mark.parametrize(
    ("ports", "role"),
    [({("tcp", 9100): 2}, "printer"), ({("udp", 53): 5, ("udp", 67): 5}, "it_server")],
)
def test_service_ports(ports: dict[tuple[str, int], int], role: str) -> None:
    assert _role(_profile(ports=ports))[0] == role


def test_no_evidence_is_unknown_with_zero_confidence() -> None:
    role, conf, evidence = _role(_profile())
    assert (role, conf, evidence) == ("unknown", 0.0, [])


def test_switch_from_spanning_tree_and_router_flag() -> None:
    assert _role(_profile(stp_bpdus=12))[0] == "switch"
    assert _role(_profile(is_router=True))[0] == "router"


def test_conflicting_evidence_lowers_confidence() -> None:
    clear = _profile()
    clear.serves["modbus"] = {"h1", "h2"}
    mixed = _profile()
    mixed.serves["modbus"] = {"h1", "h2"}
    mixed.uses["modbus"] = {"p1"}
    mixed.used_ops[("modbus", "read")] = 10
    _, clear_conf, _ = _role(clear)
    role, mixed_conf, _ = _role(mixed)
    assert role == "plc"
    assert mixed_conf < clear_conf


def test_undecoded_industrial_port_votes_weakly_for_its_role() -> None:
    melsec = _profile(ports={("tcp", 5007): 2})
    role, _, evidence = _role(melsec)
    assert role == "plc"
    assert any("MELSEC (Mitsubishi) (tcp/5007) to 2 clients" in e for e in evidence)
    # Where a dissector decoded the protocol, the port adds nothing more.
    modbus = _profile(ports={("tcp", 502): 2})
    modbus.serves["modbus"] = {"h1", "h2"}
    assert sum("tcp/502" in e for e in _role(modbus)[2]) == 0


def test_goose_publisher_is_an_ied() -> None:
    role, _, evidence = _role(_profile(ethertypes=frozenset({0x88B8})))
    assert role == "rtu"
    assert any("GOOSE" in e for e in evidence)
