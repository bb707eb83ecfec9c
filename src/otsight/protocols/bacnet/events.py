"""BACnet events: one per BVLC message (with its NPDU and APDU when present), a subclass for
I-Am (the device's identity) and input that does not decode."""

from __future__ import annotations

from typing import Any, ClassVar

from ...core.events import Event


class BacnetMessage(Event, frozen=True, kw_only=True):
    """A BACnet/IP message. BVLC fields always; NPDU fields when the BVLC carries an NPDU;
    APDU fields unless it is a network-layer message. ``object_*`` and ``property_*`` are the
    first object/property the service names (``objects``/``properties`` all of them);
    ``value`` the first value of a read-property ack or write-property (text for strings,
    ``type,instance`` for objects), ``values`` (object, property, value) per value of a
    read-property-multiple ack or write-property-multiple. Responses are paired with their
    request by (peer, invoke id): ``matched``, ``request_frame``, ``request_service``,
    ``latency``. Passwords are never kept: ``password_present`` says one was sent."""

    protocol: ClassVar[str] = "bacnet"
    bvlc_function: int
    bvlc_name: str
    bvlc_length: int = 0
    forwarded_from: str | None = None  # forwarded-npdu: the originating "ip:port"
    bvlc_result: int | None = None
    foreign_device_ttl: int | None = None
    # NPDU
    npdu_control: int | None = None
    network_message_type: int | None = None
    network_message: str | None = None
    network_vendor_id: int | None = None
    dnet: int | None = None
    dadr: str | None = None
    snet: int | None = None
    sadr: str | None = None
    hop_count: int | None = None
    expecting_reply: bool = False
    priority: int = 0
    # APDU
    apdu_type: int | None = None
    apdu_type_name: str | None = None
    service_choice: int | None = None
    service: str | None = None
    invoke_id: int | None = None
    segmented: bool = False
    more_follows: bool = False
    sequence_number: int | None = None
    complete: bool = True  # False if the service data could not be walked to the end
    object_type: int | None = None
    object_type_name: str | None = None
    object_instance: int | None = None
    objects: tuple[str, ...] = ()
    property_id: int | None = None
    property_name: str | None = None
    properties: tuple[str, ...] = ()
    array_index: int | None = None
    priority_level: int | None = None
    value: str | int | float | bool | None = None
    values: tuple[tuple[str, str, Any], ...] = ()
    low_limit: int | None = None
    high_limit: int | None = None
    object_name: str | None = None
    reinitialize_state: str | None = None
    communication_state: str | None = None
    duration_minutes: int | None = None
    password_present: bool | None = None
    time: str | None = None
    file_access: str | None = None
    file_start: int | None = None
    file_count: int | None = None
    end_of_file: bool | None = None
    subscriber_process_id: int | None = None
    lifetime: int | None = None
    error_class: str | None = None
    error_code: int | None = None
    reason: str | None = None  # reject / abort reason
    matched: bool = False
    request_frame: int | None = None
    request_service: str | None = None
    latency: float | None = None

    @property
    def action(self) -> str:
        if self.service is not None:
            return self.service
        if self.network_message is not None:
            return self.network_message
        return self.apdu_type_name or self.bvlc_name


class BacnetIAm(BacnetMessage, frozen=True, kw_only=True):
    """An I-Am: a device announcing its instance, limits and vendor."""

    device_instance: int | None = None
    max_apdu: int | None = None
    segmentation: str | None = None
    vendor_id: int | None = None
    vendor_name: str | None = None


class BacnetMalformed(Event, frozen=True, kw_only=True):
    """A datagram on a BACnet flow that does not decode."""

    protocol: ClassVar[str] = "bacnet"
    action_name: ClassVar[str] = "malformed"
    reason: str
    length: int
