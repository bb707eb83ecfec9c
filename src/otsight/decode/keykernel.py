"""Flow keys, their hashes and the batch's grouping by hash, in one compiled pass.

Per packet: order the endpoints so both directions share one key, mix the key into a 64-bit
hash, and look the hash up in a batch-local open-addressing table. The distinct hashes come
out in order of their first packet (the order new flows take slots in), so no sort is needed.
A packet whose key differs from the key of its hash's first packet (a 64-bit hash collision
inside the batch) gets no group: the flow table counts and skips it.

Run as plain Python (``NUMBA_DISABLE_JIT=1``) the uint64 arithmetic wraps as compiled, with
numpy's overflow warnings.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.jit import kernel
from .table import PROTO_ICMP, PROTO_ICMPV6

SEED = np.uint64(0x243F6A8885A308D3)
M1 = np.uint64(0x9E3779B97F4A7C15)
M2 = np.uint64(0xBF58476D1CE4E5B9)
S8 = np.uint64(8)
S24 = np.uint64(24)
S29 = np.uint64(29)
S31 = np.uint64(31)


@kernel
def mix(h: Any, v: Any) -> Any:
    """One round of the key hash, on uint64 (tests hold it to the numpy passes it replaced)."""
    h = (h ^ v) * M1
    h ^= h >> S31
    h *= M2
    h ^= h >> S29
    return h


@kernel
def key_kernel(
    hashed: bool,
    eligible: Any,
    src_hi: Any,
    src_lo: Any,
    dst_hi: Any,
    dst_lo: Any,
    proto_in: Any,
    has_ports: Any,
    sport: Any,
    dport: Any,
    from_b: Any,
    a_hi: Any,
    a_lo: Any,
    b_hi: Any,
    b_lo: Any,
    a_port: Any,
    b_port: Any,
    proto: Any,
    hashes: Any,
    table: Any,
    uniq: Any,
    first: Any,
    group: Any,
) -> tuple[int, int]:
    """Fill the key columns and ``hashes`` (unless ``hashed``: they are given), then group.

    Returns (distinct hashes, packets skipped as in-batch collisions); ``uniq[:k]`` and
    ``first[:k]`` hold the distinct hashes and their first packets, ``group`` each packet's
    index into them (-1: not eligible, or a collision).
    """
    n = eligible.shape[0]
    if not hashed:
        for i in range(n):
            sh = src_hi[i]
            sl = src_lo[i]
            dh = dst_hi[i]
            dl = dst_lo[i]
            p = proto_in[i]
            sp = np.uint64(0)
            dp = np.uint64(0)
            if has_ports[i] and p != PROTO_ICMP and p != PROTO_ICMPV6:
                sp = np.uint64(sport[i])
                dp = np.uint64(dport[i])
            gt = sh > dh or (sh == dh and (sl > dl or (sl == dl and sp > dp)))
            from_b[i] = gt
            if gt:
                sh, dh = dh, sh
                sl, dl = dl, sl
                sp, dp = dp, sp
            pr = np.uint64(p)
            a_hi[i] = sh
            a_lo[i] = sl
            b_hi[i] = dh
            b_lo[i] = dl
            a_port[i] = sp
            b_port[i] = dp
            proto[i] = pr
            h = mix(SEED, sh)
            h = mix(h, sl)
            h = mix(h, dh)
            h = mix(h, dl)
            hashes[i] = mix(h, (sp << S24) | (dp << S8) | pr)
    # ``table`` (a power of two over 2n entries, all -1) holds group numbers: positions from
    # the hash's top bits after a multiply (so hashes that differ only in low bits spread too).
    mask = table.shape[0] - 1
    bits = 0
    while (1 << bits) < table.shape[0]:
        bits += 1
    shift = np.uint64(64 - bits)
    k = 0
    clashes = 0
    for i in range(n):
        if not eligible[i]:
            group[i] = -1
            continue
        h = hashes[i]
        pos = np.int64((h * M1) >> shift)
        while True:
            g = table[pos]
            if g < 0:
                g = k
                table[pos] = g
                uniq[g] = h
                first[g] = i
                k += 1
                break
            if uniq[g] == h:
                r = first[g]
                if (
                    a_hi[i] != a_hi[r]
                    or a_lo[i] != a_lo[r]
                    or b_hi[i] != b_hi[r]
                    or b_lo[i] != b_lo[r]
                    or a_port[i] != a_port[r]
                    or b_port[i] != b_port[r]
                    or proto[i] != proto[r]
                ):
                    g = -1
                    clashes += 1
                break
            pos = (pos + 1) & mask
        group[i] = g
    return k, clashes
