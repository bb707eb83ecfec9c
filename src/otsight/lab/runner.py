"""Run one scenario: build the topology, capture, start the plant, play the attacks, tear down."""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from .dhcp import (
    DNSMASQ_READY,
    dhclient_argv,
    dhcp_tools_missing,
    dnsmasq_argv,
    write_dhclient_files,
)
from .model import AttackStep, BenignChange, Device, Truth
from .scenarios import (
    BAC_INSTANCE,
    BAC_VENDOR_ID,
    BACNET_PERIOD_S,
    CAM_SERIAL,
    CAM_SERVER_HEADER,
    CAMERA_PERIOD_S,
    DHCP_LEASE_S,
    EWS_PERIOD_S,
    EXTRAS,
    HISTORIAN_POLL_S,
    HMI_POLL_S,
    HMI_WRITE_EVERY,
    MQTT_PERIOD_S,
    NETWORK,
    NORMAL_CONVERSATIONS,
    OPCUA_PERIOD_S,
    PLCS,
    PREFIX_LEN,
    SCENARIOS,
    VMS_PASSWORD,
    VMS_USER,
    WKS_VENDOR_CLASS,
    PlannedStep,
    Scenario,
)
from .topology import Host, LabError, Topology, require_root_and_tools, wait_for_line

log = logging.getLogger(__name__)

MIN_DURATION_S = 5.0


def _agent_argv(kind: str, spec: dict[str, Any]) -> list[str]:
    return [sys.executable, "-m", "otsight.lab.agents", kind, json.dumps(spec)]


def _tool_version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "missing"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def _parse_grepable(text: str) -> dict[str, list[int]]:
    """nmap -oG output -> {ip: [open tcp ports]} of the hosts that are up."""
    hosts: dict[str, list[int]] = {}
    for line in text.splitlines():
        if not line.startswith("Host: "):
            continue
        ip = line.split()[1]
        ports = hosts.setdefault(ip, [])
        if "Ports: " in line:
            for entry in line.split("Ports: ", 1)[1].split("\t")[0].split(","):
                fields = entry.strip().split("/")
                if len(fields) > 2 and fields[1] == "open":
                    ports.append(int(fields[0]))
    return hosts


