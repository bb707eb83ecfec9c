"""Which OT protocol messages are engineering or state-changing commands, and why they matter.

Pure functions from one request event to a :class:`Command` (or None): the table an analyst can
read to see exactly what otsight flags, per protocol, with the ATT&CK for ICS technique. Also the
two questions the unknown-master rule asks of any request: does it write, does it ask a device
who it is.

Vendor heuristics are labelled as such: Schneider UMAS (Modbus function 90; Schneider names
transfers from the PLC's side, so its "upload" sends a program *to* the PLC) and Rockwell Logix
CIP object classes (program download = creating program/tag objects, firmware = the
Non-Volatile Storage object 0xA1), both confirmed on the Digital Bond QuickDraw captures.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core.events import BaseEvent, Event
from ...protocols.bacnet.events import BacnetMessage
from ...protocols.dnp3.events import Dnp3Request
from ...protocols.enip.events import CipRequest, EnipMessage
from ...protocols.iec104.events import Iec104Asdu
from ...protocols.modbus.events import ModbusRequest
from ...protocols.s7comm.events import S7PlusMessage, S7Request, S7UserData


@dataclass(frozen=True, slots=True)
class Command:
    """A flagged operation: alert kind, severity, ATT&CK technique and plain words."""

    kind: str
    severity: str
    technique_id: str
    title: str  # "PLC stop"
    why: str  # one sentence: why an analyst should care
    detail: str = ""
    reverse: bool = False  # the event travelled target -> actor


# ----------------------------------------------------------------------------- shared wording
_STOP = "a stopped controller no longer runs its logic: the process it controls is left alone"
_START = "a controller started remotely runs whatever program it holds, possibly a new one"
_RESTART = "a restart interrupts control and monitoring while the device boots"
_DOWNLOAD = "new logic on a controller changes what the process does (and can hide it)"
_UPLOAD = "the controller's program was copied off: an attacker learns the process to attack it"
_FIRMWARE = "new firmware can change a device beyond repair or hide persistent malware"
_CONFIG = "a configuration change alters how the device behaves or communicates"

PLC_STOP = ("plc-stop", "critical", "T0858", "PLC stop", _STOP)
PLC_START = ("plc-start", "high", "T0858", "PLC start", _START)
DEVICE_RESTART = ("device-restart", "high", "T0816", "device restart", _RESTART)
PROGRAM_DOWNLOAD = ("program-download", "critical", "T0843", "program download", _DOWNLOAD)
PROGRAM_UPLOAD = ("program-upload", "medium", "T0845", "program upload", _UPLOAD)
FIRMWARE_UPDATE = ("firmware-update", "critical", "T0857", "firmware update", _FIRMWARE)
CONFIG_CHANGE = ("device-config-change", "medium", "T0836", "device configuration change", _CONFIG)


def _command(spec: tuple[str, str, str, str, str], detail: str = "", **kw: bool) -> Command:
    kind, severity, technique_id, title, why = spec
    return Command(kind, severity, technique_id, title, why, detail, **kw)


# ----------------------------------------------------------------------------- Modbus
MODBUS_WRITES = frozenset({5, 6, 15, 16, 21, 22, 23})
# Diagnostics (FC 8) sub-functions that change the device rather than read a counter.
MODBUS_DIAG_CHANGES = frozenset({1, 3, 4, 10, 20})
UMAS_START, UMAS_STOP = 0x40, 0x41
UMAS_TO_PLC = frozenset({0x30, 0x31, 0x32})  # Schneider "upload": a program sent to the PLC
UMAS_FROM_PLC = frozenset({0x33, 0x34, 0x35})  # Schneider "download": the program copied off
UMAS_WRITES = frozenset({0x23, 0x25})  # write variables, write coils/registers
UMAS_IDENTIFY = frozenset({0x02, 0x03, 0x04, 0x06})  # read id, project, PLC and card info


# The function codes modbus_command can flag, and those is_write or is_identification can hold
# for (a request with any other code is neither): what a detector reading Modbus columns
# must build events for.
MODBUS_COMMAND_CODES = frozenset({8, 90})
MODBUS_WRITE_OR_IDENTIFY_CODES = MODBUS_WRITES | {17, 43, 90}


def modbus_command(e: ModbusRequest) -> Command | None:
    fc, sub = e.function_code, e.sub_function
    if fc == 8:
        name = e.sub_function_name or f"sub-function {sub}"
        if sub == 4:
            return Command(
                "modbus-listen-only", "critical", "T0814", "Modbus force listen-only mode",
                "the device stops answering every master (the HMI too) until it is restarted: "
                "operators lose view and control", name)
        if sub == 1:
            return Command(
                "device-restart", "high", "T0816", "Modbus restart communications", _RESTART,
                name)
        if sub in MODBUS_DIAG_CHANGES:
            return Command(
                "modbus-diagnostics", "medium", "T0855", "Modbus diagnostics change",
                "diagnostic commands that clear counters or change the serial line are rarely "
                "sent in operation and can erase traces", name)
        return Command(
            "modbus-diagnostics", "low", "T0888", "Modbus diagnostics read",
            "diagnostic counters tell an attacker about the device and its traffic", name)
    if fc == 90 and sub is not None:
        detail = f"UMAS function {sub:#04x}"
        if sub == UMAS_STOP:
            return _command(PLC_STOP, detail)
        if sub == UMAS_START:
            return _command(PLC_START, detail)
        if sub in UMAS_TO_PLC:
            return _command(PROGRAM_DOWNLOAD, detail)
        if sub in UMAS_FROM_PLC:
            return _command(PROGRAM_UPLOAD, detail)
    return None


# ----------------------------------------------------------------------------- S7comm
S7_WRITE_VAR = 0x05
S7_PLC_STOP = 0x29
S7_PLC_CONTROL = 0x28
S7_DOWNLOAD_REQUEST = 0x1A
S7_DOWNLOAD_FROM_PLC = frozenset({0x1B, 0x1C})  # the PLC pulls the blocks from the station
S7_UPLOAD = frozenset({0x1D, 0x1E, 0x1F})
S7_PI_COMMANDS: dict[str, tuple[str, str, str, str, str]] = {
    "P_PROGRAM": PLC_START,
    "_INSE": PROGRAM_DOWNLOAD,  # activate a downloaded block
    "_MODU": PROGRAM_DOWNLOAD,  # copy RAM to ROM: make downloaded blocks permanent
    "_DELE": (
        "program-delete", "high", "T0809", "program block delete",
        "deleted blocks remove control logic from the controller",
    ),
}


def s7_command(e: S7Request) -> Command | None:
    fc = e.function_code
    block = f"{e.block_type or ''} {e.block_number if e.block_number is not None else ''}".strip()
    if fc == S7_PLC_STOP:
        return _command(PLC_STOP, e.pi_service or "")
    if fc == S7_PLC_CONTROL:
        spec = S7_PI_COMMANDS.get(e.pi_service or "")
        detail = f"PI service {e.pi_service} {e.pi_arguments or ''}".strip()
        if spec is not None:
            return _command(spec, detail)
        return Command(
            "plc-control", "medium", "T0855", "PLC control command",
            "a PI service changes the controller's state or memory", detail)
    if fc == S7_DOWNLOAD_REQUEST:
        return _command(PROGRAM_DOWNLOAD, block or (e.filename or ""))
    if fc in S7_DOWNLOAD_FROM_PLC:
        return _command(PROGRAM_DOWNLOAD, block or (e.filename or ""), reverse=True)
    if fc in S7_UPLOAD:
        return _command(PROGRAM_UPLOAD, block or (e.filename or ""))
    return None


# Not flagged: the programmer-command "forces" userdata request. Every TIA Portal / STEP 7
# session sends it byte for byte the same when it goes online (ITI s7/tia_s300_goOnline,
# step7_s300_readDiagData): it queries the force list; telling a query from setting a force
# needs its data layout, which the dissector does not decode yet.


# ----------------------------------------------------------------------------- CIP
CIP_RESET, CIP_START, CIP_STOP, CIP_CREATE, CIP_DELETE = 0x05, 0x06, 0x07, 0x08, 0x09
CIP_READS = frozenset({0x01, 0x03, 0x0E})  # get-attribute-all/list/single
CIP_SETS = frozenset({0x02, 0x04, 0x10})  # set-attribute-all/list/single
CIP_IDENTITY = 0x01
CIP_NVS = 0xA1  # Non-Volatile Storage object: firmware transfers (ControlFLASH)
LOGIX_PROGRAM_CLASSES = frozenset({0x68, 0x6A, 0x6B, 0x6C})  # program, routine?, symbol, template
LOGIX_UPLOAD_SERVICE, LOGIX_UPLOAD_CLASS = 0x4F, 0x6A
CIP_CONFIG_CLASSES = {0x8B: "time sync", 0xF5: "TCP/IP interface", 0xF6: "Ethernet link"}


def cip_command(e: CipRequest) -> Command | None:
    svc, cls = e.service_code, e.class_id
    target = f"{e.class_name or 'class'} ({cls:#x}) instance {e.instance}" if cls is not None else (
        e.symbol or e.path or "unknown object"
    )
    detail = f"{e.service} on {target}"
    if cls == CIP_NVS and svc not in CIP_READS:
        return _command(FIRMWARE_UPDATE, detail)
    if svc == CIP_STOP:
        return _command(PLC_STOP, detail)
    if svc == CIP_START:
        return _command(PLC_START, detail)
    if svc == CIP_RESET:
        return _command(DEVICE_RESTART, detail)
    if svc in (CIP_CREATE, CIP_DELETE) and cls in LOGIX_PROGRAM_CLASSES:
        return _command(PROGRAM_DOWNLOAD, detail)
    if svc == LOGIX_UPLOAD_SERVICE and cls == LOGIX_UPLOAD_CLASS:
        return _command(PROGRAM_UPLOAD, detail)
    if svc in CIP_SETS and cls in CIP_CONFIG_CLASSES:
        return _command(CONFIG_CHANGE, f"{e.service} on {CIP_CONFIG_CLASSES[cls]} object")
    return None


# ----------------------------------------------------------------------------- DNP3
DNP3_COMMANDS: dict[int, tuple[str, str, str, str, str]] = {
    13: DEVICE_RESTART,  # cold restart
    14: DEVICE_RESTART,  # warm restart
    15: ("dnp3-initialize-data", "medium", "T0816", "DNP3 initialize data",
         "initializing data resets the outstation's points to their defaults"),
    16: ("application-start", "high", "T0858", "DNP3 initialize application", _START),
    17: ("application-start", "high", "T0858", "DNP3 start application", _START),
    18: ("application-stop", "critical", "T0881", "DNP3 stop application", _STOP),
    19: CONFIG_CHANGE,  # save configuration
    21: ("dnp3-disable-unsolicited", "low", "T0804", "DNP3 disable unsolicited responses",
         "the outstation stops reporting changes on its own: events can go unseen"),
    25: ("file-transfer", "medium", "T0867", "DNP3 file transfer",
         "files moved to or from an outstation can carry configuration, programs or tools"),
    26: ("file-transfer", "medium", "T0867", "DNP3 file transfer",
         "files moved to or from an outstation can carry configuration, programs or tools"),
    27: ("file-delete", "high", "T0809", "DNP3 file delete",
         "deleting files on an outstation can destroy configuration or logs"),
    30: ("file-transfer", "medium", "T0867", "DNP3 file transfer",
         "files moved to or from an outstation can carry configuration, programs or tools"),
    31: CONFIG_CHANGE,  # activate configuration
}
DNP3_WRITES = frozenset({2, 3, 4, 5, 6})  # write, select, operate, direct operate (no ack)


def dnp3_command(e: Dnp3Request) -> Command | None:
    spec = DNP3_COMMANDS.get(e.function_code)
    return _command(spec, e.function) if spec is not None else None


# ----------------------------------------------------------------------------- BACnet
BACNET_WRITES = frozenset({"write-property", "write-property-multiple"})


def bacnet_command(e: BacnetMessage) -> Command | None:
    if e.apdu_type != 0:  # confirmed requests only
        return None
    if e.service == "reinitialize-device":
        state = e.reinitialize_state or "unknown state"
        return _command(DEVICE_RESTART, f"reinitialize-device {state}")
    if e.service == "device-communication-control" and e.communication_state in (
        "disable", "disable-initiation"
    ):
        minutes = f" for {e.duration_minutes} min" if e.duration_minutes else ""
        return Command(
            "communication-disable", "high", "T0814", "BACnet communication disabled",
            "the device stops talking to the building management system",
            f"device-communication-control {e.communication_state}{minutes}")
    if e.service == "atomic-write-file":
        return Command(
            "file-transfer", "medium", "T0867", "BACnet file write",
            "files written to a controller can carry programs or configuration", e.service)
    return None


# ----------------------------------------------------------------------------- IEC 104
IEC104_RESET_PROCESS = 105


def iec104_command(e: Iec104Asdu) -> Command | None:
    if e.is_command and e.type_id == IEC104_RESET_PROCESS:
        return _command(DEVICE_RESTART, f"{e.type_name} {e.cause_name}")
    return None


def command_of(event: BaseEvent) -> Command | None:
    """The flagged command ``event`` carries, if any."""
    if isinstance(event, ModbusRequest):
        return modbus_command(event)
    if isinstance(event, S7Request):
        return s7_command(event)
    if isinstance(event, CipRequest):
        return cip_command(event)
    if isinstance(event, Dnp3Request):
        return dnp3_command(event)
    if isinstance(event, BacnetMessage):
        return bacnet_command(event)
    if isinstance(event, Iec104Asdu):
        return iec104_command(event)
    return None


COMMAND_EVENTS: tuple[type[BaseEvent], ...] = (
    ModbusRequest, S7Request, CipRequest, Dnp3Request, BacnetMessage, Iec104Asdu,
)


# ----------------------------------------------------------------------------- masters
REQUEST_EVENTS: tuple[type[BaseEvent], ...] = (
    *COMMAND_EVENTS, S7UserData, EnipMessage, S7PlusMessage,
)
ENIP_PORT = 44818
ENIP_LIST_IDENTITY = 0x63
CIP_WRITE_SERVICES = frozenset({
    "write-tag", "write-tag-fragmented", "read-modify-write-tag",
    "set-attribute-single", "set-attribute-list", "set-attribute-all",
})
S7PLUS_WRITES = frozenset({"set-multi-variables", "set-variable"})
BACNET_REQUEST_TYPES = frozenset({0, 1})


def is_request(event: Event) -> bool:
    """Sent by a client (master) to a server, as opposed to a reply or a notification."""
    if isinstance(event, S7UserData):
        return event.method == "request"
    if isinstance(event, BacnetMessage):
        return event.apdu_type in BACNET_REQUEST_TYPES
    if isinstance(event, S7PlusMessage):
        return event.opcode_name == "request"
    if isinstance(event, EnipMessage):
        return event.dst_port == ENIP_PORT
    if isinstance(event, Iec104Asdu):
        return event.is_command
    return True  # ModbusRequest, S7Request, CipRequest, Dnp3Request are requests by type


def is_write(event: Event) -> bool:
    """Changes a value or an output of the server."""
    if isinstance(event, ModbusRequest):
        fc = event.function_code
        return fc in MODBUS_WRITES or (fc == 90 and event.sub_function in UMAS_WRITES)
    if isinstance(event, S7Request):
        return event.function_code == S7_WRITE_VAR
    if isinstance(event, CipRequest):
        return event.service in CIP_WRITE_SERVICES
    if isinstance(event, Dnp3Request):
        return event.function_code in DNP3_WRITES
    if isinstance(event, BacnetMessage):
        return event.apdu_type == 0 and event.service in BACNET_WRITES
    if isinstance(event, Iec104Asdu):
        return event.is_command and event.category in ("control", "parameter")
    if isinstance(event, S7PlusMessage):
        return event.opcode_name == "request" and event.function in S7PLUS_WRITES
    return False


def is_identification(event: Event) -> bool:
    """Asks the device who it is: vendor, model, firmware, modules (ATT&CK T0888)."""
    if isinstance(event, ModbusRequest):
        fc = event.function_code
        return (
            (fc == 43 and event.sub_function == 14)
            or fc == 17
            or (fc == 90 and event.sub_function in UMAS_IDENTIFY)
        )
    if isinstance(event, S7UserData):
        return event.method == "request" and event.subfunction_name == "read-szl"
    if isinstance(event, CipRequest):
        return event.class_id == CIP_IDENTITY and event.service_code in CIP_READS
    if isinstance(event, EnipMessage):
        return event.command == ENIP_LIST_IDENTITY and event.dst_port == ENIP_PORT
    if isinstance(event, BacnetMessage):
        return (
            event.apdu_type == 0
            and event.service in ("read-property", "read-property-multiple")
            and event.object_type_name == "device"
        )
    if isinstance(event, Dnp3Request):
        return event.function_code == 1 and any(obj[0] == 0 for obj in event.objects)
    return False
