"""DNS code tables (RFC 1035 and successors) with an ``unknown-N`` fallback."""

from __future__ import annotations

OPCODES: dict[int, str] = {0: "query", 1: "iquery", 2: "status", 4: "notify", 5: "update", 6: "dso"}
RCODES: dict[int, str] = {
    0: "no-error",
    1: "format-error",
    2: "server-failure",
    3: "name-error",
    4: "not-implemented",
    5: "refused",
    6: "yx-domain",
    7: "yx-rrset",
    8: "nx-rrset",
    9: "not-auth",
    10: "not-zone",
}
TYPES: dict[int, str] = {
    1: "A",
    2: "NS",
    5: "CNAME",
    6: "SOA",
    10: "NULL",
    12: "PTR",
    13: "HINFO",
    15: "MX",
    16: "TXT",
    28: "AAAA",
    32: "NB",
    33: "SRV",  # NBSTAT in NBNS
    35: "NAPTR",
    39: "DNAME",
    41: "OPT",
    43: "DS",
    46: "RRSIG",
    47: "NSEC",
    48: "DNSKEY",
    50: "NSEC3",
    64: "SVCB",
    65: "HTTPS",
    99: "SPF",
    251: "IXFR",
    252: "AXFR",
    255: "ANY",
    257: "CAA",
}
NBNS_TYPES: dict[int, str] = {32: "NB", 33: "NBSTAT", 10: "NULL", 1: "A", 2: "NS"}
CLASSES: dict[int, str] = {1: "IN", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"}
NBNS_OPCODES: dict[int, str] = {
    0: "query",
    5: "registration",
    6: "release",
    7: "wack",
    8: "refresh",
    9: "refresh",
    15: "multi-homed-registration",
}
NETBIOS_SUFFIXES: dict[int, str] = {
    0x00: "workstation",
    0x03: "messenger",
    0x06: "ras-server",
    0x1B: "domain-master-browser",
    0x1C: "domain-controllers",
    0x1D: "master-browser",
    0x1E: "browser-election",
    0x20: "file-server",
    0x21: "ras-client",
}


# The fallback name is formatted only for a code the table lacks (``get(code, f"...")`` would
# format it for every message): these run once per question, record and message.


def type_name(code: int, nbns: bool = False) -> str:
    name = (NBNS_TYPES if nbns else TYPES).get(code)
    return f"unknown-{code}" if name is None else name


def class_name(code: int) -> str:
    name = CLASSES.get(code)
    return f"unknown-{code}" if name is None else name


def opcode_name(code: int, nbns: bool = False) -> str:
    name = (NBNS_OPCODES if nbns else OPCODES).get(code)
    return f"unknown-{code}" if name is None else name


def rcode_name(code: int) -> str:
    name = RCODES.get(code)
    return f"unknown-{code}" if name is None else name