class _Run:
    """State of one run (the topology, files, found hosts) while the steps play."""

    def __init__(self, scenario: Scenario, out: Path, duration: float, seed: int,
                 echo: Callable[[str], None]) -> None:
        self.scenario = scenario
        self.out = out
        self.duration = duration
        self.seed = seed
        self.echo = echo
        self.logs = out / "logs"
        self.by_name: dict[str, Device] = {d.name: d for d in scenario.devices}
        self.found_hosts: list[str] = []
        self.open_modbus: list[str] = []
        self._log_files: list[IO[str]] = []

    def log_file(self, name: str) -> IO[str]:
        handle = (self.logs / f"{name}.log").open("w")
        self._log_files.append(handle)
        return handle

    def close_logs(self) -> None:
        for handle in self._log_files:
            handle.close()

    def attacker(self) -> Device:
        for dev in self.scenario.devices:
            if dev.attacker:
                return dev
        raise LabError(f"scenario {self.scenario.name} has steps but no attacker")

    def play(self, topo: Topology, planned: PlannedStep) -> AttackStep:
        atk = self.by_name[planned.actor] if planned.actor else self.attacker()
        step = AttackStep(
            step_id=planned.step_id, name=planned.name, technique_ids=planned.technique_ids,
            attacker=atk.name, victims=planned.victims, description=planned.description,
        )
        if planned.kind in ("nmap-sweep", "nmap-ports"):
            if planned.kind == "nmap-sweep":
                argv = ["nmap", "-sn", "-n", "-T4", "-oG", "-", NETWORK]
            else:
                targets = [ip for ip in self.found_hosts if ip != atk.ip] or [
                    d.ip for d in self.scenario.devices if not d.attacker
                ]
                argv = ["nmap", "-n", "-Pn", "-sS", "-T4", "-p", "502,102,44818,20000",
                        "-oG", "-", *targets]
            step.details["command"] = " ".join(argv)
            step.start = time.time()
            proc = topo.spawn(atk.name, argv, stdout=subprocess.PIPE,
                              stderr=self.log_file(planned.step_id), label=planned.step_id)
            stdout, _ = proc.communicate(timeout=max(60.0, self.duration))
            step.end = time.time()
            hosts = _parse_grepable(stdout.decode("utf-8", "replace"))
            step.ok = proc.returncode == 0
            if planned.kind == "nmap-sweep":
                self.found_hosts = sorted(ip for ip in hosts if ip != atk.ip)
                step.details["hosts_up"] = self.found_hosts
            else:
                self.open_modbus = sorted(ip for ip, ports in hosts.items() if 502 in ports)
                step.details["open_ports"] = {ip: sorted(p) for ip, p in hosts.items()}
            victim_ips = set(self.found_hosts)
            step.victims = tuple(d.name for d in self.scenario.devices
                                 if d.ip in victim_ips) or planned.victims
            return step
        spec = dict(planned.agent_step, id=planned.step_id)
        if spec["action"] == "devid_sweep":
            spec["targets"] = self.open_modbus or [d.ip for d in PLCS]
            step.victims = tuple(d.name for d in self.scenario.devices
                                 if d.ip in spec["targets"])
        argv = _agent_argv("attacker", {"steps": [spec], "gap_s": 0.0})
        proc = topo.spawn(atk.name, argv, stdout=subprocess.PIPE,
                          stderr=self.log_file(planned.step_id), label=planned.step_id)
        wall_start = time.time()
        stdout, _ = proc.communicate(timeout=max(60.0, self.duration))
        wall_end = time.time()
        lines = [json.loads(x) for x in stdout.decode().splitlines() if x.startswith("{")]
        if lines:
            step.start, step.end = float(lines[0]["start"]), float(lines[0]["end"])
            step.ok = bool(lines[0]["ok"])
            step.details["result"] = lines[0]["result"]
        else:  # the agent died: fall back to the process's own window
            step.start, step.end, step.ok = wall_start, wall_end, False
        step.details["agent_step"] = planned.agent_step
        return step


def extras_available(wanted: tuple[str, ...]) -> dict[str, str | None]:
    """For each wanted extra: None when it can run, else why not."""
    out: dict[str, str | None] = {}
    for extra in wanted:
        if extra == "opcua":
            out[extra] = (None if importlib.util.find_spec("asyncua")
                          else "asyncua is not installed")
        elif extra == "mqtt":
            missing = [n for n, ok in (("paho-mqtt", importlib.util.find_spec("paho")),
                                        ("mosquitto", shutil.which("mosquitto"))) if not ok]
            out[extra] = f"{', '.join(missing)} not installed" if missing else None
        elif extra == "camera":
            out[extra] = None  # the Python standard library only
        elif extra == "bacnet":
            out[extra] = (None if importlib.util.find_spec("bacpypes3")
                          else "bacpypes3 is not installed")
        elif extra == "dhcp":
            missing_tools = dhcp_tools_missing()
            out[extra] = f"{', '.join(missing_tools)} not installed" if missing_tools else None
        else:
            out[extra] = f"unknown extra {extra}"
    return out


MOSQUITTO_CONF = """\
listener 1883 {ip}
allow_anonymous true
persistence false
user root
log_dest stderr
log_type error
log_type warning
log_type notice
"""


