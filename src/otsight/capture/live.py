"""Live capture from a Linux interface: an AF_PACKET socket read into batches with kernel time.

Why this shape:

- The socket is created with protocol 0 (it receives nothing), set up, and only then bound with
  ``ETH_P_ALL``, so no packet of another interface or from before the filter can slip in. With a
  BPF filter the standard trick is applied on top: attach a drop-all filter, bind, drain what is
  queued, then attach the real filter.
- Each packet's time is the kernel's (``SO_TIMESTAMPNS`` ancillary data), never the time we
  happened to read it, so batches that wait in the socket buffer keep their true capture time.
  The kernel turns arrival stamping on lazily; setup waits for it (see
  :func:`await_arrival_timestamps`), else the first packets would carry their read time.
- ``PACKET_AUXDATA`` gives the length on the wire (a BPF filter trims the packet to the
  snaplen and the trimmed length is all ``recvmsg`` reports) and the VLAN tag that the kernel
  moves out of the packet (always on receive, with VLAN offload on send); the tag is put back
  as libpcap does, so trunk and SPAN ports, common in OT networks, keep their VLAN ids.
- Frames are received straight into one reusable buffer and copied out once per batch, and the
  socket is non-blocking behind ``poll`` with a wake-up socket pair, so :meth:`LiveCapture.stop`
  works promptly from another thread or a signal handler.

Filters are compiled by libpcap (through ctypes) so their syntax and meaning are tcpdump's, with
two differences. The kernel runs the filter on the packet without its VLAN tag, so ``udp``
matches tagged UDP (as with tcpdump) but ``vlan`` expressions could never match: they are
refused rather than silently capturing nothing (libpcap on a live handle uses BPF extensions for
them, which a ``pcap_open_dead`` handle cannot generate). Filters are compiled without the
interface's netmask, so ``ip broadcast`` is refused.

Socket option numbers are the generic Linux ones (x86, ARM, RISC-V, PowerPC, s390); alpha, MIPS,
PA-RISC and SPARC number some ``SO_*`` options differently and are not supported.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import math
import re
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from ..core.errors import CaptureError
from ..core.types import LinkType
from .batch import FrameBatch

# Linux ABI (include/uapi/linux/if_ether.h, if_packet.h, if_arp.h, asm-generic/socket.h).
ETH_P_ALL = 0x0003
ETH_P_8021Q = 0x8100
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS_OLD = 35
SO_TIMESTAMPNS_NEW = 64
SIOCGIFHWADDR = 0x8927
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
VLAN_TAG_LEN = 4
BPF_MAXINSNS = 4096
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
ARPHRD_NONE = 65534
IFNAMSIZ = 16

MAX_SNAPLEN = 262144  # libpcap's MAXIMUM_SNAPLEN
DEFAULT_BUFFER_SIZE = 4 << 20  # kernel socket buffer: absorbs bursts while Python catches up
BATCH_BUFFER_BYTES = 16 << 20  # upper bound of one batch's frame bytes
LIBPCAP_FALLBACK = "libpcap.so.0.8"  # Debian/Ubuntu runtime package name without the -dev symlink
PCAP_NETMASK_UNKNOWN = 0xFFFFFFFF
PERMISSION_DENIED = "permission denied: live capture needs root or CAP_NET_RAW"

# ARPHRD_* (what the kernel says the interface is) -> LINKTYPE_* of the bytes a SOCK_RAW gives.
# Loopback frames carry a zeroed Ethernet header; tun devices give bare IP packets.
LINKTYPE_FOR_ARPHRD = {
    ARPHRD_ETHER: LinkType.ETHERNET,
    ARPHRD_LOOPBACK: LinkType.ETHERNET,
    ARPHRD_NONE: LinkType.RAW,
}
# pcap_open_dead takes a DLT_*, not a LINKTYPE_*; they differ for raw IP (DLT_RAW is 12 on Linux).
_DLT_FOR_LINKTYPE = {int(LinkType.RAW): 12}

_AUXDATA = struct.Struct("=IIIHHHH")  # struct tpacket_auxdata
_TS_NEW = struct.Struct("=qq")  # struct __kernel_timespec
_TS_OLD = struct.Struct("@ll")  # struct timespec with the native time_t and long
_STATS = struct.Struct("=II")  # struct tpacket_stats
_VLAN = struct.Struct("!HH")
_ANC_SIZE = socket.CMSG_SPACE(_TS_NEW.size) + socket.CMSG_SPACE(_AUXDATA.size) + 64

_VLAN_KEYWORD = re.compile(r"(?<![\w.-])vlan(?![\w.-])")  # keywords are case-sensitive

BpfInsn = tuple[int, int, int, int]  # (code, jt, jf, k), the layout of bpf_insn and sock_filter
DROP_ALL: tuple[BpfInsn, ...] = ((0x06, 0, 0, 0),)  # BPF_RET|BPF_K 0: accept zero bytes


class _SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    )


class _BpfProgram(ctypes.Structure):
    _fields_ = (("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_SockFilter)))


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


_libpcap: ctypes.CDLL | None = None
_compile_lock = threading.Lock()  # libpcap before 1.8 compiled through global state


def _load_libpcap(source: str) -> ctypes.CDLL:
    """The libpcap shared library, loaded once; a clear install hint when it is missing."""
    global _libpcap
    if _libpcap is not None:
        return _libpcap
    for name in (ctypes.util.find_library("pcap"), LIBPCAP_FALLBACK):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.pcap_open_dead.argtypes = (ctypes.c_int, ctypes.c_int)
        lib.pcap_open_dead.restype = ctypes.c_void_p
        lib.pcap_compile.argtypes = (
            ctypes.c_void_p,
            ctypes.POINTER(_BpfProgram),
            ctypes.c_char_p,
            ctypes.c_int,
            ctypes.c_uint32,
        )
        lib.pcap_compile.restype = ctypes.c_int
        lib.pcap_geterr.argtypes = (ctypes.c_void_p,)
        lib.pcap_geterr.restype = ctypes.c_char_p
        lib.pcap_freecode.argtypes = (ctypes.POINTER(_BpfProgram),)
        lib.pcap_freecode.restype = None
        lib.pcap_close.argtypes = (ctypes.c_void_p,)
        lib.pcap_close.restype = None
        _libpcap = lib
        return lib
    raise CaptureError(
        source,
        "BPF filters need libpcap, which was not found; install it "
        "(Debian/Ubuntu: apt install libpcap0.8, Fedora/RHEL: dnf install libpcap)",
    )


def compile_filter(
    expression: str,
    linktype: int = LinkType.ETHERNET,
    snaplen: int = 65535,
    source: str = "bpf",
) -> tuple[BpfInsn, ...]:
    """Compile a tcpdump filter expression to classic BPF for frames of ``linktype``.

    Matching packets are accepted up to ``snaplen`` bytes, so an attached filter also truncates.
    Raises :class:`CaptureError` with libpcap's message for a bad expression.
    """
    if "\0" in expression:
        raise CaptureError(source, f"bad filter {expression!r}: contains a NUL character")
    lib = _load_libpcap(source)
    dlt = _DLT_FOR_LINKTYPE.get(int(linktype), int(linktype))
    with _compile_lock:
        handle = lib.pcap_open_dead(dlt, snaplen)
        if not handle:
            raise CaptureError(source, f"libpcap cannot compile filters for link type {linktype}")
        try:
            program = _BpfProgram()
            status = lib.pcap_compile(
                handle, ctypes.byref(program), expression.encode(), 1, PCAP_NETMASK_UNKNOWN
            )
            if status != 0:
                raw = lib.pcap_geterr(handle)
                message = raw.decode(errors="replace") if isinstance(raw, bytes) else "error"
                raise CaptureError(source, f"bad filter {expression!r}: {message}")
            try:
                insns = tuple(
                    (int(i.code), int(i.jt), int(i.jf), int(i.k))
                    for i in program.bf_insns[: program.bf_len]
                )
            finally:
                lib.pcap_freecode(ctypes.byref(program))
        finally:
            lib.pcap_close(handle)
    if len(insns) > BPF_MAXINSNS:
        raise CaptureError(source, f"filter {expression!r} is too long for the kernel")
    return insns


def attach_filter(sock: socket.socket, insns: tuple[BpfInsn, ...]) -> None:
    """Attach a classic BPF program to ``sock`` (SO_ATTACH_FILTER replaces any earlier one)."""
    array = (_SockFilter * len(insns))(*(_SockFilter(*insn) for insn in insns))
    prog = _SockFprog(len(insns), ctypes.cast(array, ctypes.POINTER(_SockFilter)))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(prog))


def enable_timestamps(sock: socket.socket) -> None:
    """Ask for nanosecond kernel timestamps as ancillary data (SO_TIMESTAMPNS)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS_NEW, 1)
    except OSError:  # kernels before 5.1; the same layout on 64-bit platforms
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS_OLD, 1)


