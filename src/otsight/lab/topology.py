"""Network namespaces, one Linux bridge and veth pairs, with teardown that always happens.

Layout of one run (``RUN`` is a 4-hex-digit run id)::

    otslab-RUN-sw      the switch namespace: bridge ``br0`` and the host ends ``v-NAME`` of veths
    otslab-RUN-NAME    one namespace per device, interface ``eth0`` (vendor MAC, IPv4 address)

Nothing of the plant lives in the root namespace: the bridge and every veth end sit inside the
namespaces, so deleting the namespaces removes every link, and no plant packet can reach a real
interface (no namespace has a route out, IPv6 is disabled in all of them).

Teardown is guaranteed three ways: the context manager's ``__exit__`` (also on exceptions and on
Ctrl-C, and on SIGTERM/SIGHUP, which are turned into an exception while the run lives), an
``atexit`` hook, and :func:`sweep_stale`, which removes the namespaces of runs whose owning
process is gone (it runs at the start of every run and as ``otsight lab cleanup``). Processes are
always ended by their PID (each child leads its own session, so its process group id is its PID).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

log = logging.getLogger(__name__)

PREFIX = "otslab"
OWNER_DIR = Path("/run/otsight-lab")
BRIDGE = "br0"
RUN_ENV = "OTSIGHT_LAB_RUN"  # set in every spawned process's environment: find them by run
_NS_RE = re.compile(rf"^{PREFIX}-([0-9a-f]{{4}})-([a-z0-9]+)$")


class LabError(RuntimeError):
    """The lab cannot be built or run (missing tool, not root, command failed)."""


class LabInterrupted(KeyboardInterrupt):
    """A termination signal arrived while a run was live."""


def require_root_and_tools(tools: Sequence[str] = ("ip", "tcpdump")) -> None:
    """Raise :class:`LabError` with a clear message unless root and the tools are present."""
    if os.geteuid() != 0:
        raise LabError(
            "the lab needs root (it creates network namespaces, a bridge and veth pairs and "
            "captures with tcpdump): run it with sudo or as root"
        )
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        raise LabError(
            f"missing tools: {', '.join(missing)} (Debian: apt-get install iproute2 tcpdump nmap)"
        )


def _run(argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=30)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def list_namespaces() -> list[str]:
    """All network namespace names (``ip netns list``)."""
    out = _run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def namespace_pids(ns: str) -> list[int]:
    """PIDs of processes living in namespace ``ns``."""
    out = _run(["ip", "netns", "pids", ns], check=False).stdout
    return [int(tok) for tok in out.split() if tok.isdigit()]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_pids(pids: Sequence[int], grace_s: float = 2.0) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_pid_alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def processes_of_run(run_id: str) -> list[int]:
    """PIDs of live processes started by run ``run_id`` (found by their environment)."""
    needle = f"{RUN_ENV}={run_id}".encode()
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _delete_namespace(ns: str) -> None:
    _kill_pids(namespace_pids(ns))
    _run(["ip", "netns", "delete", ns], check=False)


def run_namespaces(run_id: str) -> list[str]:
    """The namespaces that belong to run ``run_id``."""
    return [ns for ns in list_namespaces() if ns.startswith(f"{PREFIX}-{run_id}-")]


def sweep_stale(include_live: bool = False) -> list[str]:
    """Delete namespaces of lab runs whose owner process is gone; returns what was removed.

    A run's owner is recorded in ``/run/otsight-lab/RUN.json``; runs of live owners are left
    alone (other runs may be going on concurrently) unless ``include_live``.
    """
    removed: list[str] = []
    for ns in list_namespaces():
        match = _NS_RE.match(ns)
        if not match:
            continue
        run_id = match.group(1)
        owner = _owner_pid(run_id)
        if owner is not None and _pid_alive(owner) and not include_live:
            continue
        _delete_namespace(ns)
        removed.append(ns)
    if OWNER_DIR.is_dir():
        for path in OWNER_DIR.glob("*.json"):
            owner = _owner_pid(path.stem)
            if owner is None or not _pid_alive(owner) or include_live:
                path.unlink(missing_ok=True)
    return removed


def _owner_pid(run_id: str) -> int | None:
    try:
        data = json.loads((OWNER_DIR / f"{run_id}.json").read_text())
    except (OSError, ValueError):
        return None
    pid = data.get("pid")
    return pid if isinstance(pid, int) else None


@dataclass(frozen=True, slots=True)
class Host:
    """A device's place in the topology."""

    name: str
    ip: str
    prefix_len: int
    mac: str
    dhcp: bool = False  # no static address at build time: a DHCP client in the namespace leases it


