"""DNS message parsing shared by DNS, mDNS, LLMNR and NBNS (RFC 1035 wire format).

Names are decompressed with bounded pointer chains (a loop or an over-long name is
:class:`Malformed`). NBNS first-level encoded names (RFC 1001 14.1) are decoded to the
15-character NetBIOS name and its suffix, rendered ``NAME<xx>`` as Wireshark does.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

from ...core.errors import Malformed, NeedMoreData
from .codes import class_name, type_name

MAX_POINTERS = 32  # compression pointers followed per name
MAX_NAME = 1024  # characters in a decoded name (DNS caps at 255; NBNS scopes are long)
MAX_RECORDS = 512  # records kept per section

_HEADER = struct.Struct(">HHHHHH")
_RR = struct.Struct(">HHIH")
_QUESTION = struct.Struct(">HH")


@dataclass(slots=True)
class Message:
    transaction_id: int
    flags: int
    qdcount: int
    ancount: int
    nscount: int
    arcount: int
    questions: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    authority: list[dict[str, Any]] = field(default_factory=list)
    additional: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # why the record sections stop early (questions parsed)
    trailing: int = 0  # bytes after the last record

    @property
    def is_response(self) -> bool:
        return bool(self.flags & 0x8000)

    def with_id(self, transaction_id: int) -> Message:
        """The same message under another transaction id (sections shared, not copied)."""
        if transaction_id == self.transaction_id:
            return self
        return Message(
            transaction_id,
            self.flags,
            self.qdcount,
            self.ancount,
            self.nscount,
            self.arcount,
            self.questions,
            self.answers,
            self.authority,
            self.additional,
            self.error,
            self.trailing,
        )

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def rcode(self) -> int:
        return self.flags & 0xF


def read_name(data: bytes, offset: int) -> tuple[str, int]:
    """The name at ``offset`` and the offset just after it in the message (not the pointer
    target). Labels are UTF-8 (bad bytes replaced); the root is ``""``."""
    # The same names come back in message after message, and a response points back at its
    # question's: a name read before is looked up by its bytes (see _KNOWN_NAMES), here and
    # at the target of a pointer, instead of being read label by label again.
    memo = type(data) is bytes  # (a bytearray slice can be no key)
    if memo:
        key = data[offset : data.find(0, offset) + 1]
        known = _KNOWN_NAMES.get(key)
        if known is not None:
            return known, offset + len(key)
    labels: list[str] = []
    end = -1
    hops = 0
    total = 0
    pos = offset
    n = len(data)
    while True:
        if pos >= n:
            raise Malformed("name runs past the message")
        length = data[pos]
        if length == 0:
            pos += 1
            break
        kind = length & 0xC0
        if kind == 0xC0:
            if pos + 1 >= n:
                raise Malformed("truncated compression pointer")
            target = (length & 0x3F) << 8 | data[pos + 1]
            if end < 0:
                end = pos + 2
            hops += 1
            if hops > MAX_POINTERS or target >= n:
                raise Malformed("compression pointer loop or out of range")
            pos = target
            if memo:
                key = data[pos : data.find(0, pos) + 1]
                known = _KNOWN_NAMES.get(key)
                if known is not None:  # the rest of the name: its labels, then the root
                    total += len(key) - 1
                    if total > MAX_NAME:
                        raise Malformed("name too long")
                    if known:
                        labels.append(known)
                    break
            continue
        if kind:
            raise Malformed(f"unsupported label type 0x{kind:02x}")
        pos += 1
        if pos + length > n:
            raise Malformed("label runs past the message")
        labels.append(data[pos : pos + length].decode("utf-8", "replace"))
        total += length + 1
        if total > MAX_NAME:
            raise Malformed("name too long")
        pos += length
    name = ".".join(labels)
    if end >= 0:
        return name, end
    if memo:
        if len(_KNOWN_NAMES) >= MAX_KNOWN_NAMES:
            _KNOWN_NAMES.clear()
        _KNOWN_NAMES[data[offset:pos]] = name
    return name, pos


# Names read without a pointer, by their bytes: the labels and the zero that ends them. Reading
# a name depends on nothing but the bytes read, so where the bytes at an offset up to the first
# zero are a key, the name there is its value and ends after them, whatever surrounds them.
# (A key begins with a label length or the root: bytes beginning with a pointer never match.)
_KNOWN_NAMES: dict[bytes, str] = {}
MAX_KNOWN_NAMES = 1024  # then all are forgotten at once (bounds memory: a key is < 1 KiB)


def netbios_decode(label: str) -> tuple[str, int] | None:
    """A 32-character first-level encoded label -> (name without padding, suffix byte)."""
    if len(label) != 32:
        return None
    raw = bytearray()
    for i in range(0, 32, 2):
        hi = ord(label[i]) - 65
        lo = ord(label[i + 1]) - 65
        if not (0 <= hi < 16 and 0 <= lo < 16):
            return None
        raw.append(hi << 4 | lo)
    return printable(bytes(raw[:15])).rstrip(" "), raw[15]


def printable(raw: bytes) -> str:
    """NetBIOS name bytes as text, non-printable bytes as ``<xx>`` (as Wireshark shows them)."""
    return "".join(chr(b) if 0x20 <= b < 0x7F else f"<{b:02x}>" for b in raw)


def netbios_name(name: str) -> str:
    """``EOGFHEECEF...`` -> ``NAME<xx>`` (scope appended); other names unchanged."""
    first, _, scope = name.partition(".")
    decoded = netbios_decode(first)
    if decoded is None:
        return name
    text = f"{decoded[0]}<{decoded[1]:02x}>"
    return f"{text}.{scope}" if scope else text


def _ip6(raw: bytes) -> str:
    return str(ipaddress.IPv6Address(raw))


def _rdata(data: bytes, start: int, length: int, rtype: int, nbns: bool) -> dict[str, Any]:
    """Type-specific fields of a record's data (``data`` is a display string)."""
    rd = data[start : start + length]
    out: dict[str, Any] = {}
    if nbns and rtype == 32:  # NB: (flags, IPv4) pairs
        addrs = [".".join(str(b) for b in rd[i + 2 : i + 6]) for i in range(0, length - 5, 6)]
        out["addresses"] = addrs
        out["data"] = ",".join(addrs)
        if addrs:
            out["group"] = bool(rd[0] & 0x80)  # NB flags G bit: a group (workgroup) name
    elif nbns and rtype == 33:  # NBSTAT: node names of the answering host
        if length < 1:
            raise Malformed("empty NBSTAT")
        count = rd[0]
        names = []
        groups = []
        for i in range(count):
            entry = rd[1 + 18 * i : 19 + 18 * i]
            if len(entry) < 18:
                break
            names.append(f"{printable(entry[:15]).rstrip(' ')}<{entry[15]:02x}>")
            groups.append(bool(entry[16] & 0x80))  # name flags G bit
        out["names"] = names
        out["groups"] = groups
        if len(rd) >= 1 + 18 * count + 6:
            mac = rd[1 + 18 * count : 7 + 18 * count]
            out["mac"] = ":".join(f"{b:02x}" for b in mac)
        out["data"] = ",".join(names)
    elif rtype == 1 and length == 4:
        out["data"] = socket.inet_ntoa(rd)
    elif rtype == 28 and length == 16:
        out["data"] = _ip6(rd)
    elif rtype in (2, 5, 12, 39):  # NS, CNAME, PTR, DNAME
        out["data"] = read_name(data[: start + length], start)[0]
    elif rtype == 15 and length >= 3:  # MX
        out["preference"] = rd[0] << 8 | rd[1]
        out["data"] = read_name(data[: start + length], start + 2)[0]
    elif rtype == 33 and length >= 7:  # SRV
        priority, weight, port = struct.unpack_from(">HHH", rd)
        target = read_name(data[: start + length], start + 6)[0]
        out.update(priority=priority, weight=weight, port=port, target=target)
        out["data"] = f"{priority} {weight} {port} {target}"
    elif rtype in (16, 13):  # TXT, HINFO: character-strings
        strings = []
        i = 0
        while i < length:
            n = rd[i]
            if i + 1 + n > length:
                raise Malformed("character-string runs past the record")
            strings.append(rd[i + 1 : i + 1 + n].decode("utf-8", "replace"))
            i += 1 + n
        if rtype == 13:
            out["cpu"] = strings[0] if strings else ""
            out["os"] = strings[1] if len(strings) > 1 else ""
            out["data"] = " ".join(strings)
        else:
            out["txt"] = strings
            out["data"] = ",".join(strings)
    elif rtype == 6:  # SOA
        mname, pos = read_name(data[: start + length], start)
        rname, pos = read_name(data[: start + length], pos)
        out["data"] = f"{mname} {rname}"
    else:
        out["data"] = rd.hex()
    return out


