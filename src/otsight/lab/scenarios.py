"""The plant and the scenarios played on it.

The plant (192.0.2.0/24, a documentation range; the namespaces have no route anywhere else):

==========  ============  =================================  =======  ==========================
name        IP            MAC prefix (vendor)                 Purdue   role
==========  ============  =================================  =======  ==========================
plc1        192.0.2.10    00:80:F4 (Telemecanique/Schneider)  1        Modbus/TCP server, tank
plc2        192.0.2.11    00:30:DE (WAGO)                     1        Modbus/TCP server, pumps
hmi         192.0.2.20    00:14:22 (Dell)                     2        polls both PLCs every 1 s
ews         192.0.2.21    3C:D9:2B (HP)                       2        reads identity + config
atk         192.0.2.66    B8:27:EB (Raspberry Pi)             -        attacker (attack scenarios)
==========  ============  =================================  =======  ==========================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .model import Conversation, Device, Identity

NETWORK = "192.0.2.0/24"
PREFIX_LEN = 24

PLC1 = Device(
    name="plc1", role="plc", ip="192.0.2.10", mac="00:80:f4:3a:1c:01",
    vendor="Schneider Electric", model="Modicon M340 BMX P34 2020", firmware="v3.10",
    purdue_level=1, hostname="plc-tank1", services=("modbus/tcp:502",),
    identity=Identity(
        vendor="Schneider Electric", product_code="BMX P34 2020", revision="v3.10",
        vendor_url="www.se.com", product_name="Modicon M340", model_name="BMX P34 2020",
        user_application_name="TANK1_CTRL",
    ),
)
PLC2 = Device(
    name="plc2", role="plc", ip="192.0.2.11", mac="00:30:de:0b:44:02",
    vendor="WAGO", model="PFC200 750-8202", firmware="03.10.08(22)",
    purdue_level=1, hostname="plc-pump2", services=("modbus/tcp:502",),
    identity=Identity(
        vendor="WAGO Kontakttechnik GmbH & Co. KG", product_code="750-8202",
        revision="03.10.08", vendor_url="www.wago.com", product_name="PFC200 CS 2ETH RS",
        model_name="750-8202", user_application_name="PUMP_STATION2",
    ),
)
HMI = Device(
    name="hmi", role="hmi", ip="192.0.2.20", mac="00:14:22:5e:a0:10",
    vendor="Dell", model="OptiPlex 7090 (SCADA HMI)", firmware="Debian 12 / pymodbus client",
    purdue_level=2, hostname="hmi-01",
)
EWS = Device(
    name="ews", role="engineering_workstation", ip="192.0.2.21", mac="3c:d9:2b:71:0e:21",
    vendor="HP", model="ZBook 15 G6 (engineering workstation)",
    firmware="Debian 12 / pymodbus client", purdue_level=2, hostname="ews-01",
)
ATTACKER = Device(
    name="atk", role="attacker", ip="192.0.2.66", mac="b8:27:eb:9d:3e:66",
    vendor="Raspberry Pi Foundation", model="Raspberry Pi 3 Model B", firmware="Kali Linux",
    purdue_level=None, hostname="kali", attacker=True,
)

PLANT: tuple[Device, ...] = (PLC1, PLC2, HMI, EWS)
PLCS: tuple[Device, ...] = (PLC1, PLC2)

HMI_POLL_S = 1.0
HMI_WRITE_EVERY = 8
EWS_PERIOD_S = 6.0

NORMAL_CONVERSATIONS: tuple[Conversation, ...] = tuple(
    conv
    for plc in PLCS
    for conv in (
        Conversation(
            client="hmi", server=plc.name, protocol="modbus", transport="tcp", port=502,
            function_codes=(1, 3, 4, 6), period_s=HMI_POLL_S,
            description="HMI polls setpoints (FC3), measurements (FC4), pump/valve coils (FC1) "
            f"over one persistent connection; every {HMI_WRITE_EVERY} polls trims the "
            "high-level setpoint inside 780-840 mm (FC6 to holding register 0)",
        ),
        Conversation(
            client="ews", server=plc.name, protocol="modbus", transport="tcp", port=502,
            function_codes=(3, 43), period_s=EWS_PERIOD_S,
            description="engineering workstation reads device identification (FC43/MEI14, "
            "basic and regular) and the configuration block (FC3, 10 registers), new "
            "connections each time",
        ),
    )
)


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """An attack step: when it starts (fraction of the duration) and what it runs."""

    step_id: str
    name: str
    at: float
    technique_ids: tuple[str, ...]
    victims: tuple[str, ...]
    description: str
    kind: str  # "nmap-sweep", "nmap-ports", "agent"
    agent_step: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    devices: tuple[Device, ...]
    steps: tuple[PlannedStep, ...] = ()
    tools: tuple[str, ...] = ("ip", "tcpdump")


RECON_STEPS: tuple[PlannedStep, ...] = (
    PlannedStep(
        step_id="recon-1", name="host discovery sweep", at=0.25, technique_ids=("T0846",),
        victims=tuple(d.name for d in PLANT), kind="nmap-sweep",
        description=f"nmap -sn -n -T4 {NETWORK} (ARP ping sweep of the plant subnet)",
    ),
    PlannedStep(
        step_id="recon-2", name="OT port scan", at=0.45, technique_ids=("T0846", "T0840"),
        victims=tuple(d.name for d in PLANT), kind="nmap-ports",
        description="nmap -n -Pn -sS -T4 -p 502,102,44818,20000 against the hosts found",
    ),
    PlannedStep(
        step_id="recon-3", name="Modbus device-identification sweep", at=0.65,
        technique_ids=("T0888",), victims=tuple(d.name for d in PLCS), kind="agent",
        agent_step={"action": "devid_sweep"},
        description="FC43/MEI14 read device identification (basic and regular) of every "
        "host with 502/tcp open",
    ),
)

MANIPULATION_STEPS: tuple[PlannedStep, ...] = (
    PlannedStep(
        step_id="manip-1", name="unauthorised single-register write", at=0.25,
        technique_ids=("T0855", "T0836"), victims=("plc1",), kind="agent",
        agent_step={"action": "write_register", "target": PLC1.ip, "address": 2, "value": 100},
        description="FC6 from a new host: plc1 pump speed (HR 2) 75 -> 100 %",
    ),
    PlannedStep(
        step_id="manip-2", name="unauthorised multiple-register write", at=0.4,
        technique_ids=("T0855", "T0836"), victims=("plc2",), kind="agent",
        agent_step={"action": "write_registers", "target": PLC2.ip, "address": 0,
                    "values": [950, 50]},
        description="FC16 from a new host: plc2 high/low setpoints (HR 0-1) to 950/50 mm",
    ),
    PlannedStep(
        step_id="manip-3", name="out-of-range setpoint", at=0.55,
        technique_ids=("T0836", "T0855"), victims=("plc1",), kind="agent",
        agent_step={"action": "write_register", "target": PLC1.ip, "address": 0,
                    "value": 5000},
        description="FC6: plc1 high-level setpoint (HR 0, valid 0-1000 mm) to 5000",
    ),
    PlannedStep(
        step_id="manip-4", name="force listen-only mode", at=0.75,
        technique_ids=("T0814", "T0855"), victims=("plc2",), kind="agent",
        agent_step={"action": "force_listen_only", "target": PLC2.ip},
        description="FC8 sub-function 4 (Force Listen Only Mode) to plc2; plc2 stops answering "
        "(also the HMI) for the rest of the run",
    ),
)

SCENARIOS: dict[str, Scenario] = {
    "normal": Scenario(
        name="normal",
        description="2 Modbus PLCs, an HMI polling them, an engineering workstation",
        devices=PLANT,
    ),
    "recon": Scenario(
        name="recon",
        description="normal plus an attacker: nmap host sweep, OT port scan, Modbus "
        "device-identification sweep",
        devices=(*PLANT, ATTACKER), steps=RECON_STEPS, tools=("ip", "tcpdump", "nmap"),
    ),
    "manipulation": Scenario(
        name="manipulation",
        description="normal plus unauthorised FC6/FC16 writes from a new host, an out-of-range "
        "setpoint and FC8 force-listen-only",
        devices=(*PLANT, ATTACKER), steps=MANIPULATION_STEPS,
    ),
}
