"""Logins in clear, and password guessing."""

from __future__ import annotations

import base64
from pathlib import Path

from otsight.detect.rules.credentials import (
    BruteForceDetector,
    BruteForceOptions,
    CleartextCredentialDetector,
)

from .builders import ATK, HMI, PLC, Capture, detect, kinds

CAM, VMS = "192.0.2.50", "192.0.2.51"


def _ftp_login(cap: Capture, t: float, client: str, sport: int, user: str, ok: bool) -> None:
    cap.tcp(t, PLC, client, 21, sport, b"220 FTP server ready\r\n")
    cap.tcp(t + 0.01, client, PLC, sport, 21, f"USER {user}\r\n".encode())
    cap.tcp(t + 0.02, PLC, client, 21, sport, b"331 Password required\r\n")
    cap.tcp(t + 0.03, client, PLC, sport, 21, b"PASS guess\r\n")
    reply = b"230 Login successful.\r\n" if ok else b"530 Login incorrect.\r\n"
    cap.tcp(t + 0.04, PLC, client, 21, sport, reply)


def _http(cap: Capture, t: float, client: str, sport: int, status: int, auth: bool) -> None:
    token = base64.b64encode(b"vms-recorder:not-a-secret").decode()
    head = f"GET /snapshot.jpg HTTP/1.1\r\nHost: {CAM}\r\n"
    if auth:
        head += f"Authorization: Basic {token}\r\n"
    cap.tcp(t, client, CAM, sport, 80, (head + "\r\n").encode())
    reason = "OK" if status == 200 else "Unauthorized"
    cap.tcp(t + 0.01, CAM, client, 80, sport,
            f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n\r\n".encode())


def test_cleartext_logins_are_posture_findings_once_per_user(tmp_path: Path) -> None:
    cap = Capture()
    _ftp_login(cap, 1.0, HMI, 40001, "operator", ok=True)
    for k in range(5):
        _http(cap, 2.0 + k, VMS, 40100, 200, auth=True)
    stage = detect([cap.write(tmp_path / "clear.pcap")], [CleartextCredentialDetector()])
    got = [(a.kind, a.severity, a.src_ip, a.dst_ip, a.technique_id) for a in stage.alerts]
    assert got == [
        ("cleartext-credentials", "info", HMI, PLC, "T0859"),  # FTP: client -> server
        ("cleartext-credentials", "info", VMS, CAM, "T0859"),
    ]
    assert "'operator'" in stage.alerts[0].title
    assert "not-a-secret" not in repr(stage.alerts)  # never the password
    assert sum(stage.raised.values()) == 2  # repeats within repeat_s are not raised again


def test_many_failed_logins_are_brute_force(tmp_path: Path) -> None:
    cap = Capture()
    for k in range(6):
        _ftp_login(cap, 1.0 + k, ATK, 41000 + k, "admin", ok=False)
    stage = detect([cap.write(tmp_path / "ftp-guess.pcap")], [BruteForceDetector()])
    (alert,) = stage.alerts
    assert (alert.kind, alert.src_ip, alert.dst_ip, alert.severity) == (
        "brute-force", ATK, PLC, "high")
    assert "5 failed logins in 4 s" in alert.title
    assert alert.detected_ts is not None
    assert alert.detected_ts > alert.ts


def test_http_401s_count_and_a_few_typos_do_not(tmp_path: Path) -> None:
    cap = Capture()
    for k in range(5):
        _http(cap, 1.0 + k, ATK, 42000 + k, 401, auth=True)
    for k in range(3):  # an operator mistyping, then succeeding
        _ftp_login(cap, 10.0 + k, HMI, 43000 + k, "operator", ok=k == 2)
    for k in range(4):  # failures spread over more than the window
        _ftp_login(cap, 100.0 + 70 * k, HMI, 44000 + k, "backup", ok=False)
    for k in range(8):  # a Digest client challenged on every request, then let in
        _http(cap, 400.0 + k, "192.0.2.52", 45000, 401, auth=False)
        _http(cap, 400.5 + k, "192.0.2.52", 45000, 200, auth=True)
    stage = detect([cap.write(tmp_path / "http-guess.pcap")], [BruteForceDetector()])
    assert [(a.kind, a.src_ip, a.dst_ip) for a in stage.alerts] == [("brute-force", ATK, CAM)]
    strict = BruteForceDetector(BruteForceOptions(max_failures=2))
    assert kinds(detect([tmp_path / "http-guess.pcap"], [strict]).alerts) == [
        "brute-force", "brute-force"]
