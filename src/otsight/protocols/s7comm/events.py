"""S7comm events: jobs (requests), acks (responses), userdata, COTP connections, S7comm-plus."""

from __future__ import annotations

from typing import Any, ClassVar

from ...core.events import Event


class S7Connection(Event, frozen=True, kw_only=True):
    """A COTP connection request or confirm (ISO-on-TCP), with its TSAPs."""

    protocol: ClassVar[str] = "s7comm"
    pdu_type: str  # "connection-request" | "connection-confirm" | "disconnect-request" ...
    src_tsap: str | None = None  # calling TSAP, hex (0100) or text (SIMATIC-ROOT-ES)
    dst_tsap: str | None = None  # called TSAP
    tpdu_size: int | None = None
    rack: int | None = None  # from a classic 2-byte called TSAP
    slot: int | None = None

    @property
    def action(self) -> str:
        return self.pdu_type


class S7Message(Event, frozen=True, kw_only=True):
    """Fields every S7comm PDU has (protocol id 0x32)."""

    protocol: ClassVar[str] = "s7comm"
    rosctr: int
    rosctr_name: str  # job | ack | ack-data | userdata
    pdu_ref: int
    param_length: int
    data_length: int


class S7JobFields(S7Message, frozen=True, kw_only=True):
    function_code: int | None = None
    function: str | None = None
    item_count: int | None = None
    items: tuple[dict[str, Any], ...] | None = None  # read/write-var: area, db, address ...
    max_amq_calling: int | None = None  # setup-communication
    max_amq_called: int | None = None
    pdu_length: int | None = None
    filename: str | None = None  # block transfer: "_0A00001P"
    block_type: str | None = None  # OB, DB, FC, FB, SDB ...
    block_number: int | None = None
    file_system: str | None = None  # passive | active | active-and-passive
    pi_service: str | None = None  # plc-control / plc-stop: _INSE, P_PROGRAM, _MODU ...
    pi_service_name: str | None = None
    pi_arguments: str | None = None

    @property
    def action(self) -> str:
        return self.function or self.rosctr_name


class S7Request(S7JobFields, frozen=True, kw_only=True):
    """A job (ROSCTR 1) from a client to a PLC."""


class S7Response(S7JobFields, frozen=True, kw_only=True):
    """An ack or ack-data (ROSCTR 2/3); request fields copied from the job when matched."""

    error_class: int | None = None
    error_code: int | None = None
    error: str | None = None  # error class name, None when 0
    return_codes: tuple[str, ...] | None = None  # per read/write-var item
    matched: bool = False
    request_frame: int | None = None
    latency: float | None = None


class S7UserData(S7Message, frozen=True, kw_only=True):
    """A userdata PDU (ROSCTR 7): function group + subfunction (read-szl, block info, ...)."""

    method: str  # request | response | push ...
    function_group: int
    function_group_name: str
    subfunction: int
    subfunction_name: str
    sequence_number: int
    data_unit_ref: int | None = None
    last_data_unit: bool | None = None
    fragment: bool = False  # more fragments follow (reassembled fields appear on the last)
    userdata_error: int | None = None
    return_code: str | None = None  # data part return code name
    szl_id: int | None = None
    szl_index: int | None = None
    szl_list: str | None = None
    szl_record_count: int | None = None
    module_identification: dict[str, str] | None = None  # order_number, serial_number ...
    block_type: str | None = None
    block_number: int | None = None
    clock: str | None = None  # time functions: the PLC clock read or set
    matched: bool = False
    request_frame: int | None = None
    latency: float | None = None

    @property
    def action(self) -> str:
        return self.subfunction_name


class S7PlusMessage(Event, frozen=True, kw_only=True):
    """An S7comm-plus PDU (protocol id 0x72): header fields only."""

    protocol: ClassVar[str] = "s7comm_plus"
    version: int
    version_name: str
    data_length: int
    integrity: bool = False
    opcode: int | None = None
    opcode_name: str | None = None  # request | response | notification | response2
    function_code: int | None = None
    function: str | None = None
    sequence_number: int | None = None
    session_id: int | None = None  # requests carry it; responses get it from their request
    matched: bool = False
    request_frame: int | None = None
    latency: float | None = None

    @property
    def action(self) -> str:
        return self.function or self.opcode_name or self.version_name


class S7Malformed(Event, frozen=True, kw_only=True):
    """Bytes on an S7 flow that do not parse (counted, with a reason)."""

    protocol: ClassVar[str] = "s7comm"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
