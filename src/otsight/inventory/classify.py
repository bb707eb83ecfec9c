"""Roles and Purdue levels, each with a confidence and the evidence that produced it.

The classifier is a table of small rules. A rule looks at one :class:`Profile` and, when its
evidence is present, votes for a role with a weight and a sentence an analyst can check
("answers Modbus/TCP to 3 masters"). The role with the most weight wins; confidence grows with
the winner's weight and its margin over the runner-up. A second pass lets rules use the roles of
peers ("pulls snapshots from a camera" makes a recorder). New kinds of evidence are a new rule
function in :data:`RULES` (or :data:`PEER_RULES`) and, if needed, a new field in the profile.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from .model import ROLE_PURDUE, Evidence
from .profile import Profile

Vote = tuple[float, str]  # weight, sentence
Rule = Callable[[Profile], Vote | None]
PeerRule = Callable[[Profile, dict[str, str]], Vote | None]

CONTROLLER_SERVED = ("modbus", "s7comm", "s7comm_plus", "enip", "cip")
OUTSTATION_SERVED = ("dnp3", "iec104")
OT_CLIENT_PROTOCOLS = frozenset(
    {"modbus", "s7comm", "s7comm_plus", "enip", "cip", "dnp3", "iec104", "bacnet", "dcp"}
)
PROTOCOL_NAMES = {
    "modbus": "Modbus/TCP",
    "s7comm": "S7comm",
    "s7comm_plus": "S7comm-plus",
    "enip": "EtherNet/IP",
    "cip": "CIP",
    "dnp3": "DNP3",
    "iec104": "IEC 60870-5-104",
    "bacnet": "BACnet/IP",
    "opcua": "OPC UA",
    "mqtt": "MQTT",
    "coap": "CoAP",
    "http": "HTTP",
    "dcp": "Profinet DCP",
}
IT_SERVICE_PORTS = {
    53: "DNS",
    67: "DHCP",
    88: "Kerberos",
    123: "NTP",
    389: "LDAP",
    445: "SMB",
    1433: "SQL Server",
    3306: "MySQL",
    5432: "PostgreSQL",
    3389: "RDP",
    22: "SSH",
    25: "SMTP",
    514: "syslog",
}
ARP_SWEEP_MIN = 32
HMI_MIN_READS = 10
SCAN_MIN_HOSTS = 10
SCAN_MIN_PORTS = 20
FLOOD_MIN_CONNECTIONS = 100  # empty TCP connections to one service...
FLOOD_MIN_RATE = 10.0  # ...at this many a second on average: health checks come seconds apart
ADHOC_MAX_WRITES = 20  # more, and nothing read: a write loop (a peer pushing values), not a hand
# Writes that set a controller's data. A DNP3 or IEC 104 master's writes are mostly housekeeping
# (time sync, clearing indications), and masters_outstations names such a writer already.
DATA_WRITE_PROTOCOLS = OT_CLIENT_PROTOCOLS - set(OUTSTATION_SERVED)
ENGINEERING_CATEGORIES = ("program", "firmware", "configure", "diagnostic")
IT_PROTOCOLS = {"dhcp": "DHCP", "dns": "DNS", "ntp": "NTP", "ldap": "LDAP", "smb": "SMB"}
# port -> (role, what answers there, the dissector slug that would decode it)
OT_SERVICE_PORTS: dict[int, tuple[str, str, str]] = {
    502: ("plc", "Modbus/TCP", "modbus"),
    102: ("plc", "ISO-TSAP (S7comm or IEC 61850 MMS)", "s7comm"),
    44818: ("plc", "EtherNet/IP", "enip"),
    2222: ("plc", "EtherNet/IP I/O", "enip"),
    20000: ("rtu", "DNP3", "dnp3"),
    2404: ("rtu", "IEC 60870-5-104", "iec104"),
    4712: ("rtu", "IEEE C37.118 synchrophasor data (a PMU)", "c37118"),
    4713: ("rtu", "IEEE C37.118 synchrophasor data (a PMU)", "c37118"),
    5007: ("plc", "MELSEC (Mitsubishi)", "melsec"),
    5006: ("plc", "MELSEC (Mitsubishi)", "melsec"),
    9600: ("plc", "FINS (Omron)", "fins"),
    18245: ("plc", "GE SRTP", "srtp"),
    18246: ("plc", "GE SRTP", "srtp"),
    48898: ("plc", "ADS (Beckhoff TwinCAT)", "ads"),
    1962: ("plc", "PCWorx (Phoenix Contact)", "pcworx"),
    20547: ("plc", "ProConOS", "proconos"),
    1911: ("scada_server", "Niagara Fox", "fox"),
    4911: ("scada_server", "Niagara Fox (TLS)", "fox"),
    4840: ("scada_server", "OPC UA", "opcua"),
}
INDUSTRIAL_L2: dict[int, tuple[str, float, str]] = {
    0x88B8: ("rtu", 3.0, "publishes IEC 61850 GOOSE messages: a protection IED"),
    0x88BA: ("rtu", 3.0, "publishes IEC 61850 sampled values: a merging unit or IED"),
    0x8892: ("plc", 1.5, "sends Profinet real-time frames: a controller or IO device"),
    0x88A4: ("plc", 1.5, "sends EtherCAT frames: a controller or EtherCAT device"),
    0x88E3: ("switch", 2.0, "runs MRP ring redundancy: an industrial switch"),
    0x892F: ("switch", 1.5, "sends HSR-tagged frames: a redundancy box or switch"),
    0x88FB: ("switch", 1.0, "sends PRP supervision frames"),
}
PRINTER_PORTS = {9100: "JetDirect", 631: "IPP", 515: "LPD"}
CAMERA_VENDORS = re.compile(
    r"hikvision|axis communications|dahua|hanwha|vivotek|uniview|zhejiang uniview|mobotix|"
    r"bosch security|avigilon|hangzhou",
    re.I,
)
CAMERA_SERVERS = re.compile(r"hikvision|app-webs|dnvrs-webs|axis|dahua|ipcam|boa/|goahead", re.I)
IOT_VENDORS = re.compile(
    r"espressif|tuya|shelly|sonoff|itead|particle|nordic semi|silicon lab", re.I
)
FIREWALL_VENDORS = re.compile(
    r"fortinet|palo alto|check point|sonicwall|watchguard|barracuda|sophos|juniper", re.I
)
NETWORK_VENDORS = re.compile(
    r"cisco|hirschmann|moxa|ruggedcom|aruba|arista|extreme networks|netgear|tp-link|ubiquiti|"
    r"mikrotik|westermo|belden",
    re.I,
)
PLC_WORDS = re.compile(
    r"\bplc\b|\bcpu\b|modicon|simatic|s7-\d|controllogix|compactlogix|micrologix|pfc\d|"
    r"750-8\d\d|m340|m580|melsec|cj2|nx1p|x20cp|bmx p|programmable logic|desigo|pxc",
    re.I,
)
HOSTNAME_HINTS: tuple[tuple[re.Pattern[str], str, float], ...] = (
    (re.compile(r"plc", re.I), "plc", 1.0),
    (re.compile(r"rtu|\bied\b", re.I), "rtu", 1.0),
    (re.compile(r"hmi|scada-?ws|operator", re.I), "hmi", 1.0),
    (re.compile(r"\bews\b|ews-|eng-|engineering", re.I), "engineering_workstation", 2.0),
    (re.compile(r"hist", re.I), "historian", 1.5),
    (re.compile(r"scada|opc", re.I), "scada_server", 1.0),
    (re.compile(r"\bcam|ipcam|camera", re.I), "camera", 1.0),
    (re.compile(r"nvr|vms|recorder", re.I), "it_server", 1.0),
    (re.compile(r"sensor", re.I), "iot_sensor", 1.0),
    (re.compile(r"iot-?gw|gateway|broker", re.I), "iot_gateway", 1.0),
    (re.compile(r"print|prn", re.I), "printer", 1.0),
    (re.compile(r"\bfw\b|firewall", re.I), "firewall", 1.0),
    (re.compile(r"\bsw\b|switch", re.I), "switch", 1.0),
    (re.compile(r"router|\brtr\b", re.I), "router", 1.0),
    (re.compile(r"srv|server|\bdc\d|infra", re.I), "it_server", 1.0),
    (re.compile(r"wks|desktop|laptop|\bpc\b", re.I), "it_workstation", 0.5),
)


def _name(protocol: str) -> str:
    return PROTOCOL_NAMES.get(protocol, protocol)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _ip_key(ip: str) -> tuple[int, ...]:
    return tuple(int(x) for x in ip.split(".")) if "." in ip else (1 << 16,)


# ---------------------------------------------------------------------------- server rules
def serves_controller_protocol(p: Profile) -> Vote | None:
    served = [(len(p.serves[x]), x) for x in CONTROLLER_SERVED if p.serves.get(x)]
    if not served:
        return None
    n, proto = max(served)
    return 3.0, f"answers {_name(proto)} to {_plural(n, 'master')}"


def serves_outstation_protocol(p: Profile) -> Vote | None:
    served = [(len(p.serves[x]), x) for x in OUTSTATION_SERVED if p.serves.get(x)]
    if not served:
        return None
    n, proto = max(served)
    return 3.0, f"answers {_name(proto)} as an outstation to {_plural(n, 'master')}"


def serves_bacnet_device(p: Profile) -> Vote | None:
    n = len(p.serves.get("bacnet", ()))
    if n == 0 or not (p.served_ops[("bacnet", "read")] or p.served_ops[("bacnet", "write")]):
        return None
    return 3.0, f"is a BACnet device whose objects {_plural(n, 'client')} read or write"


def serves_opcua(p: Profile) -> Vote | None:
    n = len(p.serves.get("opcua", ())) or p.port_clients(4840)
    if n == 0:
        return None
    return 2.0, f"serves OPC UA to {_plural(n, 'client')}"


def serves_opcua_history(p: Profile) -> Vote | None:
    vote = serves_opcua(p)
    return (1.5, vote[1] + " (historians expose their data this way)") if vote else None


def serves_mqtt(p: Profile) -> Vote | None:
    n = len(p.serves.get("mqtt", ())) or p.port_clients(1883, 8883)
    if n == 0:
        return None
    return 3.0, f"is an MQTT broker for {_plural(n, 'client')}"


def serves_coap(p: Profile) -> Vote | None:
    n = len(p.serves.get("coap", ()))
    return (2.0, f"answers CoAP to {_plural(n, 'client')}") if n else None


def camera_identity(p: Profile) -> Vote | None:
    for key in ("application", "model", "device_type"):
        text = p.attributes.get(key, "")
        if CAMERA_SERVERS.search(text):
            return 2.5, f"identifies as camera software ({key} {text!r})"
    if p.port_clients(554):
        return 2.5, "answers RTSP (554), the video streaming port of IP cameras"
    if p.vendor and CAMERA_VENDORS.search(p.vendor) and (p.ports or p.serves):
        return 2.0, f"made by {p.vendor}, a camera maker, and serves the network"
    return None


def serves_printing(p: Profile) -> Vote | None:
    names = [name for port, name in PRINTER_PORTS.items() if p.port_clients(port)]
    return (3.0, "answers printing services (" + ", ".join(names) + ")") if names else None


def serves_it(p: Profile) -> Vote | None:
    names = {name for port, name in IT_SERVICE_PORTS.items() if p.port_clients(port)}
    clients = sum(p.port_clients(port) for port in IT_SERVICE_PORTS)
    for proto, name in IT_PROTOCOLS.items():
        if p.serves.get(proto):
            names.add(name)
            clients = max(clients, len(p.serves[proto]))
    if not names:
        return None
    weight = 2.0 if clients >= 2 or len(names) >= 2 else 1.0
    return weight, f"serves {', '.join(sorted(names))} to {_plural(clients, 'client')}"


def serves_ot_port(p: Profile) -> list[tuple[str, Vote]]:
    """Industrial service ports that answered although no dissector decoded them (GE SRTP,
    MELSEC, FINS, MMS, C37.118...): weaker than content, better than nothing."""
    out: list[tuple[str, Vote]] = []
    decoded = set(p.serves)
    for (transport, port), clients in p.ports.items():
        known = OT_SERVICE_PORTS.get(port)
        if known is None or clients == 0:
            continue
        role, name, protocol = known
        if protocol in decoded:
            continue  # the content rule already spoke
        out.append((role, (1.5, f"answers {name} ({transport}/{port}) to "
                                f"{_plural(clients, 'client')}")))
    return out


def industrial_link_layer(p: Profile) -> list[tuple[str, Vote]]:
    out: list[tuple[str, Vote]] = []
    for ethertype in sorted(p.ethertypes):
        known = INDUSTRIAL_L2.get(ethertype)
        if known is not None:
            role, weight, text = known
            out.append((role, (weight, text)))
    return out


# ---------------------------------------------------------------------------- client rules
def programs_controllers(p: Profile) -> Vote | None:
    n = p.ops("program", OT_CLIENT_PROTOCOLS) + p.ops("firmware", OT_CLIENT_PROTOCOLS)
    n += p.ops("configure", OT_CLIENT_PROTOCOLS)
    if n == 0:
        return None
    return 3.0, f"programs or configures controllers ({_plural(n, 'operation')})"


def diagnoses_controllers(p: Profile) -> Vote | None:
    n = p.ops("diagnostic", OT_CLIENT_PROTOCOLS)
    if n == 0:
        return None
    servers = sum(
        1 for cats in p.used_by_server.values() if cats.get("diagnostic")
    )
    # Operators' HMIs poll values; asking controllers who they are is engineering work.
    return 2.5, (
        f"reads device identification or diagnostics of {_plural(servers, 'controller')}"
    )


def polls_controllers(p: Profile) -> Vote | None:
    reads = p.ops("read", OT_CLIENT_PROTOCOLS)
    writes = p.ops("write", OT_CLIENT_PROTOCOLS)
    # An operator station reads far more than it writes; a few writes and nothing read is not
    # supervision (and is what the detectors look at).
    if reads < HMI_MIN_READS or reads < writes:
        return None
    servers = p.uses_any(*OT_CLIENT_PROTOCOLS)
    protos = sorted(_name(x) for x in OT_CLIENT_PROTOCOLS if p.uses.get(x))
    return 2.0, (
        f"polls {_plural(servers, 'device')} over {', '.join(protos)} "
        f"({reads} reads, {writes} writes)"
    )


def masters_outstations(p: Profile) -> Vote | None:
    n = p.uses_any(*OUTSTATION_SERVED)
    return (2.0, f"is the SCADA master of {_plural(n, 'outstation')}") if n else None


def publishes_telemetry(p: Profile) -> Vote | None:
    pubs = sum(n for (proto, cat), n in p.used_ops.items() if cat == "publish")
    if pubs == 0 or p.serves:
        return None
    return 2.0, f"publishes telemetry ({_plural(pubs, 'message')}) and serves nothing"


def opcua_client(p: Profile) -> Vote | None:
    n = p.uses_any("opcua") or sum(c for (t, port), c in p.client_ports.items() if port == 4840)
    return (1.0, f"reads an OPC UA server ({_plural(n, 'server')})") if n else None


def scans(p: Profile) -> Vote | None:
    if p.arp_targets >= ARP_SWEEP_MIN:
        return 3.0, (
            f"asks ARP for {_plural(p.arp_targets, 'address')}: a host sweep, the work of an IT "
            "tool, not of a control device"
        )
    if p.probed_hosts < SCAN_MIN_HOSTS and p.probed_ports < SCAN_MIN_PORTS:
        return None
    return 3.0, (
        f"probes {_plural(p.probed_hosts, 'host')} on {_plural(p.probed_ports, 'port')} that do "
        "not answer: network scanning, the work of an IT tool, not of a control device"
    )


# Attack-tool behaviour: what tools on a general-purpose computer do, never a PLC, HMI or switch
# doing its job. Each votes weakly: enough to name a host that shows nothing else, not to
# outvote what a device serves or polls.
def claims_others_addresses(p: Profile) -> Vote | None:
    if not p.arp_claims:
        return None
    claims = sorted(p.arp_claims.items(), key=lambda kv: _ip_key(kv[0]))
    shown = ", ".join(f"{ip} (which belongs to {owner})" for ip, (owner, _n) in claims[:3])
    more = f" and {len(claims) - 3} more" if len(claims) > 3 else ""
    n = sum(count for _owner, count in p.arp_claims.values())
    return 1.5, (
        f"claimed {shown}{more} in ARP ({_plural(n, 'message')}) while its owner kept using it: "
        "ARP spoofing, the work of an attack tool on a general-purpose computer"
    )


def floods_a_service(p: Profile) -> Vote | None:
    best: tuple[int, float, str, int, int] | None = None
    for (server, port), ec in p.empty_connections.items():
        rate = ec.flows / max(ec.last_ts - ec.first_ts, 1.0)
        if ec.flows < FLOOD_MIN_CONNECTIONS or rate < FLOOD_MIN_RATE:
            continue
        if best is None or ec.flows > best[0]:
            best = (ec.flows, rate, server, port, ec.answered)
    if best is None:
        return None
    flows, rate, server, port, answered = best
    where = f"[{server}]:{port}" if ":" in server else f"{server}:{port}"
    return 1.0, (
        f"opened {flows:,} TCP connections to {where} that carried no data ({rate:,.0f} a "
        f"second, {answered * 100 // flows}% accepted): a connection flood, the work of an "
        "attack tool on a general-purpose computer"
    )


def writes_without_reading(p: Profile) -> Vote | None:
    writes = p.ops("write", DATA_WRITE_PROTOCOLS)
    if writes == 0 or writes > ADHOC_MAX_WRITES or p.ops("read", OT_CLIENT_PROTOCOLS):
        return None  # reading is supervision: an HMI writes setpoints into values it reads
    if any(p.ops(cat, OT_CLIENT_PROTOCOLS) for cat in ENGINEERING_CATEGORIES):
        return None  # writes within engineering work
    if p.serves_any(*CONTROLLER_SERVED, *OUTSTATION_SERVED):
        return None  # a controller writing to its peers
    targets = [server for server, cats in p.used_by_server.items() if cats.get("write")]
    protos = sorted(
        {_name(x) for (x, cat) in p.used_ops if cat == "write" and x in DATA_WRITE_PROTOCOLS}
    )
    return 1.0, (
        f"wrote to {_plural(len(targets), 'device')} over {', '.join(protos)} "
        f"({_plural(writes, 'write')}) and read nothing: one-off commands from a tool, "
        "not an operator station's supervision"
    )


def it_client(p: Profile) -> Vote | None:
    if p.serves or p.ports:
        return None
    if not (p.used_ops or p.client_ports):
        return None
    return 0.5, "acts only as a client and serves nothing"


# ---------------------------------------------------------------------------- identity rules
def plc_identity(p: Profile) -> Vote | None:
    text = " ".join(
        p.attributes.get(k, "") for k in ("model", "device_type", "product_code", "application")
    )
    m = PLC_WORDS.search(text)
    return (2.0, f"identifies as a controller ({m.group(0)!r} in {text.strip()!r})") if m else None


def network_capabilities(p: Profile) -> Vote | None:
    caps = p.attributes.get("device_type", "").lower()
    if "router" in caps:
        return 3.0, f"announces router capability ({caps})"
    return None


def bridge_evidence(p: Profile) -> Vote | None:
    caps = p.attributes.get("device_type", "").lower()
    if p.stp_bpdus:
        return 3.0, f"sends spanning-tree BPDUs ({p.stp_bpdus})"
    if "bridge" in caps or "switch" in caps:
        return 3.0, f"announces bridge capability ({caps})"
    return None


def routes_many_hosts(p: Profile) -> Vote | None:
    return (4.0, "one MAC carries many IP addresses: a routing device") if p.is_router else None


def vendor_iot(p: Profile) -> Vote | None:
    if p.vendor and IOT_VENDORS.search(p.vendor):
        return 1.5, f"made by {p.vendor}, an IoT module maker"
    return None


def vendor_firewall(p: Profile) -> Vote | None:
    if p.vendor and FIREWALL_VENDORS.search(p.vendor):
        return 1.5, f"made by {p.vendor}, a firewall maker"
    return None


def vendor_network(p: Profile) -> Vote | None:
    if p.vendor and NETWORK_VENDORS.search(p.vendor) and not p.serves:
        return 0.5, f"made by {p.vendor}, a network equipment maker"
    return None


def windows_client(p: Profile) -> Vote | None:
    vc = p.attributes.get("dhcp_vendor_class", "")
    if vc.upper().startswith("MSFT"):
        return 1.0, f"Windows DHCP client ({vc})"
    return None


def hostname_hints(p: Profile) -> list[tuple[str, Vote]]:
    out: list[tuple[str, Vote]] = []
    for name in p.hostnames[:3]:
        for pattern, role, weight in HOSTNAME_HINTS:
            if pattern.search(name):
                out.append((role, (weight, f"host name {name!r} suggests it")))
    return out


RULES: tuple[tuple[str, Rule], ...] = (
    ("plc", serves_controller_protocol),
    ("rtu", serves_outstation_protocol),
    ("plc", serves_bacnet_device),
    ("scada_server", serves_opcua),
    ("historian", serves_opcua_history),
    ("iot_gateway", serves_mqtt),
    ("iot_sensor", serves_coap),
    ("camera", camera_identity),
    ("printer", serves_printing),
    ("it_server", serves_it),
    ("engineering_workstation", programs_controllers),
    ("engineering_workstation", diagnoses_controllers),
    ("hmi", polls_controllers),
    ("scada_server", masters_outstations),
    ("iot_sensor", publishes_telemetry),
    ("it_workstation", opcua_client),
    ("it_workstation", scans),
    ("it_workstation", it_client),
    ("it_workstation", claims_others_addresses),
    ("it_workstation", floods_a_service),
    ("it_workstation", writes_without_reading),
    ("it_workstation", windows_client),
    ("plc", plc_identity),
    ("router", network_capabilities),
    ("switch", bridge_evidence),
    ("router", routes_many_hosts),
    ("iot_sensor", vendor_iot),
    ("firewall", vendor_firewall),
    ("switch", vendor_network),
)


# ---------------------------------------------------------------------------- peer rules
def records_cameras(p: Profile, roles: dict[str, str]) -> Vote | None:
    cams = [s for s in p.uses.get("http", ()) if roles.get(s) == "camera"]
    return (3.0, f"pulls video or snapshots from {_plural(len(cams), 'camera')}") if cams else None


def polls_many_plcs_and_serves(p: Profile, roles: dict[str, str]) -> Vote | None:
    plcs = [s for s in p.used_by_server if roles.get(s) in ("plc", "rtu")]
    if len(plcs) >= 2 and (p.serves.get("opcua") or p.port_clients(4840, 1433, 5432, 3306)):
        return 2.0, f"collects data from {_plural(len(plcs), 'controller')} and serves it on"
    return None


PEER_RULES: tuple[tuple[str, PeerRule], ...] = (
    ("it_server", records_cameras),
    ("historian", polls_many_plcs_and_serves),
)


@dataclass(slots=True)
class RoleDecision:
    role: str
    confidence: float
    purdue_level: int | None
    evidence: list[Evidence]


def _votes(p: Profile) -> dict[str, list[Vote]]:
    votes: dict[str, list[Vote]] = {}
    for role, rule in RULES:
        vote = rule(p)
        if vote is not None:
            votes.setdefault(role, []).append(vote)
    for role, vote in (*hostname_hints(p), *serves_ot_port(p), *industrial_link_layer(p)):
        votes.setdefault(role, []).append(vote)
    return votes


def _peer_votes(
    p: Profile, own: dict[str, list[Vote]], roles: dict[str, str]
) -> dict[str, list[Vote]]:
    votes = own
    for role, peer_rule in PEER_RULES:
        vote = peer_rule(p, roles)
        if vote is not None:
            if votes is own:
                votes = {r: list(v) for r, v in own.items()}
            votes.setdefault(role, []).append(vote)
    return votes


def _ranked(votes: dict[str, list[Vote]]) -> tuple[list[str], dict[str, float]]:
    scores = {role: sum(w for w, _ in vs) for role, vs in votes.items()}
    return sorted(scores, key=lambda r: (-scores[r], r)), scores


def _role(votes: dict[str, list[Vote]]) -> str:
    """The first pass's answer: only the role (peer rules need nothing more)."""
    if not votes:
        return "unknown"
    ranked, scores = _ranked(votes)
    return ranked[0] if scores[ranked[0]] >= 1.0 else "unknown"


