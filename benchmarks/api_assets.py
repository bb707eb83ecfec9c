"""How fast the API lists assets: 10,000 generated assets, GET /api/assets over real HTTP.

Usage::

    .venv/bin/python benchmarks/api_assets.py [--assets 10000] [--requests 200] [--json]

Fills a fresh SQLite store (and PostgreSQL too when ``OTSIGHT_TEST_POSTGRES_URL`` is set: that
database is emptied first) through ``save_assets`` in batches, starts ``uvicorn`` in a
subprocess on 127.0.0.1, and times each query (first page, and filters by role, vendor, IP and
free text) with one HTTP client on a kept-alive connection after a few warm-up requests.
Prints p50/p95/max in milliseconds; the target is the first page under 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from otsight.inventory.model import ROLE_PURDUE, ROLES, Asset, Evidence, Service
from otsight.store import make_engine, save_assets, session_factory, transaction
from otsight.store.migrate import ensure_schema
from otsight.store.users import add_user, create_token

ROOT = Path(__file__).resolve().parent.parent
VENDORS = ("Siemens", "Rockwell Automation", "Schneider Electric", "ABB", "Dell", "Cisco", "Moxa")
QUERIES = {
    "first page": "/api/assets",
    "role=plc": "/api/assets?role=plc",
    "vendor=siemens": "/api/assets?vendor=siemens",
    "ip exact": "/api/assets?ip=10.0.18.136",
    "q=plc-12": "/api/assets?q=plc-12",
    "role+purdue, by packets": "/api/assets?role=hmi&purdue_level=2&sort=-packets",
    "page 100": "/api/assets?offset=5000&limit=50",
}
SERVER = """
import sys, uvicorn
from otsight.web import create_app
uvicorn.run(create_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def generated(n: int, seed: int = 7) -> list[Asset]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        role = rnd.choice(ROLES)
        ip = f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}"
        mac = "02:00:" + ":".join(f"{i >> shift & 255:02x}" for shift in (24, 16, 8, 0))
        first = 1_700_000_000.0 + rnd.random() * 86_400
        out.append(
            Asset(
                asset_id=f"mac:{mac}",
                macs=[mac],
                ips=[ip],
                hostnames=[f"{role.replace('_', '-')}-{i}"],
                vendor=rnd.choice(VENDORS),
                model=f"model-{rnd.randrange(50)}",
                firmware=f"{rnd.randrange(1, 5)}.{rnd.randrange(10)}",
                role=role,
                role_confidence=rnd.random(),
                purdue_level=ROLE_PURDUE[role],
                first_seen=first,
                last_seen=first + rnd.random() * 86_400,
                protocols=rnd.sample(["modbus", "s7comm", "enip", "http", "dns", "mqtt"], 2),
                services=[Service("modbus", "tcp", 502, clients=rnd.randrange(5))],
                peers=rnd.randrange(20),
                packets=rnd.randrange(10**6),
                bytes=rnd.randrange(10**8),
                evidence=[Evidence("role", f"answers on 502 to {i % 7} masters", "modbus", first)],
            )
        )
    return out


def fill(url: str, assets: list[Asset], batch: int = 1000) -> tuple[float, str]:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    ensure_schema(engine)
    sessions = session_factory(engine)
    started = time.perf_counter()
    for i in range(0, len(assets), batch):
        with transaction(sessions) as s:
            save_assets(s, assets[i : i + batch])
    elapsed = time.perf_counter() - started
    with transaction(sessions) as s:
        add_user(s, "bench", "viewer", actor="benchmark")
        token = create_token(s, "bench", actor="benchmark")
    engine.dispose()
    return elapsed, token


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(url: str, token: str, requests: int) -> dict[str, dict[str, float]]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen([sys.executable, "-c", SERVER, url, str(port)], env=env)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, dict[str, float]] = {}
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    client.get("/api/health").raise_for_status()
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit("the API server did not start") from None
                    time.sleep(0.1)
            for name, path in QUERIES.items():
                for _ in range(5):
                    client.get(path).raise_for_status()
                times = []
                total = 0
                for _ in range(requests):
                    t0 = time.perf_counter()
                    r = client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()
                    total = r.json()["total"]
                times.sort()
                results[name] = {
                    "p50_ms": statistics.median(times),
                    "p95_ms": times[int(0.95 * (len(times) - 1))],
                    "max_ms": times[-1],
                    "total": total,
                }
    finally:
        server.terminate()
        server.wait(timeout=10)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = parser.parse_args()
    assets = generated(args.assets)
    report: dict[str, Any] = {"assets": args.assets, "requests": args.requests, "stores": {}}
    with tempfile.TemporaryDirectory() as tmp:
        urls = {"sqlite": f"sqlite:///{Path(tmp) / 'bench.db'}"}
        if os.environ.get("OTSIGHT_TEST_POSTGRES_URL"):
            urls["postgresql"] = os.environ["OTSIGHT_TEST_POSTGRES_URL"]
        for name, url in urls.items():
            fill_s, token = fill(url, assets)
            report["stores"][name] = {
                "fill_s": fill_s,
                "queries": measure(url, token, args.requests),
            }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name, store in report["stores"].items():
        print(f"{name}: {args.assets} assets saved in {store['fill_s']:.2f} s")
        print(f"  {'query':26} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'total':>7}")
        for q, r in store["queries"].items():
            print(
                f"  {q:26} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['max_ms']:8.1f} {r['total']:7d}"
            )


if __name__ == "__main__":
    main()
