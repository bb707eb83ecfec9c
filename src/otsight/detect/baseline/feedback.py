"""Analyst feedback: "this is expected" turns a baseline alert into learned behaviour.

Every baseline alert carries, in each evidence item's ``detail``, the exact behaviour it was
about (a device, a conversation start, a request with its points, a polling loop): accepting
the alert adds all of them, so a replay of the same traffic is silent. A deduplicated alert
keeps its first evidence items and its latest one; behaviours of occurrences it dropped in
between may alert again and be accepted in turn.
"""

from __future__ import annotations

from ...alerts.model import Alert, AlertEvidence
from .alerts import DETECTOR
from .learner import Limits, learn_device, learn_edge, learn_request
from .model import BaselineState
from .observe import decode, decode_request, decode_series

REQUEST_KINDS = frozenset({
    "new-conversation", "new-protocol", "new-operation", "write-out-of-range",
    "read-out-of-range",
})
RHYTHM_KINDS = frozenset({"polling-stopped", "polling-faster"})
DEVICE_KINDS = frozenset({"new-device", "new-address", "address-claimed"})


class FeedbackError(ValueError):
    """An alert the baseline cannot learn from (another detector's, or altered)."""


def mark_expected(state: BaselineState, alert: Alert, limits: Limits | None = None) -> list[str]:
    """Add what ``alert`` reported to ``state``; returns one line per change made."""
    if alert.detector != DETECTOR:
        raise FeedbackError(
            f"alert {alert.alert_id} comes from detector {alert.detector!r}: only baseline "
            "alerts can be accepted into a baseline"
        )
    if not alert.evidence:
        raise FeedbackError(f"alert {alert.alert_id} has no evidence to learn from")
    limits = limits or Limits()
    done: list[str] = []
    for item in alert.evidence:
        try:
            line = _accept(state, alert.kind, item, limits)
        except (ValueError, KeyError) as exc:
            raise FeedbackError(
                f"alert {alert.alert_id}: evidence at frame {item.frame} is not a baseline "
                f"record ({exc})"
            ) from None
        if line not in done:
            done.append(line)
    return done


def _accept(state: BaselineState, kind: str, item: AlertEvidence, limits: Limits) -> str:
    if kind in DEVICE_KINDS:
        fields = decode(item.detail)
        mac = fields.get("mac", [None])[0]
        ip = fields.get("ip", [None])[0]
        if mac is None and ip is None:
            raise ValueError("no mac= or ip=")
        _check(learn_device(state, mac, ip, item.ts, limits))
        return f"device {mac or ''} {ip or ''}".rstrip()
    if kind in RHYTHM_KINDS:
        key = decode_series(item.detail)
        series = state.series.get(key)
        if series is None:
            raise ValueError("a polling loop this baseline never learned")
        series.ignored = True
        series.periodic = False
        return f"polling {key[0]} -> {key[1]} {key[4]} {key[5]}: no longer watched"
    if kind not in REQUEST_KINDS:
        raise ValueError(f"unknown baseline alert kind {kind!r}")
    if "operation" not in decode(item.detail):  # a conversation start seen in packets
        fields = decode(item.detail)
        edge = (fields["client"][0], fields["server"][0], fields["transport"][0],
                int(fields["port"][0]))
        _check(learn_edge(state, edge, item.ts, limits))
        return f"conversation {edge[0]} -> {edge[1]} {edge[2]}/{edge[3]}"
    request = decode_request(item.detail, item.ts, item.frame)
    _check(learn_request(state, request, limits))
    client, server, transport, port = request.edge
    touched = "".join(
        f", {'writes' if p.write else 'reads'} {p.table} {p.address}-{p.last}"
        for p in request.points
    )
    return (f"{client} -> {server} {transport}/{port} {request.protocol} "
            f"{request.operation}{touched}")


def _check(ok: bool) -> None:
    if not ok:
        raise ValueError("the baseline is full (a memory bound was reached)")
