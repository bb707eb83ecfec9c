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

Extras of ``normal`` (each only when its packages/tools are installed; truth.json lists what ran):
opcua (hist .30, rpt .31), mqtt (mqtt .40, iot1 .41, iot2 .42), camera (cam1 .50 Hikvision
44:19:B6 HTTP camera, vms .51 pulling snapshots with Basic auth), dhcp (infra .2 dnsmasq, wks .60
leasing its address with dhclient, host name + vendor class "MSFT 5.0"), bacnet (bac1 .70 Siemens
00:A0:03 BACnet/IP controller, bms .71 doing Who-Is + ReadProperty).
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
    name="atk", role="it_workstation", ip="192.0.2.66", mac="b8:27:eb:9d:3e:66",
    vendor="Raspberry Pi Foundation", model="Raspberry Pi 3 Model B", firmware="Kali Linux",
    purdue_level=None, hostname="kali", attacker=True,
)

# Optional extras (started only when their packages are installed; see EXTRAS).
HIST = Device(
    name="hist", role="historian", ip="192.0.2.30", mac="00:14:22:7a:00:30",
    vendor="Dell", model="PowerEdge R250 (historian / SCADA server)",
    firmware="Debian 12 / asyncua OPC UA server", purdue_level=3, hostname="hist-01",
    services=("opcua/tcp:4840",),
)
RPT = Device(
    name="rpt", role="it_workstation", ip="192.0.2.31", mac="3c:d9:2b:71:0e:31",
    vendor="HP", model="EliteDesk 800 G6 (reporting client)",
    firmware="Debian 12 / asyncua OPC UA client", purdue_level=3, hostname="rpt-01",
)
BROKER = Device(
    name="mqtt", role="iot_gateway", ip="192.0.2.40", mac="dc:a6:32:10:00:40",
    vendor="Raspberry Pi Trading", model="Raspberry Pi 4 Model B (IoT gateway)",
    firmware="Debian 12 / mosquitto", purdue_level=2, hostname="iot-gw",
    services=("mqtt/tcp:1883",),
)
IOT1 = Device(
    name="iot1", role="iot_sensor", ip="192.0.2.41", mac="24:0a:c4:00:00:41",
    vendor="Espressif", model="ESP32 temperature sensor", firmware="paho-mqtt client",
    purdue_level=1, hostname="sensor-temp-1",
)
IOT2 = Device(
    name="iot2", role="iot_sensor", ip="192.0.2.42", mac="24:0a:c4:00:00:42",
    vendor="Espressif", model="ESP32 vibration sensor", firmware="paho-mqtt client",
    purdue_level=1, hostname="sensor-vib-2",
)
CAM = Device(
    name="cam1", role="camera", ip="192.0.2.50", mac="44:19:b6:2c:05:50",
    vendor="Hikvision", model="DS-2CD2143G2-I", firmware="V5.7.3 build 220112",
    purdue_level=2, hostname="cam-line1", services=("http/tcp:80",),
    # ISAPI deviceInfo (XML over HTTP) carries these; see agents/camera.py.
    reveals=(("vendor", "Hikvision"), ("model", "DS-2CD2143G2-I"),
             ("firmware", "V5.7.3 build 220112"),
             ("serial", "DS-2CD2143G2-I20220315AAWRJ87654321")),
)
CAM_SERIAL = "DS-2CD2143G2-I20220315AAWRJ87654321"
CAM_SERVER_HEADER = "App-webs/"
VMS = Device(
    name="vms", role="it_server", ip="192.0.2.51", mac="00:14:22:7a:00:51",
    vendor="Dell", model="PowerEdge T150 (VMS / NVR recorder)",
    firmware="Debian 12 / Python http.client", purdue_level=2, hostname="nvr-01",
)
VMS_USER = "vms-recorder"
VMS_PASSWORD = "lab-only-not-a-secret"  # fake, lab only; never written to truth.json
INFRA = Device(
    name="infra", role="it_server", ip="192.0.2.2", mac="00:14:22:7a:00:02",
    vendor="Dell", model="OptiPlex 3000 (plant DHCP/DNS server)", firmware="Debian 12 / dnsmasq",
    purdue_level=3, hostname="infra-01", services=("dhcp/udp:67",),
)
WKS = Device(
    name="wks", role="engineering_workstation", ip="192.0.2.60", mac="54:ee:75:3a:60:60",
    vendor="Lenovo", model="ThinkPad T14 (Windows engineering workstation)",
    firmware="Windows 10-like DHCP client (MSFT 5.0)", purdue_level=2, hostname="ENG-WKS-07",
    addressing="dhcp", reveals=(("hostname", "ENG-WKS-07"),),
)
WKS_VENDOR_CLASS = "MSFT 5.0"
DHCP_LEASE_S = 120
OPCUA_PERIOD_S = 2.0
HISTORIAN_POLL_S = 5.0
MQTT_PERIOD_S = 2.0
CAMERA_PERIOD_S = 2.0
BAC = Device(
    name="bac1", role="plc", ip="192.0.2.70", mac="00:a0:03:4c:70:70",
    vendor="Siemens Schweiz AG", model="Desigo PXC4.E16", firmware="V2.1.100",
    purdue_level=1, hostname="ahu1-ctrl", services=("bacnet/udp:47808",),
    # The BMS reads these properties of the device object (agents/bacnet.py).
    reveals=(("vendor", "Siemens Schweiz AG"), ("model", "Desigo PXC4.E16"),
             ("firmware", "V2.1.100"), ("device_name", "AHU1-CTRL")),
)
BAC_INSTANCE = 2701
BAC_VENDOR_ID = 7  # ASHRAE vendor id of Siemens Schweiz AG (formerly Landis & Staefa)
BMS = Device(
    name="bms", role="hmi", ip="192.0.2.71", mac="00:14:22:7a:00:71",
    vendor="Dell", model="OptiPlex 7010 (BMS operator workstation)",
    firmware="Debian 12 / bacpypes3 client", purdue_level=2, hostname="bms-ws-01",
)
BACNET_PERIOD_S = 4.0
EXTRAS: dict[str, tuple[tuple[Device, ...], tuple[Conversation, ...]]] = {
    "opcua": ((HIST, RPT), (Conversation(
        client="rpt", server="hist", protocol="opcua", transport="tcp", port=4840,
        function_codes=(), period_s=OPCUA_PERIOD_S,
        description="reporting client keeps one OPC UA session (no security) to the historian "
        "and reads three tags (ReadRequest) every 2 s"),
        *(Conversation(
            client="hist", server=plc.name, protocol="modbus", transport="tcp", port=502,
            function_codes=(1, 3, 4), period_s=HISTORIAN_POLL_S,
            description="historian collects setpoints (FC3), measurements (FC4) and coil states "
            "(FC1) over one persistent connection, never writes") for plc in (PLC1, PLC2)))),
    "mqtt": ((BROKER, IOT1, IOT2), tuple(Conversation(
        client=dev.name, server="mqtt", protocol="mqtt", transport="tcp", port=1883,
        function_codes=(3,), period_s=MQTT_PERIOD_S,
        description="IoT sensor publishes a JSON reading (QoS 0 PUBLISH, MQTT packet type 3) "
        "to plant/<sensor>/<measurement> every 2 s over one connection") for dev in (IOT1, IOT2))),
    "camera": ((CAM, VMS), (Conversation(
        client="vms", server="cam1", protocol="http", transport="tcp", port=80,
        function_codes=(), period_s=CAMERA_PERIOD_S, auth_user=VMS_USER,
        description="VMS/NVR keeps one HTTP/1.1 keep-alive connection to the camera and GETs "
        "/snapshot.jpg with HTTP Basic auth every 2 s (/ISAPI/System/deviceInfo first and "
        "every tenth cycle)"),)),
    "dhcp": ((INFRA, WKS), (Conversation(
        client="wks", server="infra", protocol="dhcp", transport="udp", port=67,
        function_codes=(1, 3), period_s=DHCP_LEASE_S / 2,
        description="the workstation leases its address from dnsmasq with dhclient "
        "(DISCOVER/REQUEST, DHCP message types 1 and 3, carrying host name (option 12) and "
        "vendor class 'MSFT 5.0' (option 60)); renews at half the 120 s lease"),)),
    "bacnet": ((BAC, BMS), (Conversation(
        client="bms", server="bac1", protocol="bacnet", transport="udp", port=47808,
        function_codes=(8, 12), period_s=BACNET_PERIOD_S,
        description="BMS broadcasts Who-Is for the controller's instance (unconfirmed service "
        "8), the controller answers I-Am, then the BMS reads object name, vendor name, model "
        "name, firmware revision and application software version of its device object "
        "(ReadProperty, confirmed service 12) every 4 s"),)),
}

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
    actor: str | None = None  # the device that runs it; None: the scenario's attacker
    benign: bool = False  # a documented legitimate change (truth.json benign_changes)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    devices: tuple[Device, ...]
    steps: tuple[PlannedStep, ...] = ()
    tools: tuple[str, ...] = ("ip", "tcpdump")
    modules: tuple[str, ...] = ("pymodbus",)  # Python packages the agents import
    min_duration_s: float = 5.0
    extras: tuple[str, ...] = ()  # keys of EXTRAS, started when their packages are present


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

