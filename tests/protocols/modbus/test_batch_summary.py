"""The summary of a compiled Modbus batch (what the default rules see of polling), against a
plain walk over its rows."""

from __future__ import annotations

import numpy as np
import pytest

from otsight.protocols.modbus.batch import ModbusBatch
from otsight.protocols.modbus.kernel import NONE, REQUEST, RESPONSE


def _batch(rng: np.random.Generator, n: int, flows: int, with_values: bool) -> ModbusBatch:
    """``n`` random rows over ``flows`` flows; register values on some rows, or on none."""
    kind = rng.choice([REQUEST, RESPONSE], n).astype(np.int8)
    fc = rng.choice([1, 2, 3, 4, 3, 3, 5, 6, 8, 15, 16, 43, 90], n).astype(np.int64)
    length = rng.integers(0, 4, n) if with_values else np.zeros(n, np.int64)
    val_len = np.where(with_values & (rng.random(n) < 0.5), length, NONE).astype(np.int64)
    counts = np.where(val_len == NONE, 0, val_len)
    val_start = np.where(val_len == NONE, 0, np.cumsum(counts) - counts).astype(np.int64)
    columns = {
        "kind": kind,
        "tid": rng.integers(0, 65536, n),
        "unit": rng.integers(0, 256, n),
        "fc": fc,
        "addr": np.where(rng.random(n) < 0.9, rng.integers(0, 65536, n), NONE),
        "qty": np.where(rng.random(n) < 0.9, rng.integers(1, 126, n), NONE),
        "exc": np.where((kind == RESPONSE) & (rng.random(n) < 0.1), 2, NONE),
        "matched": (kind == RESPONSE) & (rng.random(n) < 0.8),
        "req_frame": rng.integers(1, 10**6, n),
        "latency_ns": rng.integers(0, 10**8, n),
        "val_start": val_start,
        "val_len": val_len,
        "ts_ns": 1_767_225_600 * 10**9 + np.sort(rng.integers(0, 10**10, n)),
        "frame": np.arange(1, n + 1, dtype=np.int64),
        "flow": rng.integers(0, flows, n),
        "direction": rng.integers(0, 2, n).astype(np.int8),
    }
    endpoints = []
    for f in range(flows):
        a = {"flow_id": f + 1, "src_ip": f"192.0.2.{f % 250}", "src_port": 40000 + f,
             "dst_ip": "192.0.2.10", "dst_port": 502, "transport": "tcp"}
        b = {**a, "src_ip": a["dst_ip"], "src_port": 502, "dst_ip": a["src_ip"],
             "dst_port": a["src_port"]}
        endpoints.append((a, b))
    values = rng.integers(0, 65536, int(counts.sum())).astype(np.uint16)
    return ModbusBatch(columns, values, endpoints)


@pytest.mark.parametrize("seed", range(8))
def test_polling_summary_keeps_each_command_and_the_first_read_of_each_direction(
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(20):
        batch = _batch(rng, int(rng.integers(0, 300)), int(rng.integers(1, 30)), seed % 2 == 0)
        c = {name: col.tolist() for name, col in batch.columns.items()}
        expected, polled = [], set()
        for row in range(len(batch)):
            if c["kind"][row] != REQUEST:
                continue
            if 1 <= c["fc"][row] <= 4:
                if (c["flow"][row], c["direction"][row]) in polled:
                    continue
                polled.add((c["flow"][row], c["direction"][row]))
            expected.append(row)
        assert batch.polling_summary().tolist() == expected
        every = list(batch.events())
        summary = batch.summary()
        assert list(summary.events()) == [every[row] for row in expected]
        assert list(summary.ecs_docs()) == [every[row].ecs() for row in expected]
        assert summary.values.shape[0] == sum(
            max(0, c["val_len"][row]) for row in expected)
