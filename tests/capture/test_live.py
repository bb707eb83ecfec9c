"""Live capture on real interfaces inside private network namespaces.

Two namespaces joined by a veth pair carry real UDP and TCP traffic between documentation
addresses (198.51.100.0/24, 203.0.113.0/24), so nothing reaches any other network. The capture
socket is opened from a thread that has entered a namespace (network namespaces are per thread);
the socket keeps that namespace when the test iterates it from the main thread.

The libpcap and mapping tests need no privileges; the others need root and ``ip`` and are
marked ``live``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import ipaddress
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from types import FrameType
from typing import NamedTuple, TypeVar

import pytest

from otsight.capture import live
from otsight.capture.batch import FrameBatch
from otsight.capture.live import LiveCapture, compile_filter, linktype_for_arphrd
from otsight.core.errors import CaptureError
from otsight.core.types import LinkType
from otsight.testing.netns import in_netns

T = TypeVar("T")
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
GUARD = 5.0  # every capture has a duration limit so a failing test cannot hang

PID = os.getpid()
NS1, NS2 = f"ots-{PID}-1", f"ots-{PID}-2"
VETH_A, VETH_B = f"ots-{PID}-a", f"ots-{PID}-b"
MAC_A, MAC_B = "02:00:5e:00:53:01", "02:00:5e:00:53:02"
IP_A, IP_B = "198.51.100.1", "198.51.100.2"
TUN_IP, TUN_PEER = "203.0.113.1", "203.0.113.2"
_ports = count(41000)


def next_port() -> int:
    return next(_ports)


# -- helpers -------------------------------------------------------------------------------


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def udp_socket(ns: str, address: str, port: int = 0) -> socket.socket:
    def make() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((address, port))
        return sock

    return in_netns(ns, make)


def capture_in(ns: str, interface: str, bpf_filter: str | None, **kwargs: object) -> LiveCapture:
    kwargs.setdefault("duration", GUARD)
    return in_netns(ns, lambda: LiveCapture(interface, bpf_filter, **kwargs))  # type: ignore[arg-type]


class Segment(NamedTuple):
    """The IPv4 and UDP/TCP fields of one captured frame that the tests check."""

    proto: int
    src: str
    dst: str
    sport: int
    dport: int
    tcp_flags: int
    payload: bytes
    vlan_id: int | None


def parse(frame: bytes, linktype: int = LinkType.ETHERNET) -> Segment | None:
    """IPv4 UDP/TCP frame -> Segment (None for anything else)."""
    pos, vlan_id = 0, None
    if linktype == LinkType.ETHERNET:
        ethertype = struct.unpack_from("!H", frame, 12)[0]
        pos = 14
        if ethertype == 0x8100:
            vlan_id = struct.unpack_from("!H", frame, 14)[0] & 0x0FFF
            ethertype = struct.unpack_from("!H", frame, 16)[0]
            pos = 18
        if ethertype != 0x0800:
            return None
    if len(frame) < pos + 20 or frame[pos] >> 4 != 4:
        return None
    ihl = (frame[pos] & 0x0F) * 4
    total = struct.unpack_from("!H", frame, pos + 2)[0]
    proto = frame[pos + 9]
    src = str(ipaddress.IPv4Address(frame[pos + 12 : pos + 16]))
    dst = str(ipaddress.IPv4Address(frame[pos + 16 : pos + 20]))
    l4 = pos + ihl
    end = pos + total
    if proto == 17:
        sport, dport = struct.unpack_from("!HH", frame, l4)
        return Segment(proto, src, dst, sport, dport, 0, frame[l4 + 8 : end], vlan_id)
    if proto == 6:
        sport, dport = struct.unpack_from("!HH", frame, l4)
        offset = (frame[l4 + 12] >> 4) * 4
        flags = frame[l4 + 13]
        return Segment(proto, src, dst, sport, dport, flags, frame[l4 + offset : end], vlan_id)
    return None


def frames(batches: list[FrameBatch]) -> list[bytes]:
    return [b.frame(i) for b in batches for i in range(len(b))]


def timestamps(batches: list[FrameBatch]) -> list[int]:
    return [int(t) for b in batches for t in b.ts_ns]


def drain(capture: LiveCapture) -> list[FrameBatch]:
    with capture:
        return list(capture)


# -- fixtures ------------------------------------------------------------------------------


def _require_live() -> None:
    if os.geteuid() != 0:
        pytest.skip("live capture tests need root (AF_PACKET sockets, network namespaces)")
    if shutil.which("ip") is None:
        pytest.skip("live capture tests need the `ip` command (Debian: iproute2)")


@pytest.fixture
def root() -> None:
    _require_live()


@dataclass(frozen=True)
class Net:
    """ns1 (IP_A on VETH_A) <-> ns2 (IP_B on VETH_B); lo is up in both."""

    ns1: str = NS1
    ns2: str = NS2
    veth_a: str = VETH_A
    veth_b: str = VETH_B


def _teardown() -> None:
    for ns in (NS1, NS2):
        ip("netns", "del", ns, check=False)  # deleting a namespace deletes its interfaces
    ip("link", "del", VETH_A, check=False)


def _quiet_ipv6() -> None:
    """No IPv6 chatter (DAD, router solicitations) in the calling thread's namespace."""
    for knob in ("all", "default"):
        path = f"/proc/sys/net/ipv6/conf/{knob}/disable_ipv6"
        with contextlib.suppress(OSError), open(path, "w") as fh:  # no IPv6: nothing to do
            fh.write("1")