def _decide(p: Profile, votes: dict[str, list[Vote]], ts: float) -> RoleDecision:
    if not votes:
        return RoleDecision("unknown", 0.0, None, [])
    ranked, scores = _ranked(votes)
    best = ranked[0]
    top = scores[best]
    second = scores[ranked[1]] if len(ranked) > 1 else 0.0
    if top < 1.0:
        role = "unknown"
        confidence = 0.0
    else:
        role = best
        # Grows with the evidence's weight, shrinks when another role is almost as supported.
        strength = 1.0 - math.exp(-top / 2.0)
        margin = (top - second) / top
        confidence = round(strength * (0.5 + 0.5 * margin), 2)
    evidence = [
        Evidence("role", f"{text} -> {r}", "classifier", ts, w)
        for r in ranked
        for w, text in votes[r]
    ]
    return RoleDecision(role, confidence, purdue_level(role, p), evidence)


def purdue_level(role: str, p: Profile) -> int | None:
    """Level by role; IT roles that talk to control devices sit in site operations (3)."""
    level = ROLE_PURDUE.get(role)
    if role in ("it_workstation", "it_server") and (
        p.uses_any(*OT_CLIENT_PROTOCOLS, "opcua") or p.serves_any("opcua")
    ):
        return 3
    return level


def classify(profiles: dict[str, Profile], ts: dict[str, float]) -> dict[str, RoleDecision]:
    """Two passes: own evidence first, then rules that look at the peers' roles."""
    own = {aid: _votes(p) for aid, p in profiles.items()}
    roles = {aid: _role(v) for aid, v in own.items()}
    out: dict[str, RoleDecision] = {}
    for aid, p in profiles.items():
        out[aid] = _decide(p, _peer_votes(p, own.pop(aid), roles), ts.get(aid, 0.0))
    return out
