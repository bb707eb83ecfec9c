"""EtherNet/IP and CIP events.

``EnipMessage`` is one encapsulation message; ``EnipListIdentity`` one identity item of a
ListIdentity reply (the device's vendor, product, revision and serial: asset inventory);
``CipRequest`` / ``CipResponse`` one message router request or reply, including the requests
embedded in a multiple-service-packet or an unconnected-send (``parent_service`` says which).
"""

from __future__ import annotations

from typing import ClassVar

from ...core.events import Event


class EnipMessage(Event, frozen=True, kw_only=True):
    """One encapsulation message (24-byte header and its data)."""

    protocol: ClassVar[str] = "enip"
    command: int
    command_name: str
    length: int
    session_handle: int
    status: int
    status_name: str
    sender_context: str  # 8 bytes, hex
    options: int
    items: tuple[int, ...] | None = None  # CPF item type ids, when the command carries CPF
    connection_id: int | None = None  # connected address item
    sequence: int | None = None  # connected data item sequence count

    @property
    def action(self) -> str:
        return self.command_name


class EnipListIdentity(Event, frozen=True, kw_only=True):
    """A device's identity from a ListIdentity reply."""

    protocol: ClassVar[str] = "enip"
    action_name: ClassVar[str] = "list-identity"
    encapsulation_version: int
    socket_address: str
    socket_port: int
    vendor_id: int
    vendor: str
    device_type: int
    device_type_name: str
    product_code: int
    revision: str  # "major.minor"
    revision_major: int
    revision_minor: int
    status: int
    serial_number: str  # hex, 8 digits, as printed on the device
    product_name: str
    state: int | None = None


class CipMessage(Event, frozen=True, kw_only=True):
    protocol: ClassVar[str] = "enip"
    service_code: int  # without the response bit
    service: str
    class_id: int | None = None
    class_name: str | None = None
    instance: int | None = None
    attribute: int | None = None
    attributes: tuple[int, ...] | None = None  # get/set-attribute-list
    symbol: str | None = None  # Logix tag name (ANSI extended symbolic segments)
    path: str | None = None
    session_handle: int | None = None
    sender_context: str | None = None  # unconnected (send-rr-data) messages
    connection_id: int | None = None  # connected (send-unit-data) messages
    sequence: int | None = None
    connection_path: str | None = None  # the connection's target, from its Forward Open
    parent_service: str | None = None  # when embedded in another service
    # Forward Open / Forward Close
    ot_connection_id: int | None = None
    to_connection_id: int | None = None
    connection_serial: int | None = None
    originator_vendor_id: int | None = None
    originator_serial: int | None = None
    ot_rpi: int | None = None  # requested packet interval, microseconds
    to_rpi: int | None = None
    route: str | None = None  # unconnected-send route path

    @property
    def action(self) -> str:
        return self.service


class CipRequest(CipMessage, frozen=True, kw_only=True):
    """A request to a CIP object (path: class / instance / attribute or a tag symbol)."""


class CipResponse(CipMessage, frozen=True, kw_only=True):
    """A reply; its path fields come from the matched request (``matched``)."""

    general_status: int
    status: str
    extended_status: tuple[int, ...] | None = None
    matched: bool = False
    request_frame: int | None = None
    latency: float | None = None
    ot_api: int | None = None  # actual packet interval, microseconds (forward-open replies)
    to_api: int | None = None


class EnipMalformed(Event, frozen=True, kw_only=True):
    """Bytes on an EtherNet/IP flow that do not parse (counted, with a reason)."""

    protocol: ClassVar[str] = "enip"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
