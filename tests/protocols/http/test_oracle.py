"""HTTP against tshark on every corpus capture the catalogue lists with HTTP.

tshark runs with body reassembly off so that it reports a response at the frame that completes
its head, as we do. Two multisets keyed by frame number:
- requests: (frame, method, uri, host, user agent);
- responses: (frame, status code, server).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from otsight.protocols.http import HttpDissector
from otsight.protocols.http.events import HttpRequest, HttpResponse
from otsight.testing import tshark
from otsight.testing.corpus import catalog_captures, shared_data
from otsight.testing.protocol_oracle import dissect

FIELDS = [
    "http.request.method",
    "http.request.uri",
    "http.host",
    "http.user_agent",
    "http.response.code",
    "http.server",
]
SEP = "\x1f"  # user agents hold commas: aggregate with a unit separator instead
EXTRA = ["-o", "http.desegment_body:FALSE", "-E", f"aggregator={SEP}"]
KINDS = ("request", "response")
Key = tuple[Any, ...]


def _values(text: str, n: int) -> list[str | None]:
    parts: list[str | None] = [p or None for p in text.split(SEP)] if text else []
    return (parts + [None] * n)[:n]


def theirs(path: Path) -> dict[str, Counter[Key]]:
    out: dict[str, Counter[Key]] = {k: Counter() for k in KINDS}
    rows = tshark.fields(path, ["frame.number", *FIELDS], "http", EXTRA)
    for row in rows:
        d = dict(zip(["frame", *FIELDS], row, strict=True))
        frame = int(d["frame"])
        methods = [m for m in d["http.request.method"].split(SEP) if m]
        n = len(methods)
        uris = _values(d["http.request.uri"], n)
        hosts = _values(d["http.host"], n)
        agents = _values(d["http.user_agent"], n)
        for i in range(n):
            out["request"][(frame, methods[i], uris[i], hosts[i], agents[i])] += 1
        codes = [c for c in d["http.response.code"].split(SEP) if c]
        servers = _values(d["http.server"], len(codes))
        for i, code in enumerate(codes):
            out["response"][(frame, int(code), servers[i])] += 1
    return out


def ours(path: Path) -> dict[str, Counter[Key]]:
    out: dict[str, Counter[Key]] = {k: Counter() for k in KINDS}
    for e in dissect(path, [HttpDissector]):
        if isinstance(e, HttpRequest):
            out["request"][(e.frame, e.method, e.uri, e.host, e.user_agent)] += 1
        elif isinstance(e, HttpResponse):
            out["response"][(e.frame, e.status_code, e.server)] += 1
    return out


def test_http_against_tshark() -> None:
    root = shared_data()
    if root is None or not tshark.available():
        pytest.skip("needs ../shared/data and tshark")
    captures = catalog_captures(root, "HTTP")
    assert captures
    totals = {k: [0, 0] for k in KINDS}
    lines = [f"{'capture':40} " + " ".join(f"{k:>19}" for k in KINDS)]
    problems = []
    for path in captures:
        their, our = theirs(path), ours(path)
        cells = []
        for kind in KINDS:
            a, b = our[kind], their[kind]
            n = max(a.total(), b.total())
            m = (a & b).total()
            totals[kind][0] += n
            totals[kind][1] += m
            cells.append(f"{n:>11} {(m / n if n else 1):7.2%}")
            if m < n:
                problems.append(
                    f"{path.name} {kind}: ours-only {list((a - b).items())[:3]} "
                    f"tshark-only {list((b - a).items())[:3]}"
                )
        lines.append(f"{path.name[:40]:40} {' '.join(cells)}")
    lines.append(
        f"{'TOTAL':40} "
        + " ".join(f"{n:>11} {(m / n if n else 1):7.2%}" for n, m in totals.values())
    )
    print("\n" + "\n".join(lines))
    print("\n".join(problems))
    for kind, (n, m) in totals.items():
        assert n > 0, kind
        assert m / n >= 0.99, (kind, problems)