def _records(
    data: bytes, pos: int, count: int, nbns: bool, mdns: bool, out: list[dict[str, Any]]
) -> int:
    for _ in range(count):
        name, pos = read_name(data, pos)
        if pos + 10 > len(data):
            raise Malformed("truncated resource record")
        rtype, rclass, ttl, rdlength = _RR.unpack_from(data, pos)
        pos += 10
        if pos + rdlength > len(data):
            raise Malformed("record data runs past the message")
        record: dict[str, Any] = {
            "name": netbios_name(name) if nbns else name,
            "type": type_name(rtype, nbns),
            "type_code": rtype,
            "class": class_name(rclass & 0x7FFF if mdns else rclass),
            "ttl": ttl,
        }
        if mdns and rclass & 0x8000 and rtype != 41:
            record["cache_flush"] = True
        if rtype == 41:  # EDNS OPT: class is the UDP payload size
            record["class"] = rclass
            record["data"] = ""
        else:
            record.update(_rdata(data, pos, rdlength, rtype, nbns))
        if len(out) < MAX_RECORDS:
            out.append(record)
        pos += rdlength
    return pos


# Messages parsed before, by everything after their transaction id, per (nbns, mdns). A network
# asks the same questions again and again (the same host, name and type every few seconds;
# mDNS and NBNS announcements repeat word for word) and often gets the same answers; and the
# family's probes and then the chosen dissector parse the same datagram several times over.
# Parsing depends on nothing but the bytes, so a repeat costs a lookup (and a copy of the
# header under another id). Messages are never changed after parsing, so sharing one is safe.
# Only short messages are remembered, and the memo is forgotten at once when full (bounded
# memory); of longer ones only the last per flavour is kept, for the repeated parses of one
# datagram. Only immutable ``bytes`` are remembered.
_BODIES: dict[tuple[bool, bool], dict[bytes, Message]] = {}
MAX_BODIES = 1024  # messages remembered per flavour
MAX_BODY = 512  # bytes: the classic UDP limit, which nearly every query and most answers fit
_RECENT: dict[tuple[bool, bool], tuple[bytes, Message]] = {}  # the last longer message