MITM_STEP = PlannedStep(
    step_id="mitm-1", name="ARP-spoofing adversary in the middle (HMI <-> plc1)", at=0.3,
    technique_ids=("T0830",), victims=("hmi", "plc1"), kind="agent",
    agent_step={
        "action": "arp_mitm", "iface": "eth0", "mac": ATTACKER.mac,
        "a": {"ip": HMI.ip, "mac": HMI.mac}, "b": {"ip": PLC1.ip, "mac": PLC1.mac},
        "poison_s": 4.0, "interval_s": 0.5, "restore_count": 5,
    },
    description="scapy: unsolicited ARP replies every 0.5 s telling the HMI that plc1's IP is at "
    "the attacker's MAC and plc1 that the HMI's IP is; the attacker forwards IPv4 (ICMP "
    "redirects off) so polling goes on through it; then correct replies restore both caches",
)
DOS_STEP = PlannedStep(
    step_id="dos-1", name="TCP connection flood on plc1:502", at=0.35,
    technique_ids=("T0814",), victims=("plc1",), kind="agent",
    agent_step={"action": "conn_flood", "target": PLC1.ip, "port": 502, "count": 300,
                "seconds": 3.0, "hold_s": 1.0},
    description="300 TCP connections (plain sockets) opened to plc1 502/tcp over 3 s, held 1 s, "
    "then closed",
)
BENIGN_STEP = PlannedStep(
    step_id="maint-1", name="maintenance window: calibration read and low-setpoint change",
    at=0.35, technique_ids=(), victims=("plc1",), kind="agent", actor="ews", benign=True,
    agent_step={"action": "maintenance", "target": PLC1.ip, "read_address": 10,
                "read_count": 6, "reads": 3, "interval_s": 0.5, "write_address": 1,
                "write_value": 220},
    description="documented work order: the engineering workstation reads plc1's calibration "
    "block (HR 10-15, a range it never read before) and raises the low-level setpoint (HR 1) "
    "200 -> 220 mm (inside its normal band), then reads back",
)


