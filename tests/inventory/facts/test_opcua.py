"""OPC UA facts: hello and open secure channel are sessions, readable service requests by
service, the server URI of a reverse hello; responses and encrypted chunks give nothing."""

from __future__ import annotations

import struct
from pathlib import Path

from .helpers import CLIENT, SERVER, Tcp, acts, facts, observed

NONE_POLICY = b"http://opcfoundation.org/UA/SecurityPolicy#None"
BASIC256 = b"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256"


def _s(b: bytes | None) -> bytes:
    return struct.pack("<i", -1) if b is None else struct.pack("<i", len(b)) + b


def chunk(kind: bytes, body: bytes) -> bytes:
    return kind + b"F" + struct.pack("<I", 8 + len(body)) + body


def request_body(node: int, extra: bytes = b"") -> bytes:
    header = b"\x00\x00" + struct.pack("<qIIiI", 0, 1, 0, -1, 0) + b"\x00\x00\x00"
    return b"\x01\x00" + struct.pack("<H", node) + header + extra


def opn(policy: bytes, channel: int, body: bytes = b"") -> bytes:
    security = struct.pack("<I", channel) + _s(policy) + _s(None) + _s(None)
    return chunk(b"OPN", security + struct.pack("<II", 1, 1) + body)


def msg(node: int, request_id: int) -> bytes:
    return chunk(
        b"MSG", struct.pack("<IIII", 7, 1, request_id + 1, request_id) + request_body(node)
    )


def test_sessions_and_services(tmp_path: Path) -> None:
    conn = Tcp(sport=4840)
    hello = chunk(b"HEL", struct.pack("<IIIII", 0, 65536, 65536, 0, 0) + _s(b"opc.tcp://plc"))
    ack = chunk(b"ACK", struct.pack("<IIIII", 0, 65536, 65536, 0, 0))
    messages = [
        (True, hello),
        (False, ack),
        (True, opn(NONE_POLICY, 0, request_body(446, struct.pack("<III", 0, 0, 1)))),
        (True, msg(461, 2)),  # CreateSession
        (True, msg(467, 3)),  # ActivateSession
        (True, msg(527, 4)),  # Browse
        (True, msg(631, 5)),  # Read
        (True, msg(673, 6)),  # Write
        (True, msg(787, 7)),  # CreateSubscription
        (True, msg(712, 8)),  # Call
    ]
    found = facts(tmp_path, conn.exchange(*messages))
    assert {(p, cl, sv) for p, _c, _op, cl, sv in acts(found)} == {("opcua", CLIENT, SERVER)}
    assert [(c, op) for _p, c, op, _cl, _sv in acts(found)] == [
        ("session", "hello"),
        ("session", "OpenSecureChannelRequest"),
        ("session", "CreateSessionRequest"),
        ("login", "ActivateSessionRequest"),
        ("browse", "BrowseRequest"),
        ("read", "ReadRequest"),
        ("write", "WriteRequest"),
        ("subscribe", "CreateSubscriptionRequest"),
        ("write", "CallRequest"),
    ]
    assert not observed(found)


def test_encrypted_channel_and_reverse_hello(tmp_path: Path) -> None:
    conn = Tcp(sport=4840)
    encrypted = chunk(b"MSG", struct.pack("<II", 7, 3) + bytes(range(120)))
    messages = [
        (True, opn(BASIC256, 0, bytes(200))),  # an encrypted issue request: still the client
        (False, opn(BASIC256, 7, bytes(200))),  # its response (channel id assigned): nothing
        (True, encrypted),
    ]
    found = facts(tmp_path, conn.exchange(*messages))
    assert acts(found) == [("opcua", "session", "open-secure-channel", CLIENT, SERVER)]
    # a reverse hello: the server connects out and names itself
    rhe = chunk(b"RHE", _s(b"urn:plant:plc-7:UaServer") + _s(b"opc.tcp://plc-7:4840"))
    back = Tcp(client=SERVER, server=CLIENT, cport=4840, sport=51000)
    found = facts(tmp_path, back.exchange((True, rhe)))
    assert observed(found) == {("application", "urn:plant:plc-7:UaServer", SERVER, None, 60)}
