"""Byte readers for kernels: the same code compiled by numba and run as plain Python.

``np.int64()`` widens each byte first: with numpy 2 promotion rules ``uint8 << 24`` would stay
uint8 (and wrap) when the kernels run uncompiled.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .jit import kernel

# numba compiles these into the kernels that call them (LLVM inlines them).
Buf = npt.NDArray[np.uint8]


@kernel
def rd16be(buf: Buf, p: int) -> int:
    return int((np.int64(buf[p]) << 8) | np.int64(buf[p + 1]))


@kernel
def rd16le(buf: Buf, p: int) -> int:
    return int((np.int64(buf[p + 1]) << 8) | np.int64(buf[p]))


@kernel
def rd32be(buf: Buf, p: int) -> int:
    return int(
        (np.int64(buf[p]) << 24)
        | (np.int64(buf[p + 1]) << 16)
        | (np.int64(buf[p + 2]) << 8)
        | np.int64(buf[p + 3])
    )


@kernel
def rd32le(buf: Buf, p: int) -> int:
    return int(
        (np.int64(buf[p + 3]) << 24)
        | (np.int64(buf[p + 2]) << 16)
        | (np.int64(buf[p + 1]) << 8)
        | np.int64(buf[p])
    )


@kernel
def rd32(buf: Buf, p: int, big_endian: bool) -> int:
    if big_endian:
        return rd32be(buf, p)
    return rd32le(buf, p)


@kernel
def rd16(buf: Buf, p: int, big_endian: bool) -> int:
    if big_endian:
        return rd16be(buf, p)
    return rd16le(buf, p)


@kernel
def rd64be(buf: Buf, p: int) -> int:
    return int((rd32be(buf, p) << 32) | rd32be(buf, p + 4))