@pytest.fixture(scope="module")
def net() -> Iterator[Net]:
    _require_live()
    _teardown()
    try:
        for ns in (NS1, NS2):
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
            in_netns(ns, _quiet_ipv6)
        a_end = ["name", VETH_A, "address", MAC_A, "netns", NS1]
        b_end = ["name", VETH_B, "address", MAC_B, "netns", NS2]
        ip("link", "add", *a_end, "type", "veth", "peer", *b_end)
        ends = [(NS1, VETH_A, IP_A, IP_B, MAC_B), (NS2, VETH_B, IP_B, IP_A, MAC_A)]
        for ns, dev, mine, peer, mac in ends:
            ip("-n", ns, "addr", "add", f"{mine}/26", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
            # Static neighbours: no ARP, so the traffic on the wire is exactly what we send.
            ip("-n", ns, "neigh", "replace", peer, "lladdr", mac, "dev", dev, "nud", "permanent")
    except subprocess.CalledProcessError as exc:
        _teardown()
        pytest.skip(f"cannot build the test network: {' '.join(exc.cmd)}: {exc.stderr.strip()}")
    try:
        yield Net()
    finally:
        _teardown()


# -- libpcap and link types (no privileges needed) -----------------------------------------


def test_compile_filter_for_ethernet_and_raw_ip() -> None:
    ether = compile_filter("udp port 502")
    raw = compile_filter("udp port 502", LinkType.RAW)
    assert ether
    assert raw != ether
    assert ether[0] == (0x28, 0, 0, 12)  # ldh [12]: the EtherType
    assert raw[0] == (0x30, 0, 0, 0)  # ldb [0]: the IP version nibble
    assert ether[-1] == (0x06, 0, 0, 0)  # ret #0 rejects
    assert (0x06, 0, 0, 96) in compile_filter("tcp", snaplen=96)  # accepts snaplen bytes


def test_bad_filter_has_libpcap_message() -> None:
    with pytest.raises(CaptureError, match="syntax error") as info:
        compile_filter("tcp and and", source="live:x")
    assert info.value.source == "live:x"
    with pytest.raises(CaptureError, match="70000"):  # numbers only: no name lookups
        compile_filter("udp port 70000")


def test_libpcap_found_by_fallback_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "_libpcap", None)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert compile_filter("udp")


def test_libpcap_missing_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "_libpcap", None)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(live, "LIBPCAP_FALLBACK", "libotsight-no-such-pcap.so.0")
    with pytest.raises(CaptureError, match=r"install it \(Debian/Ubuntu: apt install libpcap0.8"):
        compile_filter("udp", source="live:eth0")


