"""Well-known service ports: a hint for naming flows, never proof of the protocol."""

from __future__ import annotations

TCP_PORTS: dict[int, str] = {
    20: "ftp-data",
    21: "ftp",
    22: "ssh",
    23: "telnet",
    25: "smtp",
    53: "dns",
    80: "http",
    102: "s7comm/iso-tsap",
    110: "pop3",
    135: "msrpc",
    139: "netbios-ssn",
    143: "imap",
    443: "https",
    445: "smb",
    502: "modbus",
    1883: "mqtt",
    1911: "fox",
    2404: "iec-104",
    3389: "rdp",
    4840: "opc-ua",
    5900: "vnc",
    8080: "http-alt",
    8443: "https-alt",
    8883: "mqtt-tls",
    9600: "omron-fins",
    18245: "ge-srtp",
    20000: "dnp3",
    44818: "enip",
    48898: "ads",
    5007: "melsec",
    789: "redlion",
    1962: "pcworx",
    2455: "codesys",
    11740: "codesys",
    4000: "emerson-roc",
    5094: "hart-ip",
    10001: "atg",
    4911: "fox-tls",
}
UDP_PORTS: dict[int, str] = {
    53: "dns",
    67: "dhcp",
    68: "dhcp",
    69: "tftp",
    123: "ntp",
    137: "nbns",
    138: "netbios-dgm",
    161: "snmp",
    162: "snmp-trap",
    500: "ike",
    514: "syslog",
    546: "dhcpv6",
    547: "dhcpv6",
    1900: "ssdp",
    2222: "enip-io",
    2404: "iec-104",
    3702: "ws-discovery",
    4789: "vxlan",
    5353: "mdns",
    5355: "llmnr",
    5683: "coap",
    9600: "omron-fins",
    20000: "dnp3",
    34964: "profinet-cm",
    44818: "enip",
    47808: "bacnet",
    48899: "ads-discovery",
    5094: "hart-ip",
    6343: "sflow",
    4754: "gtp",
    319: "ptp",
    320: "ptp",
}
IP_PROTOCOLS: dict[int, str] = {
    1: "icmp",
    2: "igmp",
    4: "ipip",
    6: "tcp",
    17: "udp",
    41: "ipv6-in-ip",
    47: "gre",
    50: "esp",
    51: "ah",
    58: "icmpv6",
    89: "ospf",
    103: "pim",
    112: "vrrp",
    132: "sctp",
}
ETHERTYPES: dict[int, str] = {
    0x0800: "ipv4",
    0x0806: "arp",
    0x86DD: "ipv6",
    0x88CC: "lldp",
    0x8892: "profinet",
    0x88B8: "goose",
    0x88BA: "sv",
    0x88F7: "ptp",
    0x8899: "realtek",
    0x88E3: "mrp",
    0x8100: "vlan",
    0x88A4: "ethercat",
    0x892F: "hsr",
    0x88FB: "prp",
    0x8863: "pppoe-disc",
    0x8864: "pppoe",
    0x0842: "wol",
    0x88E5: "macsec",
    0x888E: "eapol",
    0x8809: "slow-protocols",
    0x9000: "loopback",
    0x2000: "cdp",
    0x010B: "pvstp",
}


def service_name(proto: int, port: int) -> str | None:
    """Name of a well-known port for TCP (6) or UDP (17), or None."""
    if proto == 6:
        return TCP_PORTS.get(port)
    if proto == 17:
        return UDP_PORTS.get(port)
    return None


def proto_name(proto: int) -> str:
    return IP_PROTOCOLS.get(proto, f"ip-proto-{proto}")


def ethertype_name(ethertype: int) -> str:
    return ETHERTYPES.get(ethertype, f"ethertype-0x{ethertype:04x}")
