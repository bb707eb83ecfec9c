"""OPC UA: session set-up and the services clients call; the server URI of a reverse hello.

HEL comes from the client, OPN requests too (readable under policy None, else told by the
secure channel id 0 of an "issue" request). Service requests are only readable on channels with
policy None; encrypted MSG chunks give no Activity (the HEL/OPN of the connection already say
who is the client). A reverse hello (RHE) is sent by the server with its application URI.
"""

from __future__ import annotations

from ...protocols.opcua.events import OpcuaHello, OpcuaMessage, OpcuaOpenSecureChannel
from ..model import Fact
from ._common import NONE, Collector, Handler, one

SERVER_URI_SOURCE = "opcua/reverse-hello"
SERVER_URI = 60

SERVICE_CATEGORIES: dict[str, str] = {
    "Read": "read",
    "HistoryRead": "read",
    "RegisterNodes": "read",
    "UnregisterNodes": "read",
    "QueryFirst": "read",
    "QueryNext": "read",
    "Write": "write",
    "HistoryUpdate": "write",
    "Call": "write",  # methods act on the process like writes do
    "Browse": "browse",
    "BrowseNext": "browse",
    "TranslateBrowsePathsToNodeIds": "browse",
    "FindServers": "discovery",
    "GetEndpoints": "discovery",
    "RegisterServer": "other",
    "CreateSession": "session",
    "CloseSession": "session",
    "OpenSecureChannel": "session",
    "CloseSecureChannel": "session",
    "Cancel": "session",
    "ActivateSession": "login",  # carries the user identity token
    "CreateSubscription": "subscribe",
    "ModifySubscription": "subscribe",
    "SetPublishingMode": "subscribe",
    "Publish": "subscribe",
    "Republish": "subscribe",
    "TransferSubscriptions": "subscribe",
    "DeleteSubscriptions": "subscribe",
    "CreateMonitoredItems": "subscribe",
    "ModifyMonitoredItems": "subscribe",
    "SetMonitoringMode": "subscribe",
    "SetTriggering": "subscribe",
    "DeleteMonitoredItems": "subscribe",
    "AddNodes": "configure",
    "DeleteNodes": "configure",
    "AddReferences": "configure",
    "DeleteReferences": "configure",
}


def _service_request(event: OpcuaMessage) -> tuple[Fact, ...]:
    service = event.service
    if service is None or not service.endswith("Request"):
        return NONE
    return one(event, SERVICE_CATEGORIES.get(service.removesuffix("Request"), "other"))


def hello(event: OpcuaHello) -> tuple[Fact, ...]:
    if event.message_type == "HEL":
        return one(event, "session")
    if event.message_type == "RHE":
        facts = Collector(event)
        facts.observe("application", event.server_uri, SERVER_URI_SOURCE, SERVER_URI, event.src_ip)
        return facts.result()
    return NONE


def open_channel(event: OpcuaOpenSecureChannel) -> tuple[Fact, ...]:
    if event.service is not None:
        return _service_request(event)
    if event.secure_channel_id == 0:
        return one(event, "session")  # an encrypted "issue" request: no channel id yet
    return NONE


def message(event: OpcuaMessage) -> tuple[Fact, ...]:
    if event.message_type not in ("MSG", "CLO"):
        return NONE
    return _service_request(event)


HANDLERS: dict[type, Handler] = {
    OpcuaHello: hello,
    OpcuaOpenSecureChannel: open_channel,
    OpcuaMessage: message,
}