def test_link_types_from_arphrd() -> None:
    assert linktype_for_arphrd("eth0", 1) == LinkType.ETHERNET
    assert linktype_for_arphrd("lo", 772) == LinkType.ETHERNET
    assert linktype_for_arphrd("tun0", 65534) == LinkType.RAW
    with pytest.raises(CaptureError, match="ARPHRD 768") as info:
        linktype_for_arphrd("ipip0", 768)
    assert info.value.source == "live:ipip0"
    assert "ipip0" in info.value.reason


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="snaplen"):
        LiveCapture("lo", snaplen=0)
    with pytest.raises(ValueError, match="count"):
        LiveCapture("lo", count=0)
    with pytest.raises(ValueError, match="duration"):
        LiveCapture("lo", duration=0)


# -- errors on a real system ---------------------------------------------------------------


@pytest.mark.live
@pytest.mark.usefixtures("root")
def test_unknown_interface() -> None:
    with pytest.raises(CaptureError, match="no such interface 'ots-nosuch0'") as info:
        LiveCapture("ots-nosuch0")
    assert info.value.source == "live:ots-nosuch0"
    with pytest.raises(CaptureError, match="invalid interface name"):
        LiveCapture("../../etc")


@pytest.mark.live
@pytest.mark.usefixtures("root")
def test_bad_filter_on_live_capture() -> None:
    with pytest.raises(CaptureError, match="bad filter 'udp port 70000'") as info:
        LiveCapture("lo", "udp port 70000")
    assert info.value.source == "live:lo"


@pytest.mark.live
@pytest.mark.usefixtures("root")
@pytest.mark.parametrize("expression", ["vlan 100", "udp or (vlan and tcp)"])
def test_vlan_filters_are_refused(expression: str) -> None:
    with pytest.raises(CaptureError, match="'vlan' filters are not supported"):
        LiveCapture("lo", expression)
    assert live._VLAN_KEYWORD.search("host vlan.example or host vlan-gw") is None


@pytest.mark.live
@pytest.mark.usefixtures("root")
def test_permission_denied_without_cap_net_raw() -> None:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv (util-linux) to drop CAP_NET_RAW")
    code = (
        "from otsight.capture.live import LiveCapture\n"
        "from otsight.core.errors import CaptureError\n"
        "try:\n"
        "    LiveCapture('eth9')\n"
        "except CaptureError as e:\n"
        "    print(f'{e.source}|{e.reason}')\n"
    )
    drop = "-net_raw"
    cmd = [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", sys.executable, "-c", code]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == (
        "live:eth9|permission denied: live capture needs root or CAP_NET_RAW"
    )


# -- traffic across the veth pair ----------------------------------------------------------


@pytest.mark.live
def test_udp_filter_payload_timestamps_batches_and_count(net: Net) -> None:
    port, other = next_port(), next_port()
    receiver = udp_socket(net.ns2, IP_B, port)
    receiver_other = udp_socket(net.ns2, IP_B, other)
    sender = udp_socket(net.ns1, IP_A)
    t0 = time.time_ns()
    capture = capture_in(net.ns1, net.veth_a, f"udp and dst port {port}", batch_frames=2, count=5)
    for i in range(8):
        sender.sendto(f"otsight-match-{i}".encode(), (IP_B, port))
        sender.sendto(f"otsight-other-{i}".encode(), (IP_B, other))
        time.sleep(0.002)
    batches = drain(capture)
    t1 = time.time_ns()
    for sock in (receiver, receiver_other, sender):
        sock.close()

    assert [len(b) for b in batches] == [2, 2, 1]
    assert [b.first_frame for b in batches] == [1, 3, 5]
    segments = [parse(f) for f in frames(batches)]
    assert all(s is not None and s.proto == 17 and s.dport == port for s in segments)
    assert [s.payload for s in segments if s] == [f"otsight-match-{i}".encode() for i in range(5)]
    assert all(s.src == IP_A and s.dst == IP_B for s in segments if s)
    stamps = timestamps(batches)
    assert all(t0 <= t <= t1 for t in stamps), (t0, stamps, t1)
    assert stamps == sorted(stamps)
    assert stamps[-1] - stamps[0] >= 4 * 2_000_000  # real packet times, not read times
    for b in batches:
        assert b.source == f"live:{net.veth_a}"
        assert (b.linktype == LinkType.ETHERNET).all()
        assert (b.caplen == b.wirelen).all()
    stats = capture.stats
    assert stats.delivered == 5
    assert stats.received >= 5
    assert stats.dropped == 0


