"""The baseline as a JSON document: a format marker and version, sorted records, checked on load.

A baseline file decides what otsight stays silent about, so one from elsewhere is read
defensively: the document is validated field by field (pydantic, unknown keys refused, no NaN,
bounded sizes) and any problem becomes a :class:`BaselineFormatError` naming the file and the
field. Saving is atomic (a temporary file in the same directory, then a rename), so a crash
never leaves half a baseline. The same dict form serves the store's ``baselines`` table.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .model import (
    MAX_INTERVALS,
    BaselineState,
    Device,
    Edge,
    Learning,
    Points,
    Series,
    Span,
)

FORMAT = "otsight-baseline"
VERSION = 1
MAX_FILE_BYTES = 512 * 1024 * 1024


class BaselineFormatError(ValueError):
    """A baseline file or document that cannot be used (unreadable, foreign, corrupt)."""


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


Text = Annotated[str, Field(min_length=1, max_length=256)]
Port = Annotated[int, Field(ge=0, le=65535)]
Time = Annotated[float, Field(ge=0)]


class _Learning(_Doc):
    seconds: Annotated[float, Field(ge=0)] = 0.0
    packets: Annotated[int, Field(ge=0)] = 0
    first_ts: Time | None = None
    last_ts: Time | None = None
    goal_s: Annotated[float, Field(ge=0)] | None = None
    goal_packets: Annotated[int, Field(ge=0)] | None = None


class _Device(_Doc):
    mac: Annotated[str, Field(pattern=r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")]
    first_ts: Time
    ips: list[Text] = []


class _Address(_Doc):
    ip: Text
    first_ts: Time


class _Edge(_Doc):
    client: Text
    server: Text
    transport: Text
    port: Port
    first_ts: Time
    protocols: dict[Text, dict[Text, Annotated[int, Field(ge=0)]]] = {}


class _Points(_Doc):
    server: Text
    protocol: Text
    unit: int
    table: Text
    read: tuple[int, int] | None = None
    write: tuple[int, int] | None = None
    values: list[tuple[int, float, float, Annotated[int, Field(ge=1)]]] = []


class _Series(_Doc):
    client: Text
    server: Text
    transport: Text
    port: Port
    protocol: Text
    operation: Text
    signature: Annotated[str, Field(max_length=256)] = ""
    count: Annotated[int, Field(ge=0)] = 0
    intervals: Annotated[list[Annotated[float, Field(ge=0)]], Field(max_length=MAX_INTERVALS)] = []
    max_interval: Annotated[float, Field(ge=0)] = 0.0
    median: Annotated[float, Field(ge=0)] | None = None
    mad: Annotated[float, Field(ge=0)] | None = None
    periodic: bool = False
    ignored: bool = False


class _Baseline(_Doc):
    format: Literal["otsight-baseline"]
    version: int
    learning: _Learning
    devices: list[_Device] = []
    addresses: list[_Address] = []
    edges: list[_Edge] = []
    points: list[_Points] = []
    series: list[_Series] = []


# ----------------------------------------------------------------------------- to a dict
def _pair(span: Span | None) -> list[int] | None:
    return None if span is None else [span.lo, span.hi]


def state_to_dict(state: BaselineState) -> dict[str, Any]:
    """The JSON-ready document of ``state`` (every list sorted: same state, same bytes)."""
    learning = state.learning
    return {
        "format": FORMAT,
        "version": VERSION,
        "learning": {
            "seconds": learning.seconds, "packets": learning.packets,
            "first_ts": learning.first_ts, "last_ts": learning.last_ts,
            "goal_s": learning.goal_s, "goal_packets": learning.goal_packets,
        },
        "devices": [
            {"mac": mac, "first_ts": d.first_ts, "ips": sorted(d.ips)}
            for mac, d in sorted(state.devices.items())
        ],
        "addresses": [{"ip": ip, "first_ts": ts} for ip, ts in sorted(state.addresses.items())],
        "edges": [
            {
                "client": k[0], "server": k[1], "transport": k[2], "port": k[3],
                "first_ts": e.first_ts,
                "protocols": {
                    p: dict(sorted(ops.items())) for p, ops in sorted(e.protocols.items())
                },
            }
            for k, e in sorted(state.edges.items())
        ],
        "points": [
            {
                "server": k[0], "protocol": k[1], "unit": k[2], "table": k[3],
                "read": _pair(p.read), "write": _pair(p.write),
                "values": [[a, lo, hi, n] for a, (lo, hi, n) in sorted(p.values.items())],
            }
            for k, p in sorted(state.points.items())
        ],
        "series": [
            {
                "client": k[0], "server": k[1], "transport": k[2], "port": k[3],
                "protocol": k[4], "operation": k[5], "signature": k[6],
                "count": s.count, "intervals": list(s.intervals), "max_interval": s.max_interval,
                "median": s.median, "mad": s.mad, "periodic": s.periodic, "ignored": s.ignored,
            }
            for k, s in sorted(state.series.items())
        ],
    }


# ----------------------------------------------------------------------------- from a dict
def _span(pair: tuple[int, int] | None) -> Span | None:
    if pair is None:
        return None
    if pair[0] > pair[1]:
        raise ValueError(f"range {list(pair)} runs backwards")
    return Span(pair[0], pair[1])


def _build(doc: _Baseline) -> BaselineState:
    lr = doc.learning
    state = BaselineState(learning=Learning(lr.seconds, lr.packets, lr.first_ts, lr.last_ts,
                                            lr.goal_s, lr.goal_packets))
    for d in doc.devices:
        state.devices[d.mac] = Device(d.first_ts, set(d.ips))
    for a in doc.addresses:
        state.addresses[a.ip] = a.first_ts
    for e in doc.edges:
        key = (e.client, e.server, e.transport, e.port)
        state.edges[key] = Edge(e.first_ts, {p: dict(ops) for p, ops in e.protocols.items()})
    for p in doc.points:
        pts = Points(_span(p.read), _span(p.write))
        for address, lo, hi, n in p.values:
            if lo > hi:
                raise ValueError(f"value range of address {address} runs backwards")
            pts.values[address] = (lo, hi, n)
        state.points[(p.server, p.protocol, p.unit, p.table)] = pts
    for s in doc.series:
        skey = (s.client, s.server, s.transport, s.port, s.protocol, s.operation, s.signature)
        state.series[skey] = Series(
            s.count, list(s.intervals), s.max_interval, s.median, s.mad, s.periodic, s.ignored
        )
    state.reindex()
    return state


def state_from_dict(doc: Any, where: str = "baseline") -> BaselineState:
    """A state from a parsed document; :class:`BaselineFormatError` says what is wrong."""
    if not isinstance(doc, dict):
        raise BaselineFormatError(f"{where}: not a baseline (a JSON object is expected)")
    if doc.get("format") != FORMAT:
        raise BaselineFormatError(
            f"{where}: not an otsight baseline (format is {doc.get('format')!r}, "
            f"expected {FORMAT!r})"
        )
    version = doc.get("version")
    if version != VERSION:
        raise BaselineFormatError(
            f"{where}: baseline format version {version!r} is not supported (this otsight "
            f"reads version {VERSION})"
        )
    try:
        return _build(_Baseline.model_validate(doc))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise BaselineFormatError(
            f"{where}: corrupt baseline: {field}: {first['msg']} "
            f"({exc.error_count()} problem(s))"
        ) from None
    except ValueError as exc:
        raise BaselineFormatError(f"{where}: corrupt baseline: {exc}") from None


# ----------------------------------------------------------------------------- files
def load_baseline(path: str | Path) -> BaselineState:
    """Read a baseline file written by :func:`save_baseline`."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BaselineFormatError(f"{path}: {size} bytes is too large for a baseline")
        text = path.read_bytes()
    except OSError as exc:
        raise BaselineFormatError(f"{path}: cannot read baseline: {exc.strerror or exc}") from None
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineFormatError(f"{path}: not a baseline (invalid JSON: {exc})") from None
    except RecursionError:
        raise BaselineFormatError(f"{path}: not a baseline (JSON nested too deeply)") from None
    return state_from_dict(doc, str(path))


def dump_baseline(state: BaselineState) -> bytes:
    """The file content for ``state``: deterministic bytes."""
    text = json.dumps(state_to_dict(state), indent=1, allow_nan=False)
    return (text + "\n").encode()


def _mode(path: Path) -> int:
    """The file's current permissions, or rw-r--r-- for a new one."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return 0o644


def save_baseline(state: BaselineState, path: str | Path) -> None:
    """Write ``state`` to ``path`` atomically (rename over the old file)."""
    path = Path(path)
    data = dump_baseline(state)
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, _mode(path))
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
