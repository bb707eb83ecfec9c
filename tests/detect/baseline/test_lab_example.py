"""The bundled lab capture (a whole plant, then recon, MITM and manipulation from 15.7 s on):
15 s learned, the rest judged. A short learning period on real traffic shows both what the
baseline sees and what it cannot (see the assertion on the miss)."""

from __future__ import annotations

from pathlib import Path

from otsight.detect.evaluate import load_truth, score

from .plant import baseline, run

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lab-mixed"


def test_fifteen_seconds_of_a_real_plant_then_its_attacks() -> None:
    truth = load_truth(EXAMPLE / "truth.json")
    detector = baseline(learn_s=15)
    stage = run(EXAMPLE / "capture.pcap", detector)
    result = score(truth, stage.alerts, stage.raw)
    by_step = {r.step.step_id: set(r.kinds) for r in result.steps}
    assert result.false_alerts == ()
    assert "new-conversation" in by_step["recon-2"]  # the port scan reaches every host
    assert "new-operation" in by_step["recon-3"]  # FC 43 from the attacker
    assert "new-operation" in by_step["manip-1"] & by_step["manip-2"] & by_step["manip-4"]
    assert "polling-stopped" in by_step["manip-4"]  # the HMI's loop on plc2 falls silent
    # The attacker's laptop already talked during those 15 s, so it is no new device, but its
    # ARP spoofing sends learned addresses of the HMI and plc1 from its MAC.
    assert by_step["mitm-1"] == {"address-claimed"}
    claims = sorted(a.title for a in stage.alerts if a.kind == "address-claimed")
    assert claims == ["Address 192.0.2.10 claimed by b8:27:eb:9d:3e:66",
                      "Address 192.0.2.20 claimed by b8:27:eb:9d:3e:66"]
    # HR 0 was written twice in 15 s: too few writes to judge the value 5000 by, and the
    # address is inside the learned write range. The miss of a short learning period.
    assert by_step["manip-3"] == set()
    learned = detector.state
    assert len(learned.devices) == 16
    assert learned.knows_peer("192.0.2.10", "192.0.2.20", "modbus")
