"""The selector picks exactly what asking every dissector in list order would pick.

It asks the dissectors of the flow's ports first and stops asking once nobody else could win;
these tests hold it to the plain rule (highest probe score, plus the port bonus, earliest in the
list on a tie) on real first payloads, random bytes and contrived ties.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import ClassVar

import pytest

from otsight.core.errors import NeedMoreData
from otsight.core.plugins import FlowContext, StreamHandler
from otsight.pipeline.runner import analyze
from otsight.protocols.base import Dissector
from otsight.protocols.registry import (
    MIN_DECISION_BYTES,
    PORT_BONUS,
    THRESHOLD,
    DissectorSelector,
    builtin_dissectors,
)
from otsight.testing.corpus import catalog_captures, shared_data
from otsight.testing.synth import generate

DATA = shared_data()
CORPUS = ["pcaps/ntop_nDPI/pcap", "pcaps/OISF_suricata-verify/mdns"]  # many protocols


def reference(
    dissectors: list[type[Dissector]], flow: FlowContext, direction: int, data: bytes
) -> type[Dissector] | None:
    """Every dissector of the transport asked in list order (the rule the selector keeps)."""
    transport = "tcp" if flow.proto == 6 else "udp"
    best: type[Dissector] | None = None
    best_score = 0.0
    for cls in dissectors:
        if cls.transport != transport:
            continue
        try:
            score = cls.probe(data, direction)
        except Exception:
            continue
        if score <= 0:
            continue
        score = min(score, 1.0)
        if flow.resp_port in cls.ports or flow.orig_port in cls.ports:
            score += PORT_BONUS
        if score > best_score:
            best, best_score = cls, score
    if best is None or best_score < THRESHOLD:
        if len(data) < MIN_DECISION_BYTES:
            raise NeedMoreData
        return None
    return best


def chosen(selector: DissectorSelector, flow: FlowContext, direction: int,
           data: bytes) -> type[Dissector] | None:
    handler = selector(flow, direction, data)
    return None if handler is None else type(handler.dissector)  # type: ignore[attr-defined]


class Recording(DissectorSelector):
    """A selector that also remembers every question it was asked."""

    def __init__(self, dissectors: list[type[Dissector]]) -> None:
        super().__init__(dissectors, lambda event: None)
        self.asked: list[tuple[FlowContext, int, bytes]] = []

    def __call__(self, flow: FlowContext, direction: int, first_data: bytes
                 ) -> StreamHandler | None:
        self.asked.append((flow, direction, first_data))
        return super().__call__(flow, direction, first_data)


def _check(dissectors: list[type[Dissector]], asked: list[tuple[FlowContext, int, bytes]]
           ) -> None:
    selector = DissectorSelector(dissectors, lambda event: None)
    for flow, direction, data in asked:
        try:
            expected: type[Dissector] | str | None = reference(dissectors, flow, direction, data)
        except NeedMoreData:
            expected = "need more"
        try:
            got: type[Dissector] | str | None = chosen(selector, flow, direction, data)
        except NeedMoreData:
            got = "need more"
        assert got == expected, (flow, data[:32].hex())


def test_first_payloads_of_real_and_synthetic_traffic(tmp_path: Path) -> None:
    dissectors = builtin_dissectors()
    recording = Recording(dissectors)
    plant = tmp_path / "plant.pcap"
    generate(plant, 20_000, seed=9)
    names = [str(plant)] + ([str(DATA / rel) for rel in CORPUS if (DATA / rel).exists()]
                            if DATA is not None else [])
    analyze(names, handler_factory=recording)
    assert len(recording.asked) > 500
    _check(dissectors, recording.asked)


def test_random_bytes_on_every_standard_port() -> None:
    dissectors = builtin_dissectors()
    rng = random.Random(4)
    ports = sorted({p for d in dissectors for p in d.ports} | {1, 8080, 40000})
    asked = []
    for _ in range(3000):
        proto = rng.choice((6, 17))
        flow = FlowContext(1, proto, "192.0.2.1", rng.choice(ports), "192.0.2.2",
                           rng.choice(ports))
        data = rng.randbytes(rng.choice((rng.randrange(1, 12), rng.randrange(12, 200))))
        asked.append((flow, rng.randrange(2), data))
    _check(dissectors, asked)


def _fixed(name: str, score: float, ports: frozenset[int]) -> type[Dissector]:
    class Fixed(Dissector):
        transport: ClassVar[str] = "tcp"

        @classmethod
        def probe(cls, data: bytes, direction: int) -> float:
            return score

    Fixed.name = name
    Fixed.ports = ports
    return Fixed


@pytest.mark.parametrize("seed", range(30))
def test_ties_and_capped_scores_keep_the_list_order(seed: int) -> None:
    rng = random.Random(seed)
    dissectors = [
        _fixed(f"d{k}", rng.choice((0.0, 0.4, 0.6, 0.75, 0.9, 1.0, 1.3)),
               frozenset(rng.sample((502, 80, 443, 20000), rng.randrange(0, 3))))
        for k in range(rng.randrange(1, 7))
    ]
    asked = [(FlowContext(1, 6, "192.0.2.1", sport, "192.0.2.2", dport), 0, b"x" * 20)
             for sport in (502, 40000) for dport in (80, 443, 502, 20000, 1)]
    _check(dissectors, asked)


def _payloads(names: list[str]) -> list[tuple[int, bytes]]:
    """Every payload (first or not) of every UDP and TCP flow of ``names``, with direction."""
    seen: list[tuple[int, bytes]] = []

    class Keep:
        def on_data(self, direction: int, data: bytes, ts_ns: int, frame: int) -> None:
            seen.append((direction, data))

        def on_gap(self, direction: int, nbytes: int, ts_ns: int) -> None:
            pass

        def on_end(self, ts_ns: int) -> None:
            pass

    analyze(names, handler_factory=lambda flow, direction, data: Keep())
    return seen


def test_no_probe_exceeds_its_declared_max_score(tmp_path: Path) -> None:
    """The selector skips a class whose max_score cannot beat the best so far: each bound
    must hold on real traffic of that protocol, other traffic and random bytes."""
    capped = [d for d in builtin_dissectors() if d.max_score < 1.0]
    tight = {"coap", "bacnet", "dhcpv6", "dns", "mdns", "llmnr", "nbns"}
    assert tight <= {d.name for d in capped}
    plant = tmp_path / "plant.pcap"
    generate(plant, 20_000, seed=3)
    names = [str(plant)]
    if DATA is not None:
        for protocol in ("coap", "bacnet", "dhcpv6", "dns", "mdns", "llmnr", "nbns"):
            names += [str(p) for p in catalog_captures(DATA, protocol)[:25]]
        names += [str(DATA / rel) for rel in CORPUS if (DATA / rel).exists()]
    rng = random.Random(8)
    payloads = _payloads(sorted(set(names)))
    payloads += [(rng.randrange(2), rng.randbytes(rng.randrange(1, 300))) for _ in range(5000)]
    reached: dict[str, float] = {}
    for cls in capped:
        for direction, data in payloads:
            score = cls.probe(data, direction)
            assert score <= cls.max_score, (cls.name, data[:32].hex())
            reached[cls.name] = max(reached.get(cls.name, 0.0), score)
    if DATA is not None:  # the real captures hold each protocol's best case
        assert {name: reached[name] for name in tight} == {
            d.name: d.max_score for d in capped if d.name in tight
        }
