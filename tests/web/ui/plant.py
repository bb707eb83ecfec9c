"""A small plant as the pipeline would store it, for the UI tests and their screenshots.

Enterprise hosts, a historian, HMIs and an engineering workstation, PLCs and an RTU, MQTT
sensors and a camera; an attacker at 192.0.2.66 who scans, spoofs ARP, writes registers and
stops a PLC; a cleartext Telnet login to a switch; and one asset whose hostname, taken off the
network, is a script tag.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from otsight.alerts.model import Alert, AlertEvidence
from otsight.inventory.model import ROLE_PURDUE, Asset, Conflict, Evidence, Service
from otsight.store import save_alerts, save_assets, save_conversations, transaction
from otsight.store.records import Conversation
from otsight.store.triage import change_status, create_incident
from otsight.store.users import add_user, create_token

T0 = 1_715_680_800.0  # 2024-05-14 10:00:00 UTC
XSS = "<script>alert(1)</script>"
ATTACKER = "192.0.2.66"
ROLES = ("viewer", "analyst", "admin")


@dataclass(frozen=True)
class Host:
    key: str
    ip: str
    mac: str
    role: str
    hostname: str | None = None
    vendor: str | None = None
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    services: tuple[tuple[str, str, int], ...] = ()


HOSTS = (
    Host("corp-ws", "10.10.4.21", "3c:52:82:10:04:21", "it_workstation", "corp-ws-21", "HP"),
    Host("erp", "10.10.4.5", "00:50:56:10:04:05", "it_server", "erp-app01", "VMware",
         services=(("http", "tcp", 443),)),
    Host("printer", "10.10.4.40", "00:1b:a9:10:04:40", "printer", "prn-office", "Brother"),
    Host("historian", "10.10.3.10", "00:15:5d:10:03:10", "historian", "hist-01", "Microsoft",
         "OSIsoft PI", services=(("opcua", "tcp", 4840),)),
    Host("hmi-1", "10.10.2.11", "00:0c:29:10:02:11", "hmi", "hmi-line1", "Dell", "Optiplex 7080"),
    Host("hmi-2", "10.10.2.12", "00:0c:29:10:02:12", "hmi", "hmi-line2", "Dell", "Optiplex 7080"),
    Host("ews", "10.10.2.20", "00:0c:29:10:02:20", "engineering_workstation", "eng-ws",
         "Dell", "Precision 3660"),
    Host("scada", "10.10.2.30", "00:0c:29:10:02:30", "scada_server", "scada-srv",
         "Kepware", "KEPServerEX 6", services=(("opcua", "tcp", 4840),)),
    Host("broker", "10.10.2.40", "b8:27:eb:10:02:40", "iot_gateway", "mqtt-gw",
         "Raspberry Pi", services=(("mqtt", "tcp", 1883),)),
    Host("camera", "10.10.2.50", "c0:56:e3:10:02:50", "camera", "cam-gate", "Hikvision",
         "DS-2CD2143G2", "V5.7.3", services=(("http", "tcp", 80),)),
    Host("plc-1", "10.10.1.11", "00:1d:9c:10:01:11", "plc", "plc-pump", "Rockwell Automation",
         "1756-L61", "20.11", "0x6A1B22F3", (("enip", "tcp", 44818), ("modbus", "tcp", 502))),
    Host("plc-2", "10.10.1.12", "00:1b:1b:10:01:12", "plc", "plc-mixer", "Siemens",
         "S7-1214C", "V4.4", "S C-X4U421302019", (("s7comm", "tcp", 102),)),
    Host("plc-3", "10.10.1.13", "00:80:f4:10:01:13", "plc", "plc-valves", "Schneider Electric",
         "M241", "5.1.9", services=(("modbus", "tcp", 502),)),
    Host("plc-4", "10.10.1.14", "00:80:f4:10:01:14", "plc", None, "Schneider Electric",
         "M221", "1.6.2", services=(("modbus", "tcp", 502),)),
    Host("rtu", "10.10.1.30", "00:20:4a:10:01:30", "rtu", "rtu-sub1", "SEL", "RTAC 3530",
         services=(("dnp3", "tcp", 20000),)),
    Host("sensor-1", "10.10.1.51", "24:0a:c4:10:01:51", "iot_sensor", "temp-tank1", "Espressif"),
    Host("sensor-2", "10.10.1.52", "24:0a:c4:10:01:52", "iot_sensor", "temp-tank2", "Espressif"),
    Host("switch", "10.10.0.2", "00:1e:bd:10:00:02", "switch", "core-sw", "Cisco",
         services=(("telnet", "tcp", 23),)),
    Host("router", "10.10.0.1", "00:1e:bd:10:00:01", "router", "gw", "Cisco"),
    Host("attacker", ATTACKER, "02:42:c0:00:02:42", "unknown", None, None),
    Host("xss", "10.10.2.99", "00:0c:29:10:02:99", "unknown", XSS, XSS, XSS),
)  # fmt: skip


def asset_id(host: Host) -> str:
    return f"mac:{host.mac}"


def asset(host: Host, n: int) -> Asset:
    first = T0 + 2 * n
    return Asset(
        asset_id=asset_id(host),
        macs=[host.mac],
        ips=[host.ip],
        hostnames=[host.hostname] if host.hostname else [],
        vendor=host.vendor,
        model=host.model,
        firmware=host.firmware,
        serial=host.serial,
        role=host.role,
        role_confidence=0.0 if host.role == "unknown" else 0.6 + (n % 4) / 10,
        purdue_level=ROLE_PURDUE[host.role],
        first_seen=first,
        last_seen=T0 + 590 - n,
        protocols=sorted({p for p, _, _ in host.services}),
        services=[Service(p, t, port, clients=1 + n % 3) for p, t, port in host.services],
        peers=2 + n % 5,
        packets=1000 + 37 * n,
        bytes=90_000 + 5311 * n,
        evidence=[
            Evidence("role", f"answers {p} on {port}", f"{p}/server", first)
            for p, _, port in host.services
        ]
        + (
            [Evidence("vendor", f"MAC prefix of {host.vendor}", "oui", first)]
            if host.vendor
            else []
        ),
        conflicts=(
            [Conflict("vendor", host.vendor or "", "enip/list-identity", "Cisco", "oui")]
            if host.key == "plc-1"
            else []
        ),
    )


def conv(
    client: str, server: str, protocol: str, port: int, packets: int, n: int = 0
) -> Conversation:
    by_key = {h.key: h for h in HOSTS}
    c, s = by_key[client], by_key[server]
    return Conversation(
        client=c.ip,
        server=s.ip,
        protocol=protocol,
        transport="udp" if protocol in ("dns", "dhcp", "bacnet") else "tcp",
        port=port,
        packets=packets,
        bytes=packets * 74,
        first_seen=T0 + 5 + n,
        last_seen=T0 + 580 - n,
        flows=1 + packets // 500,
        source="lab-day",
    )


CONVERSATIONS = (
    ("hmi-1", "plc-1", "modbus", 502, 4800),
    ("hmi-1", "plc-3", "modbus", 502, 4200),
    ("hmi-2", "plc-2", "s7comm", 102, 3900),
    ("hmi-2", "plc-4", "modbus", 502, 3100),
    ("ews", "plc-1", "enip", 44818, 900),
    ("ews", "plc-2", "s7comm", 102, 700),
    ("historian", "plc-1", "modbus", 502, 2400),
    ("historian", "plc-3", "modbus", 502, 2300),
    ("historian", "scada", "opcua", 4840, 3000),
    ("scada", "rtu", "dnp3", 20000, 1600),
    ("sensor-1", "broker", "mqtt", 1883, 1200),
    ("sensor-2", "broker", "mqtt", 1883, 1150),
    ("corp-ws", "erp", "http", 443, 2600),
    ("corp-ws", "historian", "http", 443, 800),
    ("corp-ws", "printer", "http", 80, 120),
    ("hmi-1", "camera", "http", 80, 1900),
    ("ews", "switch", "telnet", 23, 160),
    ("hmi-1", "router", "dns", 53, 90),
    ("attacker", "plc-1", "modbus", 502, 240),
    ("attacker", "plc-3", "modbus", 502, 180),
    ("attacker", "plc-2", "s7comm", 102, 60),
    ("xss", "plc-4", "modbus", 502, 50),
)


def alert(
    n: int,
    detector: str,
    kind: str,
    severity: str,
    title: str,
    technique: tuple[str, str],
    src: str,
    dst: str | None,
    protocol: str,
    operation: str,
    **more: object,
) -> Alert:
    ts = T0 + 60 + 37 * n
    fields: dict[str, object] = {
        "alert_id": f"{detector}:{kind}:{n}",
        "ts": ts,
        "last_ts": ts + 12,
        "detector": detector,
        "kind": kind,
        "severity": severity,
        "title": title,
        "explanation": f"{title}. Seen in capture with packet evidence below.",
        "technique_id": technique[0],
        "technique": technique[1],
        "src_ip": src,
        "dst_ip": dst,
        "protocol": protocol,
        "count": 1 + n % 4,
        "evidence": (
            AlertEvidence(ts, 1000 + n, 40 + n, protocol, operation, f"{operation} by {src}"),
            AlertEvidence(ts + 0.25, 1003 + n, 40 + n, protocol, operation, "again"),
        ),
        "detected_ts": ts + 1.5,
    }
    fields.update(more)
    return Alert(**fields)  # type: ignore[arg-type]


ALERTS = (
    alert(1, "port-scan", "port-scan", "medium", f"Port scan of 10.10.1.0/24 from {ATTACKER}",
          ("T0846", "Remote System Discovery"), ATTACKER, None, "tcp", "syn"),
    alert(2, "arp-spoofing", "arp-spoofing", "high",
          "ARP spoofing: 02:42:c0:00:02:42 claims 10.10.1.11",
          ("T0830", "Adversary-in-the-Middle"), ATTACKER, "10.10.1.11", "arp", "arp-reply",
          src_mac="02:42:c0:00:02:42"),
    alert(3, "ot-commands", "modbus-write", "high",
          "Modbus register write to 10.10.1.11 from a new client",
          ("T0836", "Modify Parameter"), ATTACKER, "10.10.1.11", "modbus", "write-single-register"),
    alert(4, "ot-commands", "plc-stop", "critical", "PLC stop sent to 10.10.1.12",
          ("T0816", "Device Restart/Shutdown"), ATTACKER, "10.10.1.12", "s7comm", "plc-stop"),
    alert(5, "ot-commands", "listen-only", "critical",
          "Modbus listen-only mode forced on 10.10.1.13",
          ("T0814", "Denial of Service"), ATTACKER, "10.10.1.13", "modbus", "force-listen-only"),
    alert(6, "cleartext-credentials", "cleartext-credentials", "info",
          "Cleartext telnet login 'admin' from 10.10.2.20 to 10.10.0.2",
          ("T0859", "Valid Accounts"), "10.10.2.20", "10.10.0.2", "telnet", "login"),
    alert(7, "baseline", "new-connection", "low", "New connection 10.10.4.21 -> 10.10.3.10 (http)",
          ("T0886", "Remote Services"), "10.10.4.21", "10.10.3.10", "http", "request"),
    alert(8, "baseline", "new-connection", "medium", f"New talker {XSS} on modbus",
          ("T0846", "Remote System Discovery"), "10.10.2.99", "10.10.1.14", "modbus", "read"),
    alert(9, "ot-commands", "program-download", "high",
          "Program download to 10.10.1.11 from the engineering workstation",
          ("T0843", "Program Download"), "10.10.2.20", "10.10.1.11", "enip", "program-download"),
)  # fmt: skip

INCIDENT_ALERTS = ("arp-spoofing:arp-spoofing:2", "ot-commands:modbus-write:3",
                   "ot-commands:plc-stop:4")  # fmt: skip


def fill(sessions: sessionmaker[Session]) -> dict[str, str]:
    """Write the plant, its alerts and one incident; returns a token per role."""
    tokens: dict[str, str] = {}
    with transaction(sessions) as s:
        for role in ROLES:
            add_user(s, role, role, actor="test")
            tokens[role] = create_token(s, role, actor="test")
        save_assets(s, [asset(h, n) for n, h in enumerate(HOSTS)])
        save_conversations(s, [conv(*c, n=n) for n, c in enumerate(CONVERSATIONS)])
        save_alerts(s, ALERTS)
    with transaction(sessions) as s:
        create_incident(s, "Attack on line 1 PLCs", INCIDENT_ALERTS, actor="analyst")
        from otsight.store.triage import get_alert

        change_status(s, get_alert(s, "baseline:new-connection:7"), "expected", actor="analyst",
                      note="ERP reads the historian")  # fmt: skip
    return tokens
