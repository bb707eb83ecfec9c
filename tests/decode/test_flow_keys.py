"""Flow keys, the batch grouping by hash and slot assignment, against the numpy reference.

The compiled key kernel (keys, hash, grouping in first-packet order) replaced numpy passes and
``np.unique``; these properties hold it to the computation it replaced, kept here verbatim:
the same key columns and hashes, and the same slots, flows, evictions and collision counts over
batches of random packets, IPv4 and IPv6, with and without ports, ICMP, fragments, and hashes
forced to collide (between different keys inside a batch and across batches).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otsight.decode.flows import END_EVICTED, FlowTable
from otsight.decode.keykernel import key_kernel
from otsight.decode.keys import FlowKeys, _table_size, flow_eligible
from otsight.decode.table import (
    L3_ARP,
    L3_IPV4,
    L3_IPV6,
    L3_NONE,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    PROTO_UDP,
    PacketTable,
)
from otsight.testing.nojit import rerun_without_jit

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

NOJIT = os.environ.get("NUMBA_DISABLE_JIT", "") not in ("", "0")
PROPERTY = settings(
    max_examples=int(os.environ.get("OTSIGHT_FUZZ_EXAMPLES", "300")),
    deadline=None,
    database=None,  # leave no .hypothesis directory in a shared tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --------------------------------------------------------------------------- the reference
def _mix(h: U64, v: U64) -> U64:
    h = (h ^ v) * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(31)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(29)
    return h


class RefKeys:
    """FlowKeys as numpy passes computed them before the kernel."""

    def __init__(self, t: PacketTable, eligible: npt.NDArray[np.bool_]) -> None:
        sh, sl, dh, dl = t.src_hi, t.src_lo, t.dst_hi, t.dst_lo
        ports = t.has_ports & (t.proto != PROTO_ICMP) & (t.proto != PROTO_ICMPV6)
        sp = np.where(ports, t.sport, 0).astype(np.uint64)
        dp = np.where(ports, t.dport, 0).astype(np.uint64)
        gt = (sh > dh) | ((sh == dh) & ((sl > dl) | ((sl == dl) & (sp > dp))))
        self.from_b = gt
        self.a_hi = np.where(gt, dh, sh)
        self.a_lo = np.where(gt, dl, sl)
        self.b_hi = np.where(gt, sh, dh)
        self.b_lo = np.where(gt, sl, dl)
        self.a_port = np.where(gt, dp, sp)
        self.b_port = np.where(gt, sp, dp)
        self.proto = t.proto.astype(np.uint64)
        self.eligible = eligible
        h = np.full(len(t), np.uint64(0x243F6A8885A308D3), dtype=np.uint64)
        with np.errstate(over="ignore"):
            h = _mix(h, self.a_hi)
            h = _mix(h, self.a_lo)
            h = _mix(h, self.b_hi)
            h = _mix(h, self.b_lo)
            h = _mix(h, (self.a_port << np.uint64(24)) | (self.b_port << np.uint64(8)) | self.proto)
        self.hash = h

    def same_key(self, i: npt.NDArray[np.intp], j: npt.NDArray[np.intp]) -> npt.NDArray[np.bool_]:
        same: npt.NDArray[np.bool_] = (
            (self.a_hi[i] == self.a_hi[j])
            & (self.a_lo[i] == self.a_lo[j])
            & (self.b_hi[i] == self.b_hi[j])
            & (self.b_lo[i] == self.b_lo[j])
            & (self.a_port[i] == self.a_port[j])
            & (self.b_port[i] == self.b_port[j])
            & (self.proto[i] == self.proto[j])
        )
        return same


def ref_assign(self: FlowTable, keys: RefKeys) -> I64:
    """FlowTable.assign as it was with np.unique (hash order, then sorted by first packet)."""
    n = keys.hash.shape[0]
    slots = np.full(n, -1, dtype=np.int64)
    idx = np.nonzero(keys.eligible)[0]
    if idx.size == 0:
        return slots
    uniq, first, inverse = np.unique(keys.hash[idx], return_index=True, return_inverse=True)
    rep = idx[first[inverse]]
    clash = ~keys.same_key(idx, rep)
    hashes = uniq.tolist()
    get = self.by_hash.get
    found = np.fromiter((get(h, -1) for h in hashes), dtype=np.int64, count=len(hashes))
    st_ = self.state
    have = np.nonzero(found >= 0)[0]
    if have.size:
        s_have, i_have = found[have], idx[first[have]]
        same = (
            (st_.a_hi[s_have] == keys.a_hi[i_have])
            & (st_.a_lo[s_have] == keys.a_lo[i_have])
            & (st_.b_hi[s_have] == keys.b_hi[i_have])
            & (st_.b_lo[s_have] == keys.b_lo[i_have])
            & (st_.a_port[s_have] == keys.a_port[i_have].astype(np.int64))
            & (st_.b_port[s_have] == keys.b_port[i_have].astype(np.int64))
            & (st_.proto[s_have] == keys.proto[i_have].astype(np.int64))
        )
        if not same.all():
            self.collisions += int(np.count_nonzero(~same))
            found[have[~same]] = -1
    new_u = np.nonzero(found < 0)[0]
    overflow = self.n_live + new_u.size - self.max_flows
    if overflow > 0:
        victims = self.oldest_slots(min(overflow, self.n_live), exclude=found[found >= 0])
        if victims.size:
            self.evicted += int(victims.size)
            self.on_end(victims, END_EVICTED)
    if new_u.size:
        new_u = new_u[np.argsort(first[new_u], kind="stable")]
        i0 = idx[first[new_u]]
        new_slots = self._alloc(int(new_u.size))
        self._init_slots(
            new_slots,
            uniq[new_u],
            keys.a_hi[i0],
            keys.a_lo[i0],
            keys.b_hi[i0],
            keys.b_lo[i0],
            keys.a_port[i0].astype(np.int64),
            keys.b_port[i0].astype(np.int64),
            keys.proto[i0].astype(np.int64),
        )
        found[new_u] = new_slots
    slots[idx] = found[inverse]
    if clash.any():
        self.collisions += int(np.count_nonzero(clash))
        slots[idx[clash]] = -1
    return slots


# --------------------------------------------------------------------------- random batches
V4 = 0xFFFF00000000
ADDRESSES = [
    (0, V4 | 0xC0000201),  # 192.0.2.1
    (0, V4 | 0xC0000202),
    (0, V4 | 0x0A000001),
    (0x20010DB800000000, 1),  # 2001:db8::1
    (0x20010DB800000000, 2),
    (0x20010DB800000001, 1),  # same low word, other high word
    (0xFE80000000000000, 0xFFFFFFFFFFFFFFFF),
    (0xFFFFFFFFFFFFFFFF, 0),
]
PORTS = [0, 1, 502, 502, 20000, 44818, 65535]
PROTOS = [PROTO_TCP, PROTO_UDP, PROTO_ICMP, PROTO_ICMPV6, 0, 47, 132, 255]


@st.composite
def packet_tables(draw: st.DrawFn, max_size: int = 40) -> PacketTable:
    """Packets over a few endpoints (so keys repeat, both ways, with ties on address or port),
    mostly IP and eligible, some not: ARP, decode errors, fragments, TCP/UDP without ports."""
    n = draw(st.integers(0, max_size))
    t = PacketTable.empty(n)
    for i in range(n):
        t.src_hi[i], t.src_lo[i] = draw(st.sampled_from(ADDRESSES))
        t.dst_hi[i], t.dst_lo[i] = draw(st.sampled_from(ADDRESSES))
        t.sport[i] = draw(st.sampled_from(PORTS))
        t.dport[i] = draw(st.sampled_from(PORTS))
        t.proto[i] = draw(st.sampled_from(PROTOS))
        t.has_ports[i] = draw(st.booleans()) or t.proto[i] in (PROTO_TCP, PROTO_UDP)
        t.l3[i] = draw(st.sampled_from([L3_IPV4, L3_IPV6] * 4 + [L3_ARP, L3_NONE]))
        t.err[i] = draw(st.sampled_from([0] * 12 + list(range(1, 9))))
        t.frag[i] = draw(st.sampled_from([0] * 9 + [1]))
        if draw(st.integers(0, 9)) == 0:
            t.has_ports[i] = False
    return t


# How the hashes of a batch are replaced to force 64-bit collisions: "real" keeps them;
# "few" folds them to 1-3 values (different keys collide, one key keeps one hash, as in real
# collisions); "any" gives every packet one of a few values whatever its key.
HASH_MODES = ["real", "few", "any"]


def forced_hash(mode: str, real: U64, data: st.DataObject) -> U64 | None:
    if mode == "real":
        return None
    if mode == "few":
        m = data.draw(st.integers(1, 3))
        folded: U64 = real % np.uint64(m) + np.uint64(data.draw(st.sampled_from([0, 2**64 - 3])))
        return folded
    values = data.draw(st.lists(st.sampled_from([0, 7, 2**63, 2**64 - 1]), min_size=real.size))
    return np.array(values[: real.size], dtype=np.uint64)


def eligibility(t: PacketTable, data: st.DataObject) -> npt.NDArray[np.bool_]:
    if data.draw(st.integers(0, 3)) == 0:  # any mask at all, not only the engine's
        mask = data.draw(st.lists(st.booleans(), min_size=len(t), max_size=len(t)))
        return np.array(mask, dtype=bool)
    return flow_eligible(t)


KEY_COLUMNS = ("from_b", "a_hi", "a_lo", "b_hi", "b_lo", "a_port", "b_port", "proto", "hash")


def assert_same_keys(new: FlowKeys, ref: RefKeys) -> None:
    for name in KEY_COLUMNS:
        got, want = getattr(new, name), getattr(ref, name)
        assert got.dtype == want.dtype, name
        np.testing.assert_array_equal(got, want, err_msg=name)


def reference_groups(hashes: U64, keys: RefKeys) -> tuple[list[int], list[int], list[int], int]:
    """Distinct hashes of eligible packets by first packet, those packets, each packet's group
    (-1: not eligible, or its key differs from its hash's first key), and the count of those."""
    uniq: list[int] = []
    first: list[int] = []
    where: dict[int, int] = {}
    group: list[int] = []
    clashes = 0
    for i in range(hashes.size):
        if not keys.eligible[i]:
            group.append(-1)
            continue
        h = int(hashes[i])
        if h not in where:
            where[h] = len(uniq)
            uniq.append(h)
            first.append(i)
        g = where[h]
        if not keys.same_key(np.array([i]), np.array([first[g]]))[0]:
            g = -1
            clashes += 1
        group.append(g)
    return uniq, first, group, clashes


# --------------------------------------------------------------------------- properties
@PROPERTY
@given(t=packet_tables(), mode=st.sampled_from(HASH_MODES), data=st.data())
def test_keys_hashes_and_groups_match_the_reference(
    t: PacketTable, mode: str, data: st.DataObject
) -> None:
    eligible = eligibility(t, data)
    new, ref = FlowKeys(t, eligible), RefKeys(t, eligible)
    assert_same_keys(new, ref)
    forced = forced_hash(mode, ref.hash, data)
    if forced is not None:
        new.hash = forced  # regroups
        ref.hash = forced.copy()
    uniq, first, group, clashes = reference_groups(ref.hash, ref)
    assert new.uniq.tolist() == uniq
    assert new.first.tolist() == first
    assert new.group.tolist() == group
    assert new.clashes == clashes


def _snapshot(table: FlowTable) -> dict[str, Any]:
    st_ = table.state
    n = table.next_slot
    columns = {name: getattr(st_, name)[:n].tolist() for name in st_.SINGLE_COLUMNS}
    columns.update({name: getattr(st_, name)[:n].tolist() for name in st_.PAIR_COLUMNS})
    return {
        "by_hash": list(table.by_hash.items()),  # insertion order too
        "free": list(table.free),
        "next_slot": n,
        "n_live": table.n_live,
        "evicted": table.evicted,
        "collisions": table.collisions,
        **columns,
    }


def _table(max_flows: int, log: list[tuple[list[int], str]]) -> FlowTable:
    table = FlowTable(max_flows=max_flows)

    def on_end(slots: I64, reason: str) -> None:
        log.append((slots.tolist(), reason))
        table.release(slots)

    table.on_end = on_end
    return table


@PROPERTY
@given(
    batches=st.lists(packet_tables(max_size=30), min_size=1, max_size=6),
    max_flows=st.sampled_from([1, 2, 3, 5, 8, 500_000]),
    mode=st.sampled_from(HASH_MODES),
    data=st.data(),
)
def test_assign_matches_the_reference_over_batches(
    batches: list[PacketTable], max_flows: int, mode: str, data: st.DataObject
) -> None:
    """Same slots, flows, table state, evictions (which, in which order) and collision counts."""
    new_log: list[tuple[list[int], str]] = []
    ref_log: list[tuple[list[int], str]] = []
    new_table, ref_table = _table(max_flows, new_log), _table(max_flows, ref_log)
    for b, t in enumerate(batches):
        eligible = eligibility(t, data)
        new, ref = FlowKeys(t, eligible), RefKeys(t, eligible)
        forced = forced_hash(mode, ref.hash, data)
        if forced is not None:
            new.hash = forced
            ref.hash = forced.copy()
        got = new_table.assign(new)
        want = ref_assign(ref_table, ref)
        assert got.dtype == want.dtype
        assert got.tolist() == want.tolist(), b
        assert new_log == ref_log, b
        assert _snapshot(new_table) == _snapshot(ref_table), b
        # What the flow kernel and the engine would do next, identically on both tables:
        # packets make their flows recently seen, and some flows end (timeouts, splits).
        for table in (new_table, ref_table):
            live = got >= 0
            table.state.last_ts[got[live]] = b * 1000 + np.nonzero(live)[0]
        ending = data.draw(st.lists(st.integers(0, 1000), max_size=4))
        live_slots = new_table.live_slots()
        if live_slots.size and ending:
            done = np.unique(live_slots[np.array(ending) % live_slots.size])
            new_table.release(done)
            ref_table.release(done.copy())
    assert _snapshot(new_table) == _snapshot(ref_table)


# --------------------------------------------------------------------------- without the JIT
def test_kernel_is_plain_python_without_jit() -> None:
    """In the no-JIT run the kernel must really run as Python (else that run proves nothing)."""
    if not NOJIT:
        pytest.skip("only meaningful with NUMBA_DISABLE_JIT=1")
    assert not hasattr(key_kernel, "py_func")


@pytest.mark.skipif(NOJIT, reason="this is the no-JIT run already")
@pytest.mark.timeout(600, method="thread")
def test_the_same_holds_without_jit() -> None:
    """Uncompiled, the kernel's uint64 arithmetic must wrap as compiled (and stay in bounds)."""
    rerun_without_jit(__file__, "test_the_same_holds_without_jit", examples=60)


def test_a_full_batch_of_distinct_keys_fills_no_more_than_half_the_table() -> None:
    """65,536 packets, every one its own flow: all distinct, first packets in order."""
    n = 65_536
    t = PacketTable.empty(n)
    t.l3[:] = L3_IPV6
    t.proto[:] = PROTO_UDP
    t.has_ports[:] = True
    t.src_hi[:] = 0x20010DB800000000
    t.src_lo[:] = np.arange(n, dtype=np.uint64)
    t.dst_lo[:] = 1
    t.sport[:] = np.arange(n) % 65_536
    keys = FlowKeys(t, flow_eligible(t))
    assert keys.uniq.size == n
    assert keys.first.tolist() == list(range(n))
    assert keys.group.tolist() == list(range(n))
    assert np.unique(keys.hash).size == n
    assert _table_size(n) == 2 * n
