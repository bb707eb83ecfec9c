"""Errors with a clear meaning for callers.

Decoders raise only :class:`NeedMoreData` (the input is a valid prefix) or :class:`Malformed`
(the input can never be valid); capture sources raise :class:`CaptureError`, which always names
the source and the reason so the CLI can print one line and go on with the next input.
"""

from __future__ import annotations


class OtsightError(Exception):
    """Base class of every error otsight raises on purpose."""


class NeedMoreData(OtsightError):
    """The bytes seen so far are a valid prefix; feed more before parsing again."""


class Malformed(OtsightError):
    """The bytes can never form a valid message."""


class CaptureError(OtsightError):
    """A capture source cannot be read (fully). ``packets`` says how many were read before."""

    def __init__(self, source: str, reason: str, packets: int = 0) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
        self.packets = packets
