"""The inventory's vocabulary: facts protocols reveal, and the assets built from them.

Two kinds of facts come out of protocol events (see :mod:`otsight.inventory.facts`):

- an :class:`Observation` says something a device *is* (vendor, model, firmware, hostname...),
  with the protocol it came from and how far that source is trusted for that attribute;
- an :class:`Activity` says something a device *did* to another one (read registers, downloaded
  a block, published to a broker...), which is what roles are inferred from.

An :class:`Asset` is one real device: its identities merged, its attributes chosen by source
reliability (conflicts kept), its role and Purdue level each with a confidence and evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# What an Observation can be about. ``mac``/``ip`` observations bind addresses together (ARP,
# DHCP); ``hostname`` binds a name to the address(es) given.
ATTRIBUTES = (
    "mac",
    "ip",
    "hostname",
    "vendor",
    "model",
    "product_code",
    "firmware",
    "hardware_version",
    "serial",
    "device_name",  # a name the operator gave the device (PLC station name, sysName, BACnet name)
    "os",
    "device_type",  # a kind the device announces (DCP role, CIP device type, LLDP capabilities)
    "application",  # the program the device runs (Modbus user application name, S7 module name)
    "dhcp_fingerprint",  # DHCP parameter request list, for OS/device fingerprinting
    "dhcp_vendor_class",
    "ja4",  # TLS client fingerprint
)

# Kinds of Activity: what one device did to another, coarse enough to classify roles.
CATEGORIES = (
    "read",  # process values, registers, points, tags
    "write",  # process values, registers, setpoints, commands to outputs
    "program",  # program/logic/block download or upload
    "firmware",  # firmware update
    "control",  # start/stop/restart/mode change, reinitialise, communication control
    "diagnostic",  # identification, SZL/status reads, diagnostics
    "discovery",  # who-is, identify, list identity, M-SEARCH, scans
    "configure",  # set address/name (DCP Set), configuration writes
    "session",  # connection and session set-up (hello, open secure channel, S7 setup)
    "publish",  # MQTT PUBLISH, unsolicited reports
    "subscribe",
    "login",  # authentication (cleartext or not)
    "browse",  # HTTP browsing, DNS lookups: ordinary client traffic
    "other",
)

ROLES = (
    "plc",
    "rtu",  # RTU / IED (DNP3 outstations, IEC-104 controlled stations)
    "hmi",
    "engineering_workstation",
    "historian",
    "scada_server",  # OPC/SCADA server
    "switch",
    "router",
    "firewall",
    "iot_sensor",
    "iot_gateway",  # MQTT broker / IoT gateway
    "camera",
    "printer",
    "it_workstation",
    "it_server",
    "unknown",
)

# Purdue levels: 0 process, 1 basic control, 2 supervisory, 3 site operations, 3.5 is written as
# 3 with zone "dmz" by the zoning analysis (not here), 4-5 enterprise.
ROLE_PURDUE: dict[str, int | None] = {
    "plc": 1,
    "rtu": 1,
    "hmi": 2,
    "engineering_workstation": 2,
    "historian": 3,
    "scada_server": 2,
    "switch": None,
    "router": None,
    "firewall": None,
    "iot_sensor": 1,
    "iot_gateway": 2,
    "camera": 2,
    "printer": 4,
    "it_workstation": 4,
    "it_server": 4,
    "unknown": None,
}


@dataclass(frozen=True, slots=True)
class Observation:
    """A protocol revealed an attribute of the device at ``ip`` and/or ``mac``.

    ``reliability`` (0-100) ranks sources for one attribute: a device describing itself in an
    identification service (Modbus 43/14, CIP ListIdentity, S7 SZL, BACnet device object, DCP)
    is trusted more than a banner or a DHCP vendor class, which beat a guess from the OUI.
    """

    ts: float
    attribute: str  # one of ATTRIBUTES
    value: str
    source: str  # "<protocol>/<what>", e.g. "modbus/device-identification", "dhcp/hostname"
    reliability: int
    ip: str | None = None
    mac: str | None = None
    frame: int = 0


@dataclass(frozen=True, slots=True)
class Activity:
    """``client`` did ``operation`` (of ``category``) to ``server`` over ``protocol``.

    Client and server are the protocol's roles (master/outstation, client/server, publisher/
    broker); the device that answers or is acted on is the server. Link-layer protocols give
    MACs instead of IPs. ``server_port`` is the service port when the transport has one.
    """

    ts: float
    protocol: str
    category: str  # one of CATEGORIES
    operation: str  # the event's action, e.g. "write-single-register", "plc-stop"
    client_ip: str | None = None
    server_ip: str | None = None
    client_mac: str | None = None
    server_mac: str | None = None
    server_port: int | None = None
    transport: str | None = None  # "tcp" | "udp" | None for link-layer protocols
    frame: int = 0


Fact = Observation | Activity


@dataclass(slots=True)
class Evidence:
    """Why otsight believes something about an asset: a sentence and where it came from."""

    claim: str  # what it supports: "role", "vendor", "firmware", ...
    text: str  # e.g. "answers Modbus/TCP on 502 to 3 masters"
    source: str
    ts: float
    weight: float = 1.0


@dataclass(slots=True)
class Conflict:
    """Two sources disagreed on an attribute; the more reliable one won."""

    attribute: str
    kept: str
    kept_source: str
    other: str
    other_source: str


@dataclass(slots=True)
class Service:
    """Something the asset answers: protocol, transport and port, and who used it."""

    protocol: str
    transport: str
    port: int
    clients: int = 0


@dataclass(slots=True)
class Asset:
    """One device, as otsight understands it after the capture(s)."""

    asset_id: str  # stable across runs: "mac:<mac>" for L2-visible devices, else "ip:<ip>"
    macs: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)
    hostnames: list[str] = field(default_factory=list)
    vendor: str | None = None  # from identification services, else from the MAC's OUI
    model: str | None = None
    firmware: str | None = None
    serial: str | None = None
    device_name: str | None = None
    os: str | None = None
    role: str = "unknown"
    role_confidence: float = 0.0
    purdue_level: int | None = None
    is_router: bool = False  # a MAC carrying many IPs: a gateway, hosts behind it are by IP
    first_seen: float = 0.0
    last_seen: float = 0.0
    protocols: list[str] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    peers: int = 0
    packets: int = 0
    bytes: int = 0
    attributes: dict[str, str] = field(default_factory=dict)  # every other chosen attribute
    evidence: list[Evidence] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
