"""Minimal DER reading of X.509 certificates: names, validity, key type and size.

Only what an inventory needs; no signature checking. Raises :class:`Malformed` only.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from ...core.errors import Malformed

OID_CN = "2.5.4.3"
OID_O = "2.5.4.10"
KEY_ALGORITHMS: dict[str, str] = {
    "1.2.840.113549.1.1.1": "rsa",
    "1.2.840.113549.1.1.10": "rsa-pss",
    "1.2.840.10045.2.1": "ec",
    "1.2.840.10040.4.1": "dsa",
    "1.3.101.110": "x25519",
    "1.3.101.111": "x448",
    "1.3.101.112": "ed25519",
    "1.3.101.113": "ed448",
}
FIXED_KEY_BITS = {"x25519": 256, "x448": 448, "ed25519": 256, "ed448": 456}
CURVES: dict[str, tuple[str, int]] = {
    "1.2.840.10045.3.1.7": ("secp256r1", 256),
    "1.3.132.0.34": ("secp384r1", 384),
    "1.3.132.0.35": ("secp521r1", 521),
    "1.3.132.0.10": ("secp256k1", 256),
    "1.2.840.10045.3.1.1": ("secp192r1", 192),
    "1.3.132.0.33": ("secp224r1", 224),
    "1.3.36.3.3.2.8.1.1.7": ("brainpoolP256r1", 256),
    "1.3.36.3.3.2.8.1.1.11": ("brainpoolP384r1", 384),
    "1.3.36.3.3.2.8.1.1.13": ("brainpoolP512r1", 512),
}
STRING_TAGS = {12: "utf-8", 19: "ascii", 22: "ascii", 20: "latin-1", 26: "ascii", 30: "utf-16-be"}


@dataclass(frozen=True, slots=True)
class Certificate:
    subject_cn: str | None
    subject_o: str | None
    issuer_cn: str | None
    issuer_o: str | None
    not_before: str | None  # ISO 8601, UTC
    not_after: str | None
    key_type: str
    key_bits: int | None
    curve: str | None
    self_signed: bool
    serial: str


def _tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the element at ``pos``."""
    if pos + 2 > end:
        raise Malformed("DER element truncated")
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        n = first & 0x7F
        if n == 0 or n > 4 or pos + n > end:
            raise Malformed("bad DER length")
        length = int.from_bytes(data[pos : pos + n], "big")
        pos += n
    if pos + length > end:
        raise Malformed("DER value overruns its container")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    out = []
    pos = start
    while pos < end:
        tag, vs, ve = _tlv(data, pos, end)
        out.append((tag, vs, ve))
        pos = ve
    return out


