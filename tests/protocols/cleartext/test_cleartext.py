"""Telnet and FTP cleartext logins: real capture, hand-made sessions, fuzz."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otsight.capture.writer import PcapWriter
from otsight.core.plugins import FlowContext
from otsight.protocols.cleartext.dissector import FtpDissector, TelnetDissector, strip_telnet
from otsight.protocols.cleartext.events import CleartextCredential, FtpCommand, FtpReply
from otsight.testing.corpus import shared_data
from otsight.testing.packets import tcp_frame
from otsight.testing.protocol_oracle import dissect

DATA = shared_data()
T0 = 1_767_225_600_000_000_000
CLIENT, SERVER = "192.0.2.30", "192.0.2.40"


def _session(path: Path, port: int, exchange: list[tuple[bool, bytes]]) -> None:
    """A TCP session; ``exchange`` items are (from_client, payload)."""
    frames = [
        tcp_frame(CLIENT, SERVER, 40100, port, seq=1000, flags="S"),
        tcp_frame(SERVER, CLIENT, port, 40100, seq=5000, ack=1001, flags="SA"),
        tcp_frame(CLIENT, SERVER, 40100, port, seq=1001, ack=5001, flags="A"),
    ]
    cs, ss = 1001, 5001
    for from_client, payload in exchange:
        if from_client:
            frames.append(tcp_frame(CLIENT, SERVER, 40100, port, seq=cs, ack=ss, payload=payload))
            cs += len(payload)
        else:
            frames.append(tcp_frame(SERVER, CLIENT, port, 40100, seq=ss, ack=cs, payload=payload))
            ss += len(payload)
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for k, f in enumerate(frames):
            w.write(f, T0 + k * 1_000_000)


def test_ftp_login_commands_and_replies_without_the_password(tmp_path: Path) -> None:
    path = tmp_path / "ftp.pcap"
    _session(path, 21, [
        (False, b"220 (vsFTPd 3.0.3)\r\n"),
        (True, b"USER operator\r\n"),
        (False, b"331 Please specify the password.\r\n"),
        (True, b"PASS s3cret-plc\r\n"),
        (False, b"230-Welcome\r\n230 Login successful.\r\n"),
        (True, b"SYST\r\n"),
        (False, b"215 UNIX Type: L8\r\n"),
    ])
    events = dissect(path, [FtpDissector, TelnetDissector])
    commands = [(e.command, e.argument) for e in events if isinstance(e, FtpCommand)]
    assert commands == [("USER", "operator"), ("PASS", None), ("SYST", None)]
    assert [e.code for e in events if isinstance(e, FtpReply)] == [220, 331, 230, 215]
    (cred,) = [e for e in events if isinstance(e, CleartextCredential)]
    assert (cred.service, cred.user_name, cred.password_present, cred.accepted) == (
        "ftp", "operator", True, True)
    assert cred.src_ip == SERVER  # the verdict travels from the server
    assert all("s3cret" not in repr(e) and "s3cret" not in str(e.ecs()) for e in events)


def test_ftp_rejected_login(tmp_path: Path) -> None:
    path = tmp_path / "ftp-bad.pcap"
    _session(path, 2121, [
        (False, b"220 FTP server ready\r\n"),
        (True, b"USER admin\r\n"),
        (False, b"331 Password required\r\n"),
        (True, b"PASS admin\r\n"),
        (False, b"530 Login incorrect.\r\n"),
    ])
    events = dissect(path, [FtpDissector])
    (cred,) = [e for e in events if isinstance(e, CleartextCredential)]
    assert (cred.user_name, cred.accepted) == ("admin", False)


def test_telnet_login_typed_character_by_character_with_negotiation(tmp_path: Path) -> None:
    path = tmp_path / "telnet.pcap"
    typed = [(True, bytes([c])) for c in b"maint"] + [(True, b"\r\n")]
    _session(path, 23, [
        (False, bytes([255, 251, 1, 255, 251, 3])),  # WILL ECHO, WILL SGA
        (True, bytes([255, 253, 1, 255, 253, 3])),
        (False, b"\r\nRTU-7 maintenance port\r\n\r\nlogin: "),
        *typed,
        (False, b"maint\r\nPassword: "),
        (True, b"hunter2\r\n"),
        (False, b"\r\n$ "),
    ])
    events = dissect(path, [TelnetDissector, FtpDissector])
    (cred,) = [e for e in events if isinstance(e, CleartextCredential)]
    assert (cred.service, cred.user_name, cred.password_present) == ("telnet", "maint", True)
    banners = [e for e in events if e.action == "banner"]
    assert banners
    assert "RTU-7" in banners[0].fields()["banner"]
    assert all("hunter2" not in repr(e) for e in events)


@pytest.mark.skipif(DATA is None, reason="../shared/data is absent (no real captures)")
def test_real_telnet_capture_yields_its_login() -> None:
    assert DATA is not None
    events = dissect(DATA / "pcaps/ntop_nDPI/pcap/telnet.pcap", [TelnetDissector, FtpDissector])
    creds = [e for e in events if isinstance(e, CleartextCredential)]
    assert [(c.user_name, c.password_present) for c in creds] == [("fake", True)]
    assert creds[0].dst_port == 23


def test_iac_sequences_are_stripped_across_segments() -> None:
    state = [0]
    first = strip_telnet(b"ab" + bytes([255, 250, 24]), state)
    second = strip_telnet(bytes([1, 255, 240]) + b"cd" + bytes([255, 255]), state)
    assert first + second == b"abcd\xff"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=80)), max_size=12))
def test_fuzz_on_data_never_raises(chunks: list[tuple[bool, bytes]]) -> None:
    flow = FlowContext(1, 6, CLIENT, 40100, SERVER, 23)
    for cls in (TelnetDissector, FtpDissector):
        d = cls(flow)
        for from_client, data in chunks:
            list(d.on_data(0 if from_client else 1, data, T0, 1))
        cls.probe(b"".join(c for _, c in chunks), 0)