@pytest.mark.live
def test_no_unfiltered_packet_leaks_in_during_setup(net: Net) -> None:
    port, busy = next_port(), next_port()
    receiver = udp_socket(net.ns2, IP_B, busy)
    sender = udp_socket(net.ns1, IP_A)
    running = threading.Event()
    running.set()

    def flood() -> None:  # non-matching traffic while the capture is being set up
        while running.is_set():
            sender.sendto(b"noise", (IP_B, busy))
            time.sleep(0.0001)

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        time.sleep(0.02)
        captures = [capture_in(net.ns1, net.veth_a, f"udp port {port}", count=1) for _ in range(5)]
    finally:
        running.clear()
        flooder.join()
    sender.sendto(b"wanted", (IP_B, port))
    for capture in captures:  # a leaked packet would be queued first and taken instead
        assert [s.payload for s in map(parse, frames(drain(capture))) if s] == [b"wanted"]
    receiver.close()
    sender.close()


@pytest.mark.live
def test_tcp_connection_both_directions(net: Net) -> None:
    port = next_port()
    request, reply = b"otsight tcp request " * 10, b"OTSIGHT TCP REPLY " * 10

    def listen() -> socket.socket:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.bind((IP_B, port))
        srv.listen(1)
        return srv

    server = in_netns(net.ns2, listen)
    client = in_netns(net.ns1, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    noise = udp_socket(net.ns1, IP_A)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            data = b""
            while len(data) < len(request):
                data += conn.recv(4096)
            conn.sendall(reply)

    t0 = time.time_ns()
    capture = capture_in(net.ns1, net.veth_a, f"tcp port {port}", duration=0.4)
    worker = threading.Thread(target=serve)
    worker.start()
    client.settimeout(5)
    client.connect((IP_B, port))
    client.sendall(request)
    got = b""
    while len(got) < len(reply):
        got += client.recv(4096)
    noise.sendto(b"not tcp", (IP_B, port))
    client.close()
    worker.join(5)
    server.close()
    noise.close()
    started = time.monotonic()
    batches = drain(capture)
    elapsed = time.monotonic() - started
    t1 = time.time_ns()

    assert 0.35 <= elapsed < 1.0  # the duration limit ended the capture
    segments = [parse(f) for f in frames(batches)]
    assert segments
    assert all(s is not None and s.proto == 6 for s in segments)
    assert all(port in (s.sport, s.dport) for s in segments if s)
    flags = [s.tcp_flags & 0x3F for s in segments if s]
    assert flags[:2] == [0x02, 0x12]  # SYN, then SYN-ACK
    assert any(s.tcp_flags & 0x01 for s in segments if s)  # FIN
    sent = b"".join(s.payload for s in segments if s and s.dport == port)
    received = b"".join(s.payload for s in segments if s and s.sport == port)
    assert sent == request
    assert received == reply
    stamps = timestamps(batches)
    assert all(t0 <= t <= t1 for t in stamps)
    assert stamps == sorted(stamps)


@pytest.mark.live
def test_batch_timeout_hands_over_partial_batch(net: Net) -> None:
    port = next_port()
    receiver = udp_socket(net.ns2, IP_B, port)
    sender = udp_socket(net.ns1, IP_A)
    capture = capture_in(net.ns1, net.veth_a, f"udp port {port}", batch_timeout=0.1)
    with capture:
        started = time.monotonic()
        for i in range(3):
            sender.sendto(bytes([i]) * 10, (IP_B, port))
        first = next(iter(capture))
        waited = time.monotonic() - started
        capture.stop()
    receiver.close()
    sender.close()
    assert len(first) == 3
    assert waited < 0.5


@pytest.mark.live
def test_duration_limit_on_idle_link(net: Net) -> None:
    capture = capture_in(net.ns1, net.veth_a, "udp port 9", duration=0.3)
    started = time.monotonic()
    assert drain(capture) == []
    assert 0.3 <= time.monotonic() - started < 0.6


@pytest.mark.live
def test_duration_limit_holds_against_a_backlog(net: Net) -> None:
    port = next_port()
    receiver = udp_socket(net.ns2, IP_B, port)
    sender = udp_socket(net.ns1, IP_A)
    capture = capture_in(net.ns1, net.veth_a, f"udp port {port}", batch_frames=5, duration=0.2)
    for i in range(100):
        sender.sendto(b"%d" % i, (IP_B, port))
    started = time.monotonic()
    delivered = 0
    with capture:
        for batch in capture:  # a slow consumer: the queue never runs dry within the limit
            delivered += len(batch)
            time.sleep(0.05)
    receiver.close()
    sender.close()
    assert time.monotonic() - started < 0.6
    assert 5 <= delivered < 100


@pytest.mark.live
def test_stop_from_another_thread_is_prompt(net: Net) -> None:
    capture = capture_in(net.ns1, net.veth_a, "udp port 9")
    stopped_at: list[float] = []

    def stop_later() -> None:
        time.sleep(0.2)
        stopped_at.append(time.monotonic())
        capture.stop()

    threading.Thread(target=stop_later).start()
    assert drain(capture) == []
    assert time.monotonic() - stopped_at[0] < 0.5


@pytest.mark.live
def test_stop_from_signal_handler_delivers_pending_frames(net: Net) -> None:
    port = next_port()
    receiver = udp_socket(net.ns2, IP_B, port)
    sender = udp_socket(net.ns1, IP_A)
    # Batches would wait 30 s or 1000 frames: only stop() can hand these three over.
    capture = capture_in(
        net.ns1, net.veth_a, f"udp port {port}", batch_frames=1000, batch_timeout=30
    )
    for i in range(3):
        sender.sendto(b"pending-%d" % i, (IP_B, port))

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        capture.stop()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        started = time.monotonic()
        batches = drain(capture)
        elapsed = time.monotonic() - started
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    receiver.close()
    sender.close()
    assert elapsed < 0.7
    assert [s.payload for s in map(parse, frames(batches)) if s] == [
        b"pending-0",
        b"pending-1",
        b"pending-2",
    ]


@pytest.mark.live
@pytest.mark.parametrize("bpf_filter", [None, "udp"], ids=["no-filter", "filter"])
def test_snaplen_truncates_and_keeps_wire_length(net: Net, bpf_filter: str | None) -> None:
    port = next_port()
    receiver = udp_socket(net.ns2, IP_B, port)
    sender = udp_socket(net.ns1, IP_A)
    capture = capture_in(net.ns1, net.veth_a, bpf_filter, snaplen=64, duration=0.2)
    sender.sendto(b"x" * 500, (IP_B, port))
    sender.sendto(b"y" * 10, (IP_B, port))
    batches = drain(capture)
    receiver.close()
    sender.close()
    ours = [
        (b, i)
        for b in batches
        for i in range(len(b))
        if (s := parse(b.frame(i))) is not None and s.dport == port
    ]
    assert len(ours) == 2
    (b0, i0), (b1, i1) = ours
    assert (int(b0.caplen[i0]), int(b0.wirelen[i0])) == (64, 14 + 20 + 8 + 500)
    short = 14 + 20 + 8 + 10  # veth does not pad to the 60-byte Ethernet minimum
    assert (int(b1.caplen[i1]), int(b1.wirelen[i1])) == (short, short)


@pytest.mark.live
def test_loopback_has_no_duplicates(net: Net) -> None:
    port = next_port()
    receiver = udp_socket(net.ns1, IP_A, port)
    sender = udp_socket(net.ns1, IP_A)
    capture = capture_in(net.ns1, "lo", f"udp port {port}", duration=0.2)
    assert capture.linktype == LinkType.ETHERNET
    for i in range(3):
        sender.sendto(b"loop-%d" % i, (IP_A, port))
    batches = drain(capture)
    assert [receiver.recv(100) for _ in range(3)] == [b"loop-0", b"loop-1", b"loop-2"]
    receiver.close()
    sender.close()
    assert [s.payload for s in map(parse, frames(batches)) if s] == [
        b"loop-0",
        b"loop-1",
        b"loop-2",
    ]


def ipv4_udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    """An IPv4 packet with a UDP datagram (UDP checksum 0, which IPv4 allows)."""
    version_ihl, tos, ident, fragment, ttl, udp = 0x45, 0, 1, 0, 64, 17
    addresses = ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed
    total_length = 20 + 8 + len(payload)
    header = bytearray(
        struct.pack("!BBHHHBBH", version_ihl, tos, total_length, ident, fragment, ttl, udp, 0)
        + addresses
    )
    total = sum(struct.unpack("!10H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    struct.pack_into("!H", header, 10, ~total & 0xFFFF)
    return bytes(header) + struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


@pytest.mark.live
def test_vlan_tags_survive_the_kernel(net: Net) -> None:
    """Tagged frames arriving on an interface are untagged by the kernel (the tag moves to the
    packet's metadata) before capture taps see them; the capture must put the tags back."""
    port = next_port()
    mac_a, mac_b = bytes.fromhex(MAC_A.replace(":", "")), bytes.fromhex(MAC_B.replace(":", ""))
    tags = [(0x8100, (5 << 13) | 100), (0x88A8, 200)]  # 802.1Q with priority 5, 802.1ad
    sent = [
        mac_a
        + mac_b
        + struct.pack("!HHH", tpid, tci, 0x0800)
        + ipv4_udp(IP_B, IP_A, port, port, b"tagged-%d" % tci)
        for tpid, tci in tags
    ]

    def injector() -> socket.socket:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        sock.bind((net.veth_b, 0))
        return sock

    raw = in_netns(net.ns2, injector)
    capture = capture_in(net.ns1, net.veth_a, f"udp port {port}", duration=0.2)
    for frame in sent:
        raw.send(frame)
    batches = drain(capture)
    raw.close()
    assert frames(batches) == sent  # tag, priority bits and TPID restored byte for byte
    assert [int(n) for n in batches[0].wirelen] == [len(f) for f in sent]
    assert [s.vlan_id for s in map(parse, frames(batches)) if s] == [100]  # 802.1ad: not parsed


@pytest.mark.live
def test_tun_device_gives_raw_ip(net: Net) -> None:
    tun = f"ots-{PID}-t"

    def open_tun() -> int:
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tun.encode(), IFF_TUN | IFF_NO_PI))
        return fd

    try:
        tun_fd = in_netns(net.ns1, open_tun)
    except OSError as exc:
        pytest.skip(f"no tun support: {exc}")
    try:
        ip("-n", net.ns1, "addr", "add", f"{TUN_IP}/24", "dev", tun)
        ip("-n", net.ns1, "link", "set", tun, "up")
        port = next_port()
        sender = udp_socket(net.ns1, TUN_IP)
        capture = capture_in(net.ns1, tun, f"udp port {port}", duration=0.2)
        assert capture.linktype == LinkType.RAW
        sender.sendto(b"through the tunnel", (TUN_PEER, port))
        sender.sendto(b"filtered out", (TUN_PEER, port + 1))
        batches = drain(capture)
        sender.close()
    finally:
        os.close(tun_fd)  # a non-persistent tun device goes away with its last descriptor
    assert [len(b) for b in batches] == [1]
    assert int(batches[0].linktype[0]) == LinkType.RAW
    segment = parse(batches[0].frame(0), LinkType.RAW)
    assert segment is not None
    assert (segment.dst, segment.dport, segment.payload) == (TUN_PEER, port, b"through the tunnel")


@pytest.mark.live
def test_interface_removed_during_capture(net: Net) -> None:
    gone_a, gone_b = f"ots-{PID}-x", f"ots-{PID}-y"
    ip("-n", net.ns1, "link", "add", gone_a, "type", "veth", "peer", "name", gone_b)
    ip("-n", net.ns1, "link", "set", gone_a, "up")
    capture = capture_in(net.ns1, gone_a, None, promisc=False)
    threading.Timer(0.1, ip, ("-n", net.ns1, "link", "del", gone_a)).start()
    started = time.monotonic()
    with pytest.raises(CaptureError, match=f"interface {gone_a} is down") as info:
        drain(capture)
    assert time.monotonic() - started < 1.0
    assert info.value.source == f"live:{gone_a}"