def _oid(value: bytes) -> str:
    if not value:
        raise Malformed("empty OID")
    parts = [value[0] // 40, value[0] % 40] if value[0] < 80 else [2, value[0] - 80]
    n = 0
    for b in value[1:]:
        n = n << 7 | (b & 0x7F)
        if not b & 0x80:
            parts.append(n)
            n = 0
    return ".".join(map(str, parts))


def _string(tag: int, value: bytes) -> str:
    return value.decode(STRING_TAGS.get(tag, "latin-1"), errors="replace")


def _name(data: bytes, start: int, end: int) -> dict[str, str]:
    """First value of each attribute type of a Name (RDNSequence)."""
    found: dict[str, str] = {}
    for _t, ss, se in _children(data, start, end):  # SET of AttributeTypeAndValue
        for _t2, as_, ae in _children(data, ss, se):
            parts = _children(data, as_, ae)
            if len(parts) < 2 or parts[0][0] != 0x06:
                raise Malformed("bad attribute in name")
            oid = _oid(data[parts[0][1] : parts[0][2]])
            tag, vs, ve = parts[1]
            found.setdefault(oid, _string(tag, data[vs:ve]))
    return found


def _time(tag: int, value: bytes) -> str | None:
    text = value.decode("ascii", errors="replace")
    try:
        if tag == 23:  # UTCTime YYMMDDHHMM[SS]Z
            year = int(text[:2])
            year += 2000 if year < 50 else 1900
            rest = text[2:]
        elif tag == 24:  # GeneralizedTime YYYYMMDDHHMM[SS]Z
            year = int(text[:4])
            rest = text[4:]
        else:
            return None
        month, day, hour, minute = (int(rest[i : i + 2]) for i in range(0, 8, 2))
        second = int(rest[8:10]) if rest[8:10].isdigit() else 0
        stamp = _dt.datetime(year, month, day, hour, minute, second, tzinfo=_dt.UTC)
    except ValueError:
        return None
    return stamp.isoformat().replace("+00:00", "Z")


def parse_certificate(der: bytes) -> Certificate:
    end = len(der)
    tag, cs, ce = _tlv(der, 0, end)
    if tag != 0x30:
        raise Malformed("certificate is not a SEQUENCE")
    tag, ts, te = _tlv(der, cs, ce)
    if tag != 0x30:
        raise Malformed("tbsCertificate is not a SEQUENCE")
    fields = _children(der, ts, te)
    if fields and fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    if len(fields) < 6:
        raise Malformed("tbsCertificate too short")
    serial_f, _sig, issuer_f, validity_f, subject_f, spki_f = fields[:6]
    issuer = _name(der, issuer_f[1], issuer_f[2])
    subject = _name(der, subject_f[1], subject_f[2])
    times = _children(der, validity_f[1], validity_f[2])
    not_before = _time(times[0][0], der[times[0][1] : times[0][2]]) if times else None
    not_after = _time(times[1][0], der[times[1][1] : times[1][2]]) if len(times) > 1 else None
    key_type, key_bits, curve = _public_key(der, spki_f[1], spki_f[2])
    return Certificate(
        subject_cn=subject.get(OID_CN),
        subject_o=subject.get(OID_O),
        issuer_cn=issuer.get(OID_CN),
        issuer_o=issuer.get(OID_O),
        not_before=not_before,
        not_after=not_after,
        key_type=key_type,
        key_bits=key_bits,
        curve=curve,
        self_signed=der[issuer_f[1] : issuer_f[2]] == der[subject_f[1] : subject_f[2]],
        serial=der[serial_f[1] : serial_f[2]].hex(),
    )


def _public_key(der: bytes, start: int, end: int) -> tuple[str, int | None, str | None]:
    parts = _children(der, start, end)
    if len(parts) < 2:
        raise Malformed("bad SubjectPublicKeyInfo")
    alg = _children(der, parts[0][1], parts[0][2])
    if not alg or alg[0][0] != 0x06:
        raise Malformed("bad key algorithm")
    oid = _oid(der[alg[0][1] : alg[0][2]])
    key_type = KEY_ALGORITHMS.get(oid, oid)
    _bt, bs, be = parts[1]
    if key_type in ("rsa", "rsa-pss") and be - bs > 1:
        seq = _children(der, bs + 1, be)  # skip the unused-bits byte
        if seq and seq[0][0] == 0x30:
            ints = _children(der, seq[0][1], seq[0][2])
            if ints and ints[0][0] == 0x02:
                modulus = der[ints[0][1] : ints[0][2]].lstrip(b"\0")
                return key_type, int.from_bytes(modulus, "big").bit_length(), None
        return key_type, None, None
    if key_type == "ec":
        if len(alg) > 1 and alg[1][0] == 0x06:
            curve_oid = _oid(der[alg[1][1] : alg[1][2]])
            name, bits = CURVES.get(curve_oid, (curve_oid, 0))
            return key_type, bits or None, name
        return key_type, None, None
    if key_type == "dsa" and len(alg) > 1 and alg[1][0] == 0x30:
        params = _children(der, alg[1][1], alg[1][2])
        if params and params[0][0] == 0x02:
            p = der[params[0][1] : params[0][2]].lstrip(b"\0")
            return key_type, int.from_bytes(p, "big").bit_length(), None
    return key_type, FIXED_KEY_BITS.get(key_type), None