def _timestamp_ns(ancillary: list[tuple[int, int, bytes]]) -> int:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS_NEW:
            sec, nsec = _TS_NEW.unpack(data)
            return int(sec * 1_000_000_000 + nsec)
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS_OLD:
            sec, nsec = _TS_OLD.unpack(data)
            return int(sec * 1_000_000_000 + nsec)
    return 0


def await_arrival_timestamps(limit: float = 0.25) -> None:
    """Wait until the kernel stamps packets when they arrive, not when they are read.

    The kernel switches arrival stamping on through deferred work when the first socket asks
    for timestamps; until then a packet socket reports the time of recvmsg, so a packet that
    waited in the queue would get a late time and batches would go out of order. A one-byte
    datagram to ourselves over the loopback shows when stamping is on (its stamp predates the
    read). Without a usable loopback (no lo in the namespace) this returns at once.
    """
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError:
        return
    with probe:
        try:
            enable_timestamps(probe)
            probe.bind(("127.0.0.1", 0))
            probe.setblocking(False)
            target = probe.getsockname()
        except OSError:
            return
        give_up = time.monotonic() + limit
        while time.monotonic() < give_up:
            try:
                probe.sendto(b"\0", target)
            except OSError:
                return
            time.sleep(0.0005)
            before = time.time_ns()
            try:
                _data, ancillary, _flags, _address = probe.recvmsg(1, _ANC_SIZE)
            except BlockingIOError:
                continue
            except OSError:
                return
            stamp = _timestamp_ns(ancillary)
            if 0 < stamp < before:
                return


