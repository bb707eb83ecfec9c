"""`otsight analyze` as a user runs it: real processes, real files, exit codes and messages."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from otsight.capture.writer import PcapWriter
from otsight.testing.packets import modbus_read_request, modbus_tcp_adu, tcp_frame, udp_frame

T0 = 1_767_225_600_000_000_000
HMI, PLC = "192.0.2.10", "192.0.2.20"


def _otsight(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "otsight.cli", *args], input=stdin,
                          capture_output=True, check=False, timeout=120)


def _modbus_session(path: Path, polls: int = 5, sport: int = 40000) -> int:
    """A handshake and ``polls`` request/response pairs; returns the packet count written."""
    frames = [
        tcp_frame(HMI, PLC, sport, 502, seq=100, flags="S"),
        tcp_frame(PLC, HMI, 502, sport, seq=900, ack=101, flags="SA"),
        tcp_frame(HMI, PLC, sport, 502, seq=101, ack=901, flags="A"),
    ]
    cs, ss = 101, 901
    for n in range(polls):
        req = modbus_tcp_adu(n, 1, modbus_read_request(3, 0, 10))
        resp = modbus_tcp_adu(n, 1, bytes([3, 20]) + bytes(20))
        frames.append(tcp_frame(HMI, PLC, sport, 502, seq=cs, ack=ss, payload=req))
        cs += len(req)
        frames.append(tcp_frame(PLC, HMI, 502, sport, seq=ss, ack=cs, payload=resp))
        ss += len(resp)
    frames.append(udp_frame("192.0.2.30", "192.0.2.53", 5353, 53, b"\x00" * 20))
    with path.open("wb") as fh:
        w = PcapWriter(fh)
        for k, f in enumerate(frames):
            w.write(f, T0 + k * 100_000_000)
    return len(frames)


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "plant.pcap"
    _modbus_session(path)
    return path


def test_json_summary_counts_packets_flows_and_talkers(capture: Path) -> None:
    res = _otsight("analyze", "--json", str(capture))
    assert res.returncode == 0, res.stderr.decode()
    data = json.loads(res.stdout)
    assert data["packets"] == 14
    assert data["flows"] == 2
    assert data["flows_by_protocol"] == {"tcp": 1, "udp": 1}
    assert data["duration_s"] == pytest.approx(1.3)
    assert data["transport"] == {"tcp": 13, "udp": 1}
    assert data["tcp"]["handshakes"] == 1
    assert data["tcp"]["delivered"] == 5 * (7 + 5) + 5 * (7 + 2 + 20)  # MBAP + PDU
    assert data["decode_errors"] == {}
    talkers = {t["ip"] for t in data["top_talkers"]}
    assert {HMI, PLC} <= talkers
    assert data["services_by_port"][0]["service"].startswith("modbus (502/tcp)")
    assert data["inputs"] == [{"name": str(capture), "packets": 14, "error": None}]


def test_human_summary_mentions_what_matters(capture: Path) -> None:
    res = _otsight("analyze", str(capture))
    out = res.stdout.decode()
    assert res.returncode == 0
    assert "14 packets" in out
    assert "modbus (502/tcp)" in out
    assert "No decode errors" in out


def test_bad_inputs_get_one_line_each_and_the_good_ones_are_still_processed(
    capture: Path, tmp_path: Path
) -> None:
    text = tmp_path / "notes.pcap"
    text.write_text("this is not a capture\n")
    truncated = tmp_path / "cut.pcap"
    truncated.write_bytes(capture.read_bytes()[:-10])
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.pcap"
    res = _otsight("analyze", "--json", str(text), str(capture), str(truncated), str(empty),
                   str(missing))
    assert res.returncode == 1
    errors = [line for line in res.stderr.decode().splitlines() if line.startswith("error:")]
    assert len(errors) == 4
    assert any(str(text) in e and "not a capture file" in e for e in errors)
    assert any(str(truncated) in e and "truncated" in e for e in errors)
    assert any(str(empty) in e and "empty" in e for e in errors)
    assert any(str(missing) in e and "no such file" in e for e in errors)
    data = json.loads(res.stdout)
    by_name = {i["name"]: i for i in data["inputs"]}
    assert by_name[str(capture)]["packets"] == 14
    assert by_name[str(truncated)]["packets"] == 13  # the packets before the damage count
    assert data["packets"] == 27


def test_directory_gzip_zstd_and_stdin_give_the_same_numbers(capture: Path, tmp_path: Path) -> None:
    raw = capture.read_bytes()
    folder = tmp_path / "captures"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.pcap.gz").write_bytes(gzip.compress(raw))
    (folder / "b.pcap.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    (folder / "README.txt").write_text("not a capture, skipped in a directory\n")
    res = _otsight("analyze", "--json", str(folder))
    assert res.returncode == 0, res.stderr.decode()
    data = json.loads(res.stdout)
    assert data["packets"] == 28
    assert len(data["inputs"]) == 2
    res = _otsight("analyze", "--json", "-", stdin=gzip.compress(raw))
    assert res.returncode == 0, res.stderr.decode()
    assert json.loads(res.stdout)["packets"] == 14


def test_replaying_a_capture_gives_identical_results(capture: Path) -> None:
    first = json.loads(_otsight("analyze", "--json", str(capture)).stdout)
    second = json.loads(_otsight("analyze", "--json", str(capture)).stdout)
    first.pop("elapsed_s")
    second.pop("elapsed_s")
    assert first == second


def test_dissect_counts_events_per_protocol_without_writing_them(
    capture: Path, tmp_path: Path
) -> None:
    plain = json.loads(_otsight("analyze", "--json", str(capture)).stdout)
    assert plain["dissected"] == {}  # L2-L4 only unless asked
    res = _otsight("analyze", "--json", "--dissect", str(capture))
    assert res.returncode == 0, res.stderr.decode()
    counted = json.loads(res.stdout)["dissected"]
    assert counted["modbus"] == {"flows": 1, "events": 10}  # 5 requests, 5 responses
    out = tmp_path / "events.jsonl"
    written = json.loads(_otsight("analyze", "--json", "--events", str(out), str(capture)).stdout)
    assert written["dissected"] == counted
    assert len(out.read_text().splitlines()) == sum(d["events"] for d in counted.values())
    human = _otsight("analyze", "--dissect", str(capture)).stdout.decode()
    assert "Application protocols" in human


def test_no_arguments_is_a_usage_error() -> None:
    res = _otsight("analyze")
    assert res.returncode == 2
    assert b"give capture files" in res.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="live capture needs root")
def test_live_capture_on_an_unknown_interface_fails_clearly() -> None:
    res = _otsight("analyze", "-i", "ots-nonexistent0", "--duration", "1")
    assert res.returncode == 1
    assert b"ots-nonexistent0" in res.stderr


@pytest.mark.live
@pytest.mark.skipif(os.geteuid() != 0, reason="live capture needs root (network namespaces)")
def test_live_capture_end_to_end_in_a_private_namespace() -> None:
    """`otsight analyze -i lo -f ...` inside a namespace it alone uses, with real traffic."""
    ns = f"ots-cli-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        cmd = ["ip", "netns", "exec", ns, sys.executable, "-m", "otsight.cli", "analyze",
               "-i", "lo", "-f", "udp port 40123", "--duration", "3", "--json"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        ready = proc.stderr.readline()  # printed once the socket and filter are in place
        assert b"capturing on lo" in ready
        sender = (
            "import socket\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for i in range(20):\n"
            "    s.sendto(b'x' * 10, ('127.0.0.1', 40123))\n"
            "    s.sendto(b'noise', ('127.0.0.1', 40999))\n"
        )
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", sender], check=True,
                       timeout=30)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        data = json.loads(out)
        assert data["packets"] == 20  # the filter kept out the 20 datagrams to port 40999
        assert data["flows_by_protocol"] == {"udp": 1}
        assert data["inputs"][0]["name"] == "live:lo"
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_events_of_the_bundled_lab_capture_match_its_truth(tmp_path: Path) -> None:
    """The demo capture: the attacker's writes and listen-only command appear as events
    inside the windows truth.json gives, with ECS names."""
    root = Path(__file__).resolve().parents[2] / "examples" / "lab-mixed"
    truth = json.loads((root / "truth.json").read_text())
    out = tmp_path / "events.jsonl"
    res = _otsight("analyze", "--json", "--events", str(out), str(root / "capture.pcap"))
    assert res.returncode == 0, res.stderr.decode()
    assert json.loads(res.stdout)["dissected"]["modbus"]["events"] > 100
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    attacker = next(d["ips"][0] for d in truth["devices"] if d["name"] == "atk")
    steps = {s["step_id"]: s for s in truth["attack_steps"]}
    by_attacker = [d for d in docs if d.get("source", {}).get("ip") == attacker
                   and d["event"]["module"] == "modbus"]
    actions = {d["event"]["action"] for d in by_attacker}
    assert {"write-single-register", "write-multiple-registers", "diagnostics"} <= actions
    first, last = min(s["start"] for s in steps.values()), max(s["end"] for s in steps.values())
    assert all(first - 0.5 <= d["otsight"]["ts"] <= last + 0.5 for d in by_attacker)
    listen_only = [d for d in by_attacker if d["modbus"].get("sub_function") == 4]
    assert len(listen_only) == 1
