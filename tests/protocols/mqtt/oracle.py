"""Compare the MQTT dissector with tshark on real captures (helpers for the oracle tests).

Keys: one ``(frame, "type", msgtype)`` per packet, and ``(frame, field, value)`` for the client
id, user name, topic, QoS (PUBLISH) and packet id of each packet, so a frame holding several
packets compares as a multiset.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from otsight.core.events import Event
from otsight.protocols.mqtt.dissector import MqttDissector
from otsight.protocols.mqtt.events import (
    MqttConnect,
    MqttMalformed,
    MqttMessage,
    MqttPublish,
    MqttSubscribe,
)
from otsight.testing import tshark
from otsight.testing.protocol_oracle import dissect

FIELDS = ["mqtt.msgtype", "mqtt.clientid", "mqtt.username", "mqtt.topic", "mqtt.qos", "mqtt.msgid"]
NAMES = ["type", "clientid", "username", "topic", "qos", "msgid"]
SEP = "\x1f"
Key = tuple[int, str, str]


def captures_with(root: Path, protocol: str) -> list[Path]:
    """Captures the corpus catalogue lists with ``protocol`` in tshark's protocol hierarchy."""
    found = []
    row = re.compile(r"^\| (pcaps/\S+) \| \d+ \| \S+ \| ([^|]*)\|")
    for line in (root / "CATALOG.md").read_text(encoding="utf-8").splitlines():
        m = row.match(line)
        if m and protocol in [p.strip() for p in m.group(2).split(",")]:
            path = root / m.group(1)
            if path.is_file():
                found.append(path)
    return found


def tshark_keys(path: Path) -> Counter[Key]:
    assert tshark.TSHARK is not None
    cmd = [tshark.TSHARK, "-n", "-r", str(path), "-Y", "mqtt", "-T", "fields"]
    cmd += ["-E", "separator=\t", "-E", "occurrence=a", "-E", f"aggregator={SEP}"]
    cmd += ["-e", "frame.number"] + [x for f in FIELDS for x in ("-e", f)]
    out = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    keys: Counter[Key] = Counter()
    for line in out.stdout.splitlines():
        row = line.split("\t")
        row += [""] * (len(FIELDS) + 1 - len(row))
        frame = int(row[0])
        for name, value in zip(NAMES, row[1:], strict=True):
            for v in value.split(SEP) if value else []:
                keys[(frame, name, v)] += 1
    return keys


def our_keys(events: list[Event]) -> Counter[Key]:
    keys: Counter[Key] = Counter()
    for e in events:
        if isinstance(e, MqttMalformed) and e.message_type is not None and e.frame:
            # a packet that framed but whose body is invalid: tshark still shows its type
            keys[(e.frame, "type", str(e.message_type))] += 1
        if not isinstance(e, MqttMessage):
            continue
        keys[(e.frame, "type", str(e.message_type))] += 1
        if isinstance(e, MqttConnect):
            if e.client_id:  # tshark shows no empty string
                keys[(e.frame, "clientid", e.client_id)] += 1
            if e.username is not None:
                keys[(e.frame, "username", e.username)] += 1
        if isinstance(e, MqttPublish):
            keys[(e.frame, "topic", e.topic)] += 1
            keys[(e.frame, "qos", str(e.qos))] += 1
        if isinstance(e, MqttSubscribe):
            for topic in e.topic_filters:
                keys[(e.frame, "topic", topic)] += 1
        if e.protocol_level == 3 and e.message_type in (6, 8, 10):
            # tshark shows the header QoS of MQTT 3.1 PUBREL / SUBSCRIBE / UNSUBSCRIBE
            keys[(e.frame, "qos", str(e.flags >> 1 & 3))] += 1
        if e.packet_id is not None:
            keys[(e.frame, "msgid", str(e.packet_id))] += 1
    return keys


@dataclass
class Comparison:
    path: Path
    ours: int
    theirs: int
    matched: int
    messages: int
    malformed: int
    only_ours: list[Key] = field(default_factory=list)
    only_theirs: list[Key] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return self.matched / max(self.ours, self.theirs, 1)


def compare(path: Path) -> Comparison:
    events = dissect(path, [MqttDissector])
    ours, theirs = our_keys(events), tshark_keys(path)
    return Comparison(
        path,
        sum(ours.values()),
        sum(theirs.values()),
        sum((ours & theirs).values()),
        sum(isinstance(e, MqttMessage) for e in events),
        sum(
            isinstance(e, MqttMalformed) or getattr(e, "violation", None) is not None
            for e in events
        ),
        sorted((ours - theirs).elements())[:8],
        sorted((theirs - ours).elements())[:8],
    )