def _wait_for_text(path: Path, needle: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text(errors="replace"):
            return True
        time.sleep(0.05)
    return False


def _start_dhcp(topo: Topology, run: _Run) -> Device:
    """dnsmasq on infra, dhclient on the workstation; returns the workstation as it ended up
    (``addressing="static"`` when no lease came and the static fallback was applied)."""
    infra, wks = EXTRAS["dhcp"][0]
    work = run.logs / "dhcp"
    work.mkdir(exist_ok=True)
    topo.spawn(infra.name, dnsmasq_argv(infra.ip, NETWORK, [(wks.mac, wks.ip)], DHCP_LEASE_S,
                                        work), stderr=run.log_file(infra.name), label=infra.name)
    if not _wait_for_text(run.logs / f"{infra.name}.log", DNSMASQ_READY, 10.0):
        log.warning("dnsmasq did not report its DHCP range")
    write_dhclient_files(work, wks.hostname, WKS_VENDOR_CLASS)
    topo.spawn(wks.name, dhclient_argv(work), stdout=run.log_file(f"{wks.name}-out"),
               stderr=run.log_file(wks.name), label=wks.name)
    deadline = time.monotonic() + 15.0
    want = f"{wks.ip}/{PREFIX_LEN}"
    while time.monotonic() < deadline:
        if want in topo.addresses(wks.name):
            return wks
        time.sleep(0.1)
    run.echo(f"no DHCP lease for {wks.name} in 15 s: static {want} instead")
    topo.add_address(wks.name, wks.ip, PREFIX_LEN)
    return replace(wks, addressing="static")


def _start_extras(topo: Topology, run: _Run, extras: list[str], seed: int) -> None:
    if "opcua" in extras:
        hist, rpt = EXTRAS["opcua"][0]
        proc = topo.spawn(hist.name, _agent_argv("opcua-server", {"ip": hist.ip, "seed": seed}),
                          stdout=subprocess.PIPE, stderr=run.log_file(hist.name),
                          label=hist.name)
        wait_for_line(proc, b"READY", 30.0)
        # A historian also collects from the controllers: read-only Modbus polling.
        plc_targets = [{"ip": d.ip, "unit_id": d.unit_id} for d in PLCS]
        proc = topo.spawn(hist.name, _agent_argv("hmi", {
            "targets": plc_targets, "poll_s": HISTORIAN_POLL_S, "write_every": 0,
            "seed": seed + 30}), stdout=subprocess.PIPE, stderr=run.log_file(hist.name + "-poll"),
            label=hist.name + "-poll")
        wait_for_line(proc, b"READY", 20.0)
        proc = topo.spawn(rpt.name, _agent_argv("opcua-client", {
            "server": hist.ip, "period_s": OPCUA_PERIOD_S}), stdout=subprocess.PIPE,
            stderr=run.log_file(rpt.name), label=rpt.name)
        wait_for_line(proc, b"READY", 30.0)
    if "mqtt" in extras:
        broker, *sensors = EXTRAS["mqtt"][0]
        conf = run.logs / "mosquitto.conf"
        conf.write_text(MOSQUITTO_CONF.format(ip=broker.ip))
        topo.spawn(broker.name, ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                   stderr=run.log_file(broker.name), label=broker.name)
        procs = []
        for index, dev in enumerate(sensors):
            measurement = "temperature" if index == 0 else "vibration"
            procs.append(topo.spawn(dev.name, _agent_argv("mqtt-sensor", {
                "broker": broker.ip, "client_id": dev.hostname, "seed": seed + 10 + index,
                "topic": f"plant/{dev.hostname}/{measurement}", "period_s": MQTT_PERIOD_S,
                "base": 21.0 if index == 0 else 2.5, "unit": "C" if index == 0 else "mm/s"}),
                stdout=subprocess.PIPE, stderr=run.log_file(dev.name), label=dev.name))
        for proc in procs:
            wait_for_line(proc, b"READY", 25.0)
    if "camera" in extras:
        cam, vms = EXTRAS["camera"][0]
        info = {"name": cam.hostname, "model": cam.model, "serial": CAM_SERIAL,
                "firmware": cam.firmware, "mac": cam.mac, "vendor": cam.vendor,
                "device_id": "48a5d7c2-1dd2-11b2-8b5a-4419b62c0550",
                "firmware_date": "build 220112"}
        proc = topo.spawn(cam.name, _agent_argv("camera", {
            "ip": cam.ip, "info": info, "user": VMS_USER, "password": VMS_PASSWORD,
            "server_header": CAM_SERVER_HEADER}), stdout=subprocess.PIPE,
            stderr=run.log_file(cam.name), label=cam.name)
        wait_for_line(proc, b"READY", 15.0)
        proc = topo.spawn(vms.name, _agent_argv("vms", {
            "camera": cam.ip, "user": VMS_USER, "password": VMS_PASSWORD,
            "period_s": CAMERA_PERIOD_S, "seed": seed + 20}), stdout=subprocess.PIPE,
            stderr=run.log_file(vms.name), label=vms.name)
        wait_for_line(proc, b"READY", 15.0)
    if "bacnet" in extras:
        bac, bms = EXTRAS["bacnet"][0]
        proc = topo.spawn(bac.name, _agent_argv("bacnet-device", {
            "ip": bac.ip, "prefix_len": PREFIX_LEN, "instance": BAC_INSTANCE,
            "name": bac.hostname.upper(), "vendor_id": BAC_VENDOR_ID, "vendor": bac.vendor,
            "model": bac.model, "firmware": bac.firmware, "location": "AHU-1 plant room"}),
            stdout=subprocess.PIPE, stderr=run.log_file(bac.name), label=bac.name)
        wait_for_line(proc, b"READY", 15.0)
        proc = topo.spawn(bms.name, _agent_argv("bms", {
            "ip": bms.ip, "prefix_len": PREFIX_LEN, "target_instance": BAC_INSTANCE,
            "period_s": BACNET_PERIOD_S, "seed": seed + 30}), stdout=subprocess.PIPE,
            stderr=run.log_file(bms.name), label=bms.name)
        wait_for_line(proc, b"READY", 15.0)


def run_scenario(
    name: str,
    out: Path,
    duration: float = 30.0,
    seed: int = 1,
    echo: Callable[[str], None] = lambda _msg: None,
) -> Truth:
    """Run scenario ``name`` for about ``duration`` s; writes DIR/capture.pcap and truth.json."""
    if name not in SCENARIOS:
        raise LabError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")
    scenario = SCENARIOS[name]
    require_root_and_tools(scenario.tools)
    missing = [m for m in scenario.modules if importlib.util.find_spec(m) is None]
    if missing:
        raise LabError(f"scenario {name} needs {', '.join(missing)}: pip install 'otsight[lab]'")
    duration = max(duration, MIN_DURATION_S, scenario.min_duration_s)
    out.mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)
    pcap = out / "capture.pcap"
    pcap.unlink(missing_ok=True)
    run = _Run(scenario, out, duration, seed, echo)
    available = extras_available(scenario.extras)
    for extra, why in available.items():
        if why:
            echo(f"extra {extra} skipped: {why}")
    extras = [extra for extra, why in available.items() if why is None]
    devices = [*scenario.devices, *(d for e in extras for d in EXTRAS[e][0])]
    conversations = [*NORMAL_CONVERSATIONS, *(c for e in extras for c in EXTRAS[e][1])]
    run.by_name.update({d.name: d for d in devices})
    hosts = [Host(d.name, d.ip, PREFIX_LEN, d.mac, dhcp=d.addressing == "dhcp")
             for d in devices]
    steps: list[AttackStep] = []
    changes: list[BenignChange] = []
    topo = Topology(hosts)
    try:
        with topo:
            echo(f"topology up: run {topo.run_id}, {len(hosts)} namespaces + switch")
            tcpdump = topo.spawn(
                "sw", ["tcpdump", "-i", topo.bridge, "-U", "-n", "-s", "0", "-Z", "root",
                       "-w", str(pcap)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, label="tcpdump",
            )
            wait_for_line(tcpdump, b"listening on", 15.0, stream="stderr")
            capture_start = time.time()
            plc_targets = [{"ip": d.ip, "unit_id": d.unit_id} for d in PLCS]
            for index, dev in enumerate(PLCS):
                assert dev.identity is not None
                spec = {"ip": dev.ip, "unit_id": dev.unit_id, "seed": seed * 100 + index,
                        "identity": {
                            "vendor": dev.identity.vendor,
                            "product_code": dev.identity.product_code,
                            "revision": dev.identity.revision,
                            "vendor_url": dev.identity.vendor_url,
                            "product_name": dev.identity.product_name,
                            "model_name": dev.identity.model_name,
                            "user_application_name": dev.identity.user_application_name,
                        }}
                proc = topo.spawn(dev.name, _agent_argv("plc", spec), stdout=subprocess.PIPE,
                                  stderr=run.log_file(dev.name), label=dev.name)
                wait_for_line(proc, b"READY", 20.0)
            hmi = topo.spawn("hmi", _agent_argv("hmi", {
                "targets": plc_targets, "poll_s": HMI_POLL_S, "write_every": HMI_WRITE_EVERY,
                "seed": seed}), stdout=subprocess.PIPE, stderr=run.log_file("hmi"), label="hmi")
            ews = topo.spawn("ews", _agent_argv("ews", {
                "targets": plc_targets, "period_s": EWS_PERIOD_S, "seed": seed + 1}),
                stdout=subprocess.PIPE, stderr=run.log_file("ews"), label="ews")
            wait_for_line(hmi, b"READY", 20.0)
            wait_for_line(ews, b"READY", 20.0)
            _start_extras(topo, run, extras, seed)
            if "dhcp" in extras:
                wks = _start_dhcp(topo, run)
                devices = [wks if d.name == wks.name else d for d in devices]
            echo(f"plant running; capturing on {topo.switch_ns}/{topo.bridge} into {pcap}")
            t0 = time.monotonic()
            for planned in scenario.steps:
                delay = t0 + planned.at * duration - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                step = run.play(topo, planned)
                if planned.benign:
                    changes.append(BenignChange(
                        change_id=step.step_id, name=step.name, actor=step.attacker,
                        targets=step.victims, description=step.description, start=step.start,
                        end=step.end, details=step.details, ok=step.ok))
                else:
                    steps.append(step)
                echo(f"step {step.step_id} {step.name}: {step.end - step.start:.2f} s, "
                     f"{'ok' if step.ok else 'FAILED'}")
            delay = t0 + duration - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            for proc in (ews, hmi):
                topo.stop(proc)
            time.sleep(0.5)  # let the FIN/ACKs of the closing clients reach the capture
            capture_end = time.time()
            topo.stop(tcpdump, sig=signal.SIGINT, timeout=10.0)
    finally:
        run.close_logs()
    truth = Truth(
        scenario=name, seed=seed, network=NETWORK, bridge=f"{topo.switch_ns}/{topo.bridge}",
        capture_file=pcap.name, capture_start=capture_start, capture_end=capture_end,
        devices=devices, conversations=conversations, attack_steps=steps,
        tools={
            "pymodbus": _pymodbus_version(),
            "nmap": _tool_version(["nmap", "--version"]) if shutil.which("nmap") else "missing",
            "tcpdump": _tool_version(["tcpdump", "--version"]),
            "python": sys.version.split()[0],
            **({"scapy": _module_version("scapy")} if "scapy" in scenario.modules else {}),
            **({"asyncua": _module_version("asyncua")} if "opcua" in extras else {}),
            **({"paho-mqtt": _module_version("paho-mqtt"),
                "mosquitto": _tool_version(["mosquitto", "-h"])} if "mqtt" in extras else {}),
            **({"bacpypes3": _module_version("bacpypes3")} if "bacnet" in extras else {}),
            **({"dnsmasq": _tool_version(["dnsmasq", "--version"]),
                "dhclient": _tool_version(["dhclient", "--version"])} if "dhcp" in extras else {}),
        },
        benign_changes=changes,
    )
    (out / "truth.json").write_text(json.dumps(truth.to_dict(), indent=2) + "\n")
    return truth


def _pymodbus_version() -> str:
    return _module_version("pymodbus")


def _module_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "missing"
