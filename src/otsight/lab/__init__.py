"""A labelled lab plant: real protocol stacks in network namespaces, captured, with ground truth.

`otsight lab run --scenario NAME --out DIR` builds a small plant (PLCs, HMI, engineering
workstation, attacker) out of network namespaces joined by a Linux bridge, runs real protocol
stacks in them (pymodbus servers and clients, nmap), captures the bridge with tcpdump and writes
``capture.pcap`` plus ``truth.json`` (devices, expected conversations, attack steps with capture
time windows and ATT&CK for ICS technique ids).

This package is a test-data generator, not a pipeline stage: nothing in the pipeline imports it.
"""

from __future__ import annotations

__all__: list[str] = []
