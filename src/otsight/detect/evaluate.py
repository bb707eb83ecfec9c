"""Detection quality against ground truth: event-level precision and recall, time to detect,
false alerts per hour of normal traffic. Pure functions (truth and alerts in, numbers out).

Matching rule. An alert matches an attack step when
  1. one of its times (``ts``, or the capture time of one of its evidence items, which is how
     a deduplicated alert keeps its later occurrences) falls within the step window
     ``[start - before_s, end + after_s]``, and
  2. one of its endpoints (source/destination IP or MAC) is the step's attacker or a victim.
A step is detected when at least one raw alert (before deduplication: each is a detection at
its own time) matches it; its time to detect is the earliest ``detected_ts`` of those (the
packet time at which the detector decided) minus the step's start, floored at 0. A
deduplicated alert matching no attack step is a false alert (one inside a documented benign
change is also reported as such). Alerts of severity ``info`` are posture findings (e.g.
cleartext credentials of normal operation), not attack detections: they are counted apart and
enter neither precision nor false alerts. Steps whose tool failed (``ok`` false) are left out
of recall, and alerts matching them are not false. Scores are never point-adjusted.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..alerts.model import Alert

INFO = "info"


@dataclass(frozen=True, slots=True)
class Step:
    """An attack step (or a benign change) with the addresses of who did it and to whom."""

    step_id: str
    name: str
    technique_ids: tuple[str, ...]
    start: float
    end: float
    ok: bool
    actors: frozenset[str]
    targets: frozenset[str]


@dataclass(frozen=True, slots=True)
class GroundTruth:
    scenario: str
    start: float
    end: float
    steps: tuple[Step, ...]
    benign: tuple[Step, ...]

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True, slots=True)
class MatchRule:
    before_s: float = 2.0  # clocks: a tool may log its start just after its first packet
    after_s: float = 2.0  # packets of a step still in flight when the tool returns


@dataclass(frozen=True, slots=True)
class StepResult:
    step: Step
    detected: bool
    ttd_s: float | None
    kinds: tuple[str, ...]  # kinds of the raw alerts that matched


@dataclass(frozen=True, slots=True)
class Score:
    steps: tuple[StepResult, ...]
    alerts: int  # deduplicated alerts counted (severity above info)
    true_alerts: int
    false_alerts: tuple[Alert, ...]
    benign_false_alerts: int  # false alerts that fall inside a documented benign change
    info_findings: int
    normal_hours: float

    @property
    def recall(self) -> float | None:
        scored = [r for r in self.steps if r.step.ok]
        return sum(r.detected for r in scored) / len(scored) if scored else None

    @property
    def precision(self) -> float | None:
        return self.true_alerts / self.alerts if self.alerts else None

    @property
    def false_per_hour(self) -> float | None:
        return len(self.false_alerts) / self.normal_hours if self.normal_hours > 0 else None

    @property
    def median_ttd_s(self) -> float | None:
        times = [r.ttd_s for r in self.steps if r.ttd_s is not None and r.step.ok]
        return statistics.median(times) if times else None


# ----------------------------------------------------------------------------- truth
def _addresses(devices: Mapping[str, Mapping[str, Any]], names: Iterable[str]) -> frozenset[str]:
    found: set[str] = set()
    for name in names:
        device = devices.get(name)
        if device is None:
            raise ValueError(f"truth names device {name!r} that is not in its device list")
        found.update(str(a) for a in device.get("ips", ()))
        found.update(str(m).lower() for m in device.get("macs", ()))
    return frozenset(found)


def truth_from_dict(doc: Mapping[str, Any]) -> GroundTruth:
    """Ground truth from a parsed truth.json (schemas/truth.schema.json)."""
    try:
        devices = {d["name"]: d for d in doc["devices"]}
        steps = tuple(
            Step(
                step_id=s["step_id"], name=s["name"], technique_ids=tuple(s["technique_ids"]),
                start=float(s["start"]), end=float(s["end"]), ok=bool(s["ok"]),
                actors=_addresses(devices, [s["attacker"]]),
                targets=_addresses(devices, s["victims"]),
            )
            for s in doc["attack_steps"]
        )
        benign = tuple(
            Step(
                step_id=c["change_id"], name=c["name"], technique_ids=(),
                start=float(c["start"]), end=float(c["end"]), ok=bool(c["ok"]),
                actors=_addresses(devices, [c["actor"]]), targets=_addresses(devices, c["targets"]),
            )
            for c in doc.get("benign_changes", ())
        )
        capture = doc["capture"]
        return GroundTruth(
            scenario=str(doc["scenario"]), start=float(capture["start"]),
            end=float(capture["end"]), steps=steps, benign=benign,
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a truth document (missing or bad {exc})") from None


def load_truth(path: str | Path) -> GroundTruth:
    """Read truth.json; ValueError says what is wrong with it."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read truth: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: truth must be a JSON object")
    return truth_from_dict(doc)


# ----------------------------------------------------------------------------- matching
def endpoints(alert: Alert) -> frozenset[str]:
    values = (alert.src_ip, alert.dst_ip, alert.src_mac, alert.dst_mac)
    return frozenset(v.lower() for v in values if v)


def occurrence_times(alert: Alert) -> tuple[float, ...]:
    return (alert.ts, *(e.ts for e in alert.evidence))


def matches(alert: Alert, step: Step, rule: MatchRule = MatchRule()) -> bool:
    """The matching rule of this module's docstring."""
    if not endpoints(alert) & (step.actors | step.targets):
        return False
    lo, hi = step.start - rule.before_s, step.end + rule.after_s
    return any(lo <= t <= hi for t in occurrence_times(alert))


def normal_seconds(truth: GroundTruth, rule: MatchRule = MatchRule()) -> float:
    """Capture time outside every attack step window (tolerances included)."""
    windows = sorted(
        (max(truth.start, s.start - rule.before_s), min(truth.end, s.end + rule.after_s))
        for s in truth.steps
    )
    covered, cursor = 0.0, truth.start
    for start, end in windows:
        lo = max(start, cursor)
        if end > lo:
            covered += end - lo
            cursor = end
    return max(0.0, truth.duration_s - covered)


def score(
    truth: GroundTruth,
    alerts: Sequence[Alert],
    raw_alerts: Sequence[Alert] | None = None,
    rule: MatchRule = MatchRule(),
) -> Score:
    """Score deduplicated ``alerts`` (precision, false alerts) and ``raw_alerts`` (recall, time
    to detect; ``alerts`` stand in when the raw ones were not kept)."""
    raw = [a for a in (raw_alerts if raw_alerts is not None else alerts) if a.severity != INFO]
    results = []
    for step in truth.steps:
        hits = [a for a in raw if matches(a, step, rule)]
        ttd = None
        if hits:
            decided = min(a.detected_ts if a.detected_ts is not None else a.ts for a in hits)
            ttd = max(0.0, decided - step.start)
        kinds = tuple(dict.fromkeys(a.kind for a in hits))
        results.append(StepResult(step, bool(hits), ttd, kinds))
    counted = [a for a in alerts if a.severity != INFO]
    false = tuple(a for a in counted if not any(matches(a, s, rule) for s in truth.steps))
    benign = sum(1 for a in false if any(matches(a, c, rule) for c in truth.benign))
    return Score(
        steps=tuple(results),
        alerts=len(counted),
        true_alerts=len(counted) - len(false),
        false_alerts=false,
        benign_false_alerts=benign,
        info_findings=len(alerts) - len(counted),
        normal_hours=normal_seconds(truth, rule) / 3600.0,
    )
