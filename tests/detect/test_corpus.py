"""Real public captures (../shared/data): engineering operations and attack-like traffic must
raise the matching alerts, ordinary traffic must raise none. `pytest -s` prints the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from otsight.detect.registry import create_detectors
from otsight.testing.corpus import shared_data

from .builders import detect

DATA = shared_data()
pytestmark = pytest.mark.skipif(DATA is None, reason="../shared/data (the shared corpus) absent")

ITI = "pcaps/ITI_ICS-Security-Tools/"
SV = "pcaps/OISF_suricata-verify/"

# capture -> alert kinds it must raise (the operation and the steps it really includes)
ATTACKS: dict[str, set[str]] = {
    # Digital Bond QuickDraw (ITI openics): Rockwell Logix engineering operations
    ITI + "openics/EIP-FirmwareChange.pcap": {"firmware-update", "device-restart"},
    ITI + "openics/EIP-FirmwareChangeFailure.pcap": {"firmware-update"},
    ITI + "openics/EIP-RemoteModeChangeAttempt.pcap": {"plc-stop"},
    # RebootorRestart is byte-identical to SoftwareDownload (CATALOG's known traps): a download
    ITI + "openics/EIP-RebootorRestart.pcap": {
        "program-download", "plc-stop", "plc-start", "device-restart", "device-config-change"},
    ITI + "openics/EIP-SoftwareUpload.pcap": {"program-upload"},
    ITI + "openics/EIP-ChangeTimeAttempt.pcap": {"device-config-change"},
    ITI + "openics/EIP-ChangeDateAttempt.pcap": {"device-config-change"},
    ITI + "openics/EIP-ChangePortConfigurationAttempt.pcap": {"device-config-change"},
    ITI + "EthernetIP/cip_stop_plc.pcap": {"plc-stop"},
    ITI + "EthernetIP/cip_start_plc.pcap": {"plc-start"},
    # S7comm
    ITI + "s7/s7comm_downloading_block_db1.pcap": {"program-download"},
    ITI + "s7/snap7_s300_everything.pcapng": {
        "plc-stop", "plc-start", "plc-control", "program-upload", "program-download"},
    # DNP3 firewall test vectors
    ITI + "dnp3/cold_restart_and_response.pcap": {"device-restart"},
    ITI + "dnp3/warm_restart_and_response.pcap": {"device-restart"},
    ITI + "dnp3/disable_unsolcited_and_response.pcap": {"dnp3-disable-unsolicited"},
    ITI + "dnp3/file_delete.pcap": {"file-delete"},
    ITI + "dnp3/file_write.pcap": {"file-transfer"},
    ITI + "bro/dnp3/dnp3_file_del.pcap": {"file-delete"},
    # suricata-verify: modbus (sid 7 "function 8" x8, sid 6 "access write" x3 from 10.0.0.9)
    SV + "modbus/modbus.pcap": {
        "modbus-listen-only", "device-restart", "modbus-diagnostics", "unknown-master-write"},
    # suricata-verify dnp3-dnp3_func-alert (dnp3_func:21 on dnp3-eve/input.pcap)
    SV + "dnp3/dnp3-eve/input.pcap": {"dnp3-disable-unsolicited"},
    # Lemay & Fernandez (CSET 2016): a fake command injected from a host that never polled
    "labelled/antoine-lemay_Modbus_dataset/send_a_fake_command_modbus_6RTU_with_operate.pcap": {
        "unknown-master-write"},
}

# ordinary operation: no alert above severity info
NORMAL = [
    ITI + "s7/S7Comm/s7comm_clean.pcap",
    ITI + "ModbusTCP/ModbusTCP.pcap",
    ITI + "ModbusTCP/mb2.pcap",
    ITI + "bro/modbus/modbusBig.pcap",
    ITI + "EthernetIP/EthernetIP-CIP.pcap",
    ITI + "CIP/cip_only.pcap",
    ITI + "dnp3/read_and_response.pcap",
    ITI + "IEC60870-5-104/090813_diverse.pcap",
    ITI + "BACnet/bacnet_test.pcap",
    ITI + "C37.118/C37118/c37118_1100_unclean.pcap",
    ITI + "s7/S7Comm/wrapup.pcapng",
    ITI + "hart/hart_ip.pcap",
]

ROWS: list[tuple[str, str, str, str, int]] = []


def _raised(rel: str) -> tuple[set[str], int]:
    assert DATA is not None
    path = DATA / rel
    if not path.is_file():
        pytest.skip(f"{rel} not in the corpus")
    stage = detect([path], create_detectors())
    counted = [a for a in stage.alerts if a.severity != "info"]
    return {a.kind for a in counted}, len(counted)


def _short(rel: str) -> str:
    return Path(rel).name if "suricata" not in rel else rel.split("/", 2)[2]


@pytest.mark.parametrize("rel", sorted(ATTACKS), ids=lambda r: Path(r).stem)
def test_attack_capture_raises_its_alerts(rel: str) -> None:
    raised, _count = _raised(rel)
    expected = ATTACKS[rel]
    missed, extra = expected - raised, raised - expected
    ROWS.append((_short(rel), ",".join(sorted(expected)), ",".join(sorted(raised)),
                 ",".join(sorted(missed)) or "-", len(extra)))
    assert not missed
    assert not extra


@pytest.mark.parametrize("rel", NORMAL, ids=lambda r: Path(r).stem)
def test_ordinary_capture_raises_nothing(rel: str) -> None:
    raised, count = _raised(rel)
    ROWS.append((_short(rel), "-", ",".join(sorted(raised)) or "-", "-", count))
    assert count == 0


def test_print_table() -> None:
    """Runs last in this module: the table of every capture above (visible with -s)."""
    if not ROWS:
        pytest.skip("no corpus rows")
    width = max(len(r[0]) for r in ROWS)
    print(f"\n{'capture':{width}}  {'expected':40}  {'raised':40}  {'missed':12}  false")
    for name, expected, raised, missed, false in ROWS:
        print(f"{name:{width}}  {expected:40}  {raised:40}  {missed:12}  {false}")