def linktype_for_arphrd(interface: str, arphrd: int) -> LinkType:
    """The pcap link type of frames read from an interface of hardware type ``arphrd``."""
    try:
        return LINKTYPE_FOR_ARPHRD[arphrd]
    except KeyError:
        raise CaptureError(
            f"live:{interface}",
            f"interface {interface} has hardware type ARPHRD {arphrd}, which otsight cannot "
            "capture (supported: Ethernet, loopback, tun)",
        ) from None


def _arphrd_type(sock: socket.socket, interface: str, ifindex: int) -> int:
    """Hardware type of ``interface``: sysfs, else the kernel through the socket's namespace.

    sysfs shows the network namespace it was mounted in, which differs from the socket's when a
    thread entered another namespace; the ifindex check catches that.
    """
    base = f"/sys/class/net/{interface}"
    try:
        with open(f"{base}/ifindex", encoding="ascii") as fh:
            same = int(fh.read()) == ifindex
        if same:
            with open(f"{base}/type", encoding="ascii") as fh:
                return int(fh.read())
    except (OSError, ValueError):
        pass
    request = struct.pack(f"{IFNAMSIZ}s16s", interface.encode(), b"")
    reply = fcntl.ioctl(sock.fileno(), SIOCGIFHWADDR, request)
    family: int = struct.unpack_from("=H", reply, IFNAMSIZ)[0]
    return family


class _Pending:
    """Frames of the batch being filled: parallel lists plus the end of the used buffer."""

    __slots__ = ("caplens", "end", "offsets", "stamps", "wirelens")

    def __init__(self) -> None:
        self.offsets: list[int] = []
        self.caplens: list[int] = []
        self.wirelens: list[int] = []
        self.stamps: list[int] = []
        self.end = 0


@dataclass(frozen=True, slots=True)
class LiveStats:
    """Counters of a live capture.

    ``received`` and ``dropped`` come from the kernel (PACKET_STATISTICS): packets that passed
    the filter, and those of them lost because the socket buffer was full. ``delivered`` counts
    frames handed over in batches.
    """

    received: int
    dropped: int
    delivered: int