class Topology:
    """Builds the plant network on ``__enter__`` and removes all of it on ``__exit__``."""

    def __init__(self, hosts: Sequence[Host], run_id: str | None = None) -> None:
        names = [h.name for h in hosts]
        if len(set(names)) != len(names):
            raise ValueError("host names must be unique")
        for name in names:
            if not re.fullmatch(r"[a-z][a-z0-9]{0,12}", name) or name == "sw":
                raise ValueError(f"bad host name {name!r}: 1-13 of [a-z0-9], not 'sw'")
        self.hosts = list(hosts)
        self.run_id = run_id or secrets.token_hex(2)
        self.switch_ns = f"{PREFIX}-{self.run_id}-sw"
        self.bridge = BRIDGE
        self._procs: list[tuple[str, subprocess.Popen[Any]]] = []
        self.spawned: list[tuple[str, int]] = []  # every (label, pid) ever started
        self._old_handlers: dict[int, Any] = {}
        self._torn_down = True

    # -- names ---------------------------------------------------------------------------------
    def ns(self, host: str) -> str:
        """The namespace of ``host`` (a host name, or ``"sw"`` for the switch)."""
        return f"{PREFIX}-{self.run_id}-{host}"

    def namespaces(self) -> list[str]:
        return [self.switch_ns] + [self.ns(h.name) for h in self.hosts]

    # -- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Topology:
        require_root_and_tools()
        sweep_stale()
        self._torn_down = False
        self._install_signal_handlers()
        atexit.register(self.teardown)
        try:
            OWNER_DIR.mkdir(parents=True, exist_ok=True)
            (OWNER_DIR / f"{self.run_id}.json").write_text(
                json.dumps({"pid": os.getpid(), "started": time.time()})
            )
            self._build()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.teardown()

    def _install_signal_handlers(self) -> None:
        def _raise(signum: int, _frame: FrameType | None) -> None:
            raise LabInterrupted(f"signal {signal.Signals(signum).name}")

        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError):  # not in the main thread: leave them be
                self._old_handlers[sig] = signal.signal(sig, _raise)

    def _restore_signal_handlers(self) -> None:
        for sig, handler in self._old_handlers.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, handler)
        self._old_handlers.clear()

    def _build(self) -> None:
        sw = self.switch_ns
        self._add_namespace(sw)
        _run(["ip", "-n", sw, "link", "add", self.bridge, "type", "bridge", "stp_state", "0",
              "mcast_snooping", "0"])
        _run(["ip", "-n", sw, "link", "set", self.bridge, "up"])
        for host in self.hosts:
            ns = self.ns(host.name)
            self._add_namespace(ns)
            port = f"v-{host.name}"
            _run(["ip", "link", "add", "name", port, "netns", sw, "type", "veth",
                  "peer", "name", "eth0", "netns", ns])
            _run(["ip", "-n", ns, "link", "set", "dev", "eth0", "address", host.mac])
            if not host.dhcp:
                self.add_address(host.name, host.ip, host.prefix_len)
            _run(["ip", "-n", sw, "link", "set", port, "master", self.bridge])
            _run(["ip", "-n", sw, "link", "set", port, "up"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "up"])

    def add_address(self, host: str, ip: str, prefix_len: int) -> None:
        """Give ``host``'s ``eth0`` a static address (also the fallback when DHCP fails)."""
        _run(["ip", "-n", self.ns(host), "addr", "replace", f"{ip}/{prefix_len}", "dev", "eth0"])

    def addresses(self, host: str) -> list[str]:
        """The IPv4 addresses (``a.b.c.d/len``) on ``host``'s ``eth0``."""
        out = _run(["ip", "-n", self.ns(host), "-o", "-4", "addr", "show", "dev", "eth0"],
                   check=False).stdout
        return [line.split()[3] for line in out.splitlines() if len(line.split()) > 3]

    @staticmethod
    def _add_namespace(ns: str) -> None:
        _run(["ip", "netns", "add", ns])
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])
        _run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
              "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])

    # -- processes -----------------------------------------------------------------------------
    def spawn(
        self,
        host: str,
        argv: Sequence[str],
        *,
        stdout: int | IO[Any] | None = subprocess.DEVNULL,
        stderr: int | IO[Any] | None = subprocess.DEVNULL,
        label: str | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside ``host``'s namespace; it is ended at teardown (by PID).

        The child leads a new session (so Ctrl-C on the terminal reaches only the runner, which
        then ends the children in order) and carries ``OTSIGHT_LAB_RUN=<run id>``.
        """
        if self._torn_down:
            raise LabError("topology is not up")
        env = dict(os.environ, **{RUN_ENV: self.run_id})
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(host), *argv],
            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True,
            env=env,
        )
        self._procs.append((label or f"{host}:{argv[0]}", proc))
        self.spawned.append((label or f"{host}:{argv[0]}", proc.pid))
        return proc

    def stop(self, proc: subprocess.Popen[Any], sig: int = signal.SIGTERM,
             timeout: float = 5.0) -> int | None:
        """End one spawned process (its group, led by its PID) and reap it."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        return proc.returncode

    def teardown(self) -> None:
        """Idempotent: end every process (reverse start order), delete every namespace."""
        if self._torn_down:
            return
        self._torn_down = True
        old_int = signal.getsignal(signal.SIGINT)
        with contextlib.suppress(ValueError):  # a second Ctrl-C must not cut teardown short
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for label, proc in reversed(self._procs):
                try:
                    self.stop(proc, timeout=3.0)
                except Exception:  # pragma: no cover - keep tearing down
                    log.exception("could not stop %s (pid %d)", label, proc.pid)
            self._procs.clear()
            for ns in reversed(self.namespaces()):
                if ns in list_namespaces():
                    _delete_namespace(ns)
            (OWNER_DIR / f"{self.run_id}.json").unlink(missing_ok=True)
        finally:
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signal.SIGINT, old_int)
            self._restore_signal_handlers()
            atexit.unregister(self.teardown)

    def leftovers(self) -> dict[str, list[str]]:
        """What of this run still exists (empty lists after a clean teardown)."""
        nss = run_namespaces(self.run_id)
        alive = [f"{label}:{pid}" for label, pid in self.spawned if _pid_alive(pid)]
        links = [ln for ln in _run(["ip", "-o", "link"], check=False).stdout.splitlines()
                 if f"v-{self.run_id}" in ln]
        return {"namespaces": nss, "processes": alive, "root_links": links}


def wait_for_line(proc: subprocess.Popen[bytes], needle: bytes, timeout: float,
                  stream: str = "stdout") -> bytes:
    """Read ``proc``'s pipe until a line containing ``needle``; raise LabError on timeout/exit."""
    pipe = proc.stdout if stream == "stdout" else proc.stderr
    if pipe is None:
        raise LabError("wait_for_line needs a pipe")
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(pipe, selectors.EVENT_READ)
        while needle not in seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LabError(f"timed out waiting for {needle!r}; got {seen[-400:]!r}")
            if not sel.select(timeout=min(left, 0.2)):
                if proc.poll() is not None:
                    raise LabError(f"process exited ({proc.returncode}): {seen[-400:]!r}")
                continue
            chunk = os.read(pipe.fileno(), 4096)
            if not chunk:
                proc.wait(timeout=5)
                raise LabError(f"process exited ({proc.returncode}): {seen[-400:]!r}")
            seen += chunk
    return seen