def _at(step: PlannedStep, at: float) -> PlannedStep:
    return PlannedStep(step.step_id, step.name, at, step.technique_ids, step.victims,
                       step.description, step.kind, dict(step.agent_step), step.actor,
                       step.benign)


MIXED_STEPS: tuple[PlannedStep, ...] = (
    _at(RECON_STEPS[0], 0.08), _at(RECON_STEPS[1], 0.16), _at(RECON_STEPS[2], 0.24),
    _at(MITM_STEP, 0.33),
    _at(MANIPULATION_STEPS[0], 0.55), _at(MANIPULATION_STEPS[1], 0.63),
    _at(MANIPULATION_STEPS[2], 0.71), _at(MANIPULATION_STEPS[3], 0.85),
)

SCENARIOS: dict[str, Scenario] = {
    "normal": Scenario(
        name="normal",
        description="2 Modbus PLCs, an HMI polling them, an engineering workstation; plus (when "
        "installed) an OPC UA historian with a client, MQTT IoT sensors with a broker, an HTTP "
        "IP camera pulled by a VMS, a DHCP server leasing the Windows workstation's address and a "
        "BACnet/IP controller read by a BMS",
        devices=PLANT, extras=("opcua", "mqtt", "camera", "dhcp", "bacnet"),
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
    "mitm": Scenario(
        name="mitm",
        description="normal plus ARP spoofing between the HMI and plc1 (T0830), then restore",
        devices=(*PLANT, ATTACKER), steps=(MITM_STEP,), modules=("pymodbus", "scapy"),
        min_duration_s=12.0,
    ),
    "dos": Scenario(
        name="dos",
        description="normal plus a bounded TCP connection flood on plc1:502 (T0814)",
        devices=(*PLANT, ATTACKER), steps=(DOS_STEP,), min_duration_s=8.0,
    ),
    "benign-change": Scenario(
        name="benign-change",
        description="normal plus a documented maintenance window: the EWS reads a new register "
        "range and changes one setpoint (benign_changes, not an attack)",
        devices=PLANT, steps=(BENIGN_STEP,), min_duration_s=8.0,
    ),
    "mixed": Scenario(
        name="mixed",
        description="the whole plant of normal (extras included when installed) with recon, "
        "mitm and manipulation steps at known times (longer: 60 s or more recommended)",
        devices=(*PLANT, ATTACKER), steps=MIXED_STEPS, tools=("ip", "tcpdump", "nmap"),
        extras=("opcua", "mqtt", "camera", "dhcp", "bacnet"),
        modules=("pymodbus", "scapy"), min_duration_s=24.0,
    ),
}