def parse(data: bytes, nbns: bool = False, mdns: bool = False) -> Message:
    """Parse one DNS-format message. Header or question errors raise :class:`Malformed`
    (:class:`NeedMoreData` under 12 bytes); record errors end the sections (``error``)."""
    if type(data) is not bytes or len(data) < 12:
        return _parse(data, nbns, mdns)
    key = (nbns, mdns)
    if len(data) > MAX_BODY:
        recent = _RECENT.get(key)
        if recent is not None and recent[0] == data:
            return recent[1]
        msg = _parse(data, nbns, mdns)
        _RECENT[key] = (data, msg)
        return msg
    bodies = _BODIES.get(key)
    if bodies is None:
        bodies = _BODIES[key] = {}
    body = data[2:]
    known = bodies.get(body)
    if known is None:
        msg = _parse(data, nbns, mdns)
        if len(bodies) >= MAX_BODIES:
            bodies.clear()
    else:
        msg = known.with_id(data[0] << 8 | data[1])
    bodies[body] = msg  # under the latest id: parsing this datagram again returns it as is
    return msg


def _parse(data: bytes, nbns: bool, mdns: bool) -> Message:
    if len(data) < 12:
        raise NeedMoreData("DNS header is 12 bytes")
    msg = Message(*_HEADER.unpack_from(data))
    pos = 12
    for _ in range(msg.qdcount):
        name, pos = read_name(data, pos)
        if pos + 4 > len(data):
            raise Malformed("truncated question")
        qtype, qclass = _QUESTION.unpack_from(data, pos)
        pos += 4
        question: dict[str, Any] = {
            "name": netbios_name(name) if nbns else name,
            "type": type_name(qtype, nbns),
            "type_code": qtype,
            "class": class_name(qclass & 0x7FFF if mdns else qclass),
        }
        if mdns:
            question["unicast_response"] = bool(qclass & 0x8000)
        if nbns and (decoded := netbios_decode(name.partition(".")[0])) is not None:
            question["netbios_name"], question["suffix"] = decoded
        if len(msg.questions) < MAX_RECORDS:
            msg.questions.append(question)
    try:  # (a query has no records: its empty sections are not walked)
        if msg.ancount:
            pos = _records(data, pos, msg.ancount, nbns, mdns, msg.answers)
        if msg.nscount:
            pos = _records(data, pos, msg.nscount, nbns, mdns, msg.authority)
        if msg.arcount:
            pos = _records(data, pos, msg.arcount, nbns, mdns, msg.additional)
        msg.trailing = len(data) - pos
    except Malformed as exc:
        msg.error = str(exc)
    return msg


def plausibility(data: bytes, nbns: bool = False, any_opcode: bool = False) -> float:
    """0..1: how much ``data`` looks like one DNS-format message (strict: exact parse).
    Unassigned opcodes score 0 unless ``any_opcode`` (then lower, for port-bound variants)."""
    if len(data) < 12:
        return 0.0
    qd, an, ns, ar = struct.unpack_from(">HHHH", data, 4)
    if qd + an + ns + ar == 0 or qd > 512 or an + ns + ar > 2048:
        return 0.0
    flags = data[2] << 8 | data[3]
    if flags & 0x0040:  # Z bit must be zero
        return 0.0
    opcode = (flags >> 11) & 0xF
    if nbns and an == 0 and (len(data) == 12 or data[12] != 32):
        return 0.0  # a question that is not a 32-byte NetBIOS-encoded name: not NBNS
    try:
        msg = parse(data, nbns=nbns)
    except (Malformed, NeedMoreData):
        return 0.0
    if msg.error is not None or msg.trailing > 0:
        return 0.0
    if nbns:
        names = [q.get("netbios_name") for q in msg.questions]
        names += [r["name"] for r in msg.answers + msg.authority + msg.additional]
        encoded = msg.questions[0].get("netbios_name") is not None if msg.questions else False
        if not encoded and msg.answers:
            encoded = msg.answers[0]["name"].find("<") > 0
        return 0.55 if encoded and names else 0.0
    if opcode not in (0, 1, 2, 4, 5):
        return 0.4 if any_opcode else 0.0
    return 0.62 if qd >= 1 or an >= 1 else 0.5