class LiveCapture:
    """Frames from a Linux network interface, yielded as :class:`FrameBatch` objects.

    A batch is handed over when it holds ``batch_frames`` frames, or ``batch_timeout`` seconds
    after its first frame was read, so a quiet link still delivers promptly; no empty batches.
    Iteration ends after ``count`` frames, after ``duration`` seconds (wall time from the start
    of iteration), or on :meth:`stop`; frames already read are delivered first. Ending the
    iteration closes the socket; a capture is iterated once.
    """

    def __init__(
        self,
        interface: str,
        bpf_filter: str | None = None,
        snaplen: int = 65535,
        batch_frames: int = 4096,
        batch_timeout: float = 0.1,
        promisc: bool = True,
        *,
        count: int | None = None,
        duration: float | None = None,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
    ) -> None:
        if not 1 <= snaplen <= MAX_SNAPLEN:
            raise ValueError(f"snaplen must be in 1..{MAX_SNAPLEN}, not {snaplen}")
        if batch_frames < 1:
            raise ValueError(f"batch_frames must be at least 1, not {batch_frames}")
        if not batch_timeout > 0:
            raise ValueError(f"batch_timeout must be positive, not {batch_timeout}")
        if count is not None and count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        if duration is not None and not duration > 0:
            raise ValueError(f"duration must be positive, not {duration}")
        self.interface = interface
        self.source = f"live:{interface}"
        self.bpf_filter = bpf_filter
        self.snaplen = snaplen
        self._batch_frames = batch_frames
        self._batch_timeout = batch_timeout
        self._count = count
        self._duration = duration
        self._stop_requested = False
        self._finished = False
        self._closed = False
        self._iterating = False
        self._error: CaptureError | None = None
        self._delivered = 0
        self.ifindex = 0
        self.linktype = LinkType.ETHERNET
        self._loopback = False  # drop the outgoing copy of each looped packet
        self._ethernet = False  # re-insert offloaded VLAN tags
        self._received = 0
        self._dropped = 0
        self._io_lock = threading.RLock()
        self._stats_lock = threading.RLock()
        # Room for a full snaplen frame plus a re-inserted VLAN tag at any write position.
        self._room = snaplen + VLAN_TAG_LEN
        self._buf = bytearray(max(self._room, min(batch_frames * self._room, BATCH_BUFFER_BYTES)))
        self._view = memoryview(self._buf)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        try:
            self._sock = self._open_socket()
            try:
                self._setup(promisc, buffer_size)
            except BaseException:
                self._sock.close()
                raise
        except BaseException:
            self._wake_r.close()
            self._wake_w.close()
            raise
        self._poller = select.poll()
        self._poller.register(self._sock.fileno(), select.POLLIN)
        self._poller.register(self._wake_r.fileno(), select.POLLIN)

    def _open_socket(self) -> socket.socket:
        if sys.platform != "linux":
            raise CaptureError(self.source, "live capture needs Linux (AF_PACKET sockets)")
        name = self.interface
        if (
            not name
            or len(name.encode()) >= IFNAMSIZ
            or name in {".", ".."}
            or any(c in {"/", "\0"} or c.isspace() for c in name)
        ):
            raise CaptureError(self.source, f"invalid interface name {name!r}")
        try:
            # Protocol 0: the socket receives nothing until bind() names interface and protocol.
            return socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except PermissionError:
            raise CaptureError(self.source, PERMISSION_DENIED) from None
        except OSError as exc:
            raise CaptureError(self.source, f"cannot open a packet socket: {exc.strerror}") from exc

    def _setup(self, promisc: bool, buffer_size: int) -> None:
        sock, name = self._sock, self.interface
        try:
            # First, so the kernel's deferred switch-on of timestamping gets a head start.
            enable_timestamps(sock)
        except OSError as exc:
            raise CaptureError(self.source, f"no kernel timestamps: {exc.strerror}") from exc
        try:
            self.ifindex = socket.if_nametoindex(name)
        except OSError:
            known = ", ".join(sorted(n for _, n in socket.if_nameindex()))
            raise CaptureError(
                self.source, f"no such interface {name!r} (available: {known})"
            ) from None
        try:
            arphrd = _arphrd_type(sock, name, self.ifindex)
        except OSError:
            raise CaptureError(self.source, f"no such interface {name!r}") from None
        self.linktype = linktype_for_arphrd(name, arphrd)
        self._loopback = arphrd == ARPHRD_LOOPBACK
        self._ethernet = self.linktype == LinkType.ETHERNET and not self._loopback
        program = None
        if self.bpf_filter is not None and _VLAN_KEYWORD.search(self.bpf_filter):
            raise CaptureError(
                self.source,
                f"filter {self.bpf_filter!r}: 'vlan' filters are not supported in live capture "
                "(the kernel filters packets after removing their VLAN tag); filter on the "
                "inner headers instead, the frames keep their tags",
            )
        if self.bpf_filter is not None:
            program = compile_filter(self.bpf_filter, self.linktype, self.snaplen, self.source)
        try:
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, buffer_size)
            except OSError:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer_size)
            sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            await_arrival_timestamps()
            if self._loopback:
                # Each looped packet passes lo twice; keep the incoming copy, like tcpdump.
                # Best effort (Linux 4.20+): the outgoing copies are also dropped when read.
                with contextlib.suppress(OSError):
                    sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            if program is not None:
                attach_filter(sock, DROP_ALL)
            sock.bind((name, ETH_P_ALL))
            sock.setblocking(False)
            if program is not None:
                self._drain_socket()
                attach_filter(sock, program)
            if promisc:
                mreq = struct.pack("=iHH8s", self.ifindex, PACKET_MR_PROMISC, 0, b"")
                sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
            sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size)  # reset the counters
        except PermissionError:
            raise CaptureError(self.source, PERMISSION_DENIED) from None
        except OSError as exc:
            if exc.errno in (errno.ENODEV, errno.ENXIO):
                raise CaptureError(self.source, f"no such interface {name!r}") from None
            raise CaptureError(
                self.source, f"cannot set up capture on {name}: {exc.strerror or exc}"
            ) from exc

    def _drain_socket(self) -> None:
        """Discard what was queued before the real filter, so no unfiltered packet leaks."""
        while True:
            try:
                self._sock.recv(1)
            except BlockingIOError:
                return

    # -- control ---------------------------------------------------------------------------

    def stop(self) -> None:
        """End the iteration soon; frames already read are still delivered.

        Safe from any thread and from a signal handler: it sets a flag and writes one byte to a
        socket pair that wakes the poll.
        """
        self._stop_requested = True
        with contextlib.suppress(OSError):  # buffer full (already woken) or closed
            self._wake_w.send(b"\0")

    def close(self) -> None:
        """Stop and release the socket (kernel buffer, promiscuous mode). Idempotent."""
        self.stop()
        with self._io_lock:
            if self._closed:
                return
            self._fold_stats()
            self._closed = True
            self._sock.close()
            self._wake_r.close()
            self._wake_w.close()

    def __enter__(self) -> LiveCapture:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def stats(self) -> LiveStats:
        """Current counters (the kernel's are read now; they stay readable after close)."""
        self._fold_stats()
        return LiveStats(self._received, self._dropped, self._delivered)

    def _fold_stats(self) -> None:
        # PACKET_STATISTICS resets the kernel counters on every read, so sum them here.
        with self._stats_lock:
            if self._closed:
                return
            try:
                raw = self._sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size)
            except OSError:
                return
            packets, drops = _STATS.unpack(raw)
            self._received += packets  # the kernel adds drops to packets before reporting
            self._dropped += drops

    # -- iteration -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[FrameBatch]:
        if self._iterating:
            raise RuntimeError(f"{self.source} is already being iterated")
        self._iterating = True
        end_at = None if self._duration is None else time.monotonic() + self._duration
        try:
            while not self._finished:
                batch = self._collect(end_at)
                if batch is not None:
                    yield batch
            if self._error is not None:
                raise self._error
        finally:
            self._iterating = False
            self._finished = True
            self.close()

    def _collect(self, end_at: float | None) -> FrameBatch | None:
        """Read frames until the batch is full or due, or the capture must end."""
        pending = _Pending()
        with self._io_lock:
            if self._closed:
                self._finished = True
                return None
            want = self._batch_frames
            if self._count is not None:
                want = min(want, self._count - self._delivered)
            first_at: float | None = None
            while True:
                # Checked before reading, so a backlog or a flood cannot outlast the limits.
                if self._stop_requested or (end_at is not None and time.monotonic() >= end_at):
                    self._finished = True
                    break
                self._read_available(pending, want)
                if self._error is not None:
                    self._finished = True
                    break
                n = len(pending.offsets)
                if self._count is not None and self._delivered + n >= self._count:
                    self._finished = True
                    break
                if n >= want or pending.end + self._room > len(self._buf):
                    break
                now = time.monotonic()
                timeout = math.inf
                if end_at is not None:
                    if now >= end_at:
                        self._finished = True
                        break
                    timeout = end_at - now
                if n:
                    if first_at is None:
                        first_at = now
                    left = first_at + self._batch_timeout - now
                    if left <= 0:
                        break
                    timeout = min(timeout, left)
                self._wait(timeout)
            n = len(pending.offsets)
            if not n:
                return None
            batch = FrameBatch(
                buf=np.frombuffer(self._buf, dtype=np.uint8, count=pending.end).copy(),
                offset=np.array(pending.offsets, dtype=np.int64),
                caplen=np.array(pending.caplens, dtype=np.int32),
                wirelen=np.array(pending.wirelens, dtype=np.int32),
                ts_ns=np.array(pending.stamps, dtype=np.int64),
                linktype=np.full(n, int(self.linktype), dtype=np.int32),
                first_frame=self._delivered + 1,
                source=self.source,
            )
            self._delivered += n
            self._fold_stats()
            return batch

    def _wait(self, timeout: float) -> None:
        """Block until a packet, a stop() or the timeout (seconds, may be infinite)."""
        ms = None if math.isinf(timeout) else max(1, math.ceil(timeout * 1000))
        for fd, _events in self._poller.poll(ms):
            if fd == self._wake_r.fileno():
                with contextlib.suppress(OSError):
                    while self._wake_r.recv(64):
                        pass

    def _read_available(self, pending: _Pending, want: int) -> None:
        """Receive the queued packets into the batch buffer, up to ``want`` frames in all.

        The per-packet hot path: one recvmsg straight into the shared buffer, then the
        ancillary data; no per-packet objects beyond what recvmsg itself returns.
        """
        offsets, caplens = pending.offsets, pending.caplens
        wirelens, stamps, end = pending.wirelens, pending.stamps, pending.end
        recv = self._sock.recvmsg_into
        view, snaplen, room, size = self._view, self.snaplen, self._room, len(self._buf)
        drop_outgoing, ethernet = self._loopback, self._ethernet
        while len(offsets) < want and end + room <= size:
            try:
                nbytes, ancillary, _flags, address = recv(
                    [view[end : end + snaplen]], _ANC_SIZE, socket.MSG_TRUNC
                )
            except BlockingIOError:
                break
            except OSError as exc:
                if not self._stop_requested:  # else closed under us by close(): just end
                    self._error = self._receive_error(exc, len(offsets))
                break
            if drop_outgoing and address[2] == PACKET_OUTGOING:
                continue
            caplen = nbytes if nbytes < snaplen else snaplen
            wirelen = nbytes
            ts_ns = tpid = tci = 0
            for level, kind, data in ancillary:
                if level == SOL_PACKET:
                    if kind == PACKET_AUXDATA:
                        status, wirelen, _snap, _mac, _net, tci, tpid = _AUXDATA.unpack(data)
                        if not (ethernet and (tci or status & TP_STATUS_VLAN_VALID)):
                            tpid = 0
                        elif not (tpid or status & TP_STATUS_VLAN_TPID_VALID):
                            tpid = ETH_P_8021Q
                elif kind == SO_TIMESTAMPNS_NEW:
                    sec, nsec = _TS_NEW.unpack(data)
                    ts_ns = sec * 1_000_000_000 + nsec
                elif kind == SO_TIMESTAMPNS_OLD:
                    sec, nsec = _TS_OLD.unpack(data)
                    ts_ns = sec * 1_000_000_000 + nsec
            if tpid and caplen >= 12:
                # Offloaded 802.1Q tag: put it back after the MAC addresses, as libpcap does.
                view[end + 16 : end + caplen + 4] = bytes(view[end + 12 : end + caplen])
                _VLAN.pack_into(view, end + 12, tpid, tci)
                caplen = min(caplen + VLAN_TAG_LEN, snaplen)
                wirelen += VLAN_TAG_LEN
            if not ts_ns:  # cannot happen with SO_TIMESTAMPNS set; never leave a frame at 1970
                ts_ns = time.time_ns()
            offsets.append(end)
            caplens.append(caplen)
            wirelens.append(wirelen if wirelen > caplen else caplen)
            stamps.append(ts_ns)
            end += caplen
        pending.end = end

    def _receive_error(self, exc: OSError, pending: int) -> CaptureError:
        packets = self._delivered + pending
        if exc.errno == errno.ENETDOWN:
            return CaptureError(self.source, f"interface {self.interface} is down", packets)
        if exc.errno in (errno.ENODEV, errno.ENXIO):
            return CaptureError(self.source, f"interface {self.interface} disappeared", packets)
        return CaptureError(self.source, f"receive failed: {exc.strerror or exc}", packets)
