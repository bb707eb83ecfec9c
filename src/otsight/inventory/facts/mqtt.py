"""MQTT: the broker is always the server.

CONNECT is a session, SUBSCRIBE/UNSUBSCRIBE a subscription, a client's PUBLISH a publish to the
broker. A PUBLISH the broker delivers to a subscriber is recorded as the *subscriber's*
``subscribe`` activity towards the broker (client = the receiver, server = the broker and its
port): the data flow is the subscription being served, and it keeps the broker the server even
when the capture started after the SUBSCRIBE. Acknowledgements and pings give nothing.
"""

from __future__ import annotations

from ...protocols.mqtt.events import MqttConnect, MqttMessage, MqttPublish, MqttSubscribe
from ..model import Fact
from ._common import NONE, Handler, one, reverse_activity


def connect(event: MqttConnect) -> tuple[Fact, ...]:
    return one(event, "session")


def publish(event: MqttPublish) -> tuple[Fact, ...]:
    if event.from_client is False:
        return (reverse_activity(event, "subscribe", "publish-delivered"),)
    return one(event, "publish")


def subscribe(event: MqttSubscribe) -> tuple[Fact, ...]:
    return one(event, "subscribe")


def message(event: MqttMessage) -> tuple[Fact, ...]:
    if event.message_type_name == "disconnect" and event.from_client:
        return one(event, "session")
    return NONE


HANDLERS: dict[type, Handler] = {
    MqttConnect: connect,
    MqttPublish: publish,
    MqttSubscribe: subscribe,
    MqttMessage: message,
}
