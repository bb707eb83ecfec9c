"""What a BACnet service's tagged data says: objects, properties, values and parameters
(plain dict of event fields; never a password, only whether one was sent)."""

from __future__ import annotations

from typing import Any

from .codes import (
    COMMUNICATION_STATES,
    ERROR_CLASSES,
    REINITIALIZE_STATES,
    SEGMENTATION,
    lookup,
    object_type_name,
    property_name,
    vendor_name,
)
from .parser import Tag, Tags, app_value, char_string, object_id, unsigned

MAX_VALUES = 256


def _ctx(tags: list[Tag], number: int, depth: int = 0) -> Tag | None:
    for t in tags:
        if t.context and t.kind == "value" and t.number == number and t.depth == depth:
            return t
    return None


def _apps(tags: list[Tag], depth: int = 0) -> list[Tag]:
    return [t for t in tags if not t.context and t.kind == "value" and t.depth == depth]


def _obj(out: dict[str, Any], objects: list[tuple[int, int]], content: bytes) -> None:
    if len(content) == 4:
        objects.append(object_id(content))


def _finish(out: dict[str, Any], objects: list[tuple[int, int]], props: list[int]) -> None:
    if objects:
        ot, inst = objects[0]
        out["object_type"], out["object_instance"] = ot, inst
        out["object_type_name"] = object_type_name(ot)
        out["objects"] = tuple(f"{object_type_name(o)},{i}" for o, i in objects[:MAX_VALUES])
    if props:
        out["property_id"] = props[0]
        out["property_name"] = property_name(props[0])
        out["properties"] = tuple(property_name(p) for p in props[:MAX_VALUES])


def _first_value(tags: list[Tag], start: int) -> Any:
    """First application value after the opening tag at ``start`` (one level deeper)."""
    depth = tags[start].depth + 1
    for t in tags[start + 1 :]:
        if t.depth < depth:
            break
        if t.kind == "value" and not t.context and t.depth == depth:
            return app_value(t, object_type_name)
    return None


def _property_access(tags: list[Tag], out: dict[str, Any], value_tag: int) -> None:
    """read-property / write-property (request or ack): [0] object, [1] property,
    [2] array index, [value_tag] value, [4] priority."""
    objects: list[tuple[int, int]] = []
    props: list[int] = []
    t = _ctx(tags, 0)
    if t is not None:
        _obj(out, objects, t.content)
    t = _ctx(tags, 1)
    if t is not None:
        props.append(unsigned(t.content))
    t = _ctx(tags, 2)
    if t is not None:
        out["array_index"] = unsigned(t.content)
    for i, tag in enumerate(tags):
        if tag.kind == "open" and tag.depth == 0 and tag.number == value_tag:
            out["value"] = _first_value(tags, i)
            break
    t = _ctx(tags, 4)
    if t is not None:
        out["priority_level"] = unsigned(t.content)
    _finish(out, objects, props)


def _multiple(tags: list[Tag], out: dict[str, Any], prop_tag: int, value_tag: int | None) -> None:
    """read/write-property-multiple: objects at depth 0 ([0]), properties one level down,
    values (if any) under opening ``value_tag`` two levels down."""
    objects: list[tuple[int, int]] = []
    props: list[int] = []
    values: list[tuple[str, str, Any]] = []
    current = ""
    for i, t in enumerate(tags):
        if t.kind == "value" and t.context and t.depth == 0 and t.number == 0:
            _obj(out, objects, t.content)
            if objects:
                current = f"{object_type_name(objects[-1][0])},{objects[-1][1]}"
        elif t.kind == "value" and t.context and t.depth == 1 and t.number == prop_tag:
            props.append(unsigned(t.content))
        elif (
            value_tag is not None
            and t.kind == "open"
            and t.depth == 1
            and t.number == value_tag
            and props
            and len(values) < MAX_VALUES
        ):
            values.append((current, property_name(props[-1]), _first_value(tags, i)))
    if values:
        out["values"] = tuple(values)
    _finish(out, objects, props)


def confirmed_request(service: int, tags: Tags, out: dict[str, Any]) -> None:
    items = tags.items
    if service in (12, 15):
        _property_access(items, out, 3)
    elif service == 14:
        _multiple(items, out, 0, None)
    elif service == 16:
        _multiple(items, out, 0, 2)
    elif service in (5, 28):  # subscribe-cov(-property)
        objects: list[tuple[int, int]] = []
        props: list[int] = []
        t = _ctx(items, 0)
        if t is not None:
            out["subscriber_process_id"] = unsigned(t.content)
        t = _ctx(items, 1)
        if t is not None:
            _obj(out, objects, t.content)
        t = _ctx(items, 3)
        if t is not None:
            out["lifetime"] = unsigned(t.content)
        t = _ctx(items, 0, depth=1)
        if service == 28 and t is not None:
            props.append(unsigned(t.content))
        _finish(out, objects, props)
    elif service in (6, 7):  # atomic-read-file / atomic-write-file
        objects = []
        apps = _apps(items)
        if apps and apps[0].number == 12:
            _obj(out, objects, apps[0].content)
        inner = _apps(items, 1)
        if inner:
            out["file_access"] = "stream" if _opened(items, 0) else "record"
            out["file_start"] = int.from_bytes(inner[0].content, "big", signed=True)
            if service == 6 and len(inner) > 1:
                out["file_count"] = unsigned(inner[1].content)
            elif service == 7:
                out["file_count"] = sum(len(t.content) for t in inner[1:] if t.number == 6)
        _finish(out, objects, [])
    elif service == 17:  # device-communication-control
        t = _ctx(items, 0)
        if t is not None:
            out["duration_minutes"] = unsigned(t.content)
        t = _ctx(items, 1)
        if t is not None:
            out["communication_state"] = lookup(COMMUNICATION_STATES, unsigned(t.content))
        out["password_present"] = _ctx(items, 2) is not None
    elif service == 20:  # reinitialize-device
        t = _ctx(items, 0)
        if t is not None:
            out["reinitialize_state"] = lookup(REINITIALIZE_STATES, unsigned(t.content))
        out["password_present"] = _ctx(items, 1) is not None
    elif service in (8, 9, 26):  # add/remove-list-element, read-range
        objects = []
        t = _ctx(items, 0)
        if t is not None:
            _obj(out, objects, t.content)
        t = _ctx(items, 1)
        _finish(out, objects, [unsigned(t.content)] if t is not None else [])
    elif service == 11:  # delete-object
        apps = _apps(items)
        objects = []
        if apps and apps[0].number == 12:
            _obj(out, objects, apps[0].content)
        _finish(out, objects, [])
    elif service == 10:  # create-object: [0] { [0] type | [1] identifier }
        objects = []
        t = _ctx(items, 1, depth=1)
        if t is not None:
            _obj(out, objects, t.content)
        else:
            t = _ctx(items, 0, depth=1)
            if t is not None:
                out["object_type"] = unsigned(t.content)
                out["object_type_name"] = object_type_name(unsigned(t.content))
        _finish(out, objects, [])
    elif service in (1, 2):  # confirmed cov / event notification: [1] device, [2] object
        _notification(items, out)


def _opened(tags: list[Tag], number: int) -> bool:
    return any(t.kind == "open" and t.depth == 0 and t.number == number for t in tags)


def _notification(items: list[Tag], out: dict[str, Any]) -> None:
    objects: list[tuple[int, int]] = []
    for n in (1, 2):
        t = _ctx(items, n)
        if t is not None:
            _obj(out, objects, t.content)
    props = [unsigned(t.content) for t in items if t.context and t.depth == 1 and t.number == 0]
    _finish(out, objects, props)


def complex_ack(service: int, tags: Tags, out: dict[str, Any]) -> None:
    items = tags.items
    if service == 12:
        _property_access(items, out, 3)
    elif service == 14:
        _multiple(items, out, 2, 4)
    elif service == 6:
        apps = _apps(items)
        if apps and apps[0].number == 1:
            out["end_of_file"] = bool(apps[0].lvt)
        inner = _apps(items, 1)
        if inner:
            out["file_start"] = int.from_bytes(inner[0].content, "big", signed=True)
            out["file_count"] = sum(len(t.content) for t in inner[1:] if t.number == 6)
    elif service == 7:
        t = _ctx(items, 0) or _ctx(items, 1)
        if t is not None:
            out["file_start"] = int.from_bytes(t.content, "big", signed=True)
    elif service == 26:
        objects: list[tuple[int, int]] = []
        t = _ctx(items, 0)
        if t is not None:
            _obj(out, objects, t.content)
        t = _ctx(items, 1)
        _finish(out, objects, [unsigned(t.content)] if t is not None else [])


def unconfirmed_request(service: int, tags: Tags, out: dict[str, Any]) -> None:
    items = tags.items
    objects: list[tuple[int, int]] = []
    if service == 0:  # i-am
        apps = _apps(items)
        if apps and apps[0].number == 12:
            _obj(out, objects, apps[0].content)
            if objects:
                out["device_instance"] = objects[0][1]
        if len(apps) >= 4:
            out["max_apdu"] = unsigned(apps[1].content)
            out["segmentation"] = lookup(SEGMENTATION, unsigned(apps[2].content))
            out["vendor_id"] = vid = unsigned(apps[3].content)
            out["vendor_name"] = vendor_name(vid)
        _finish(out, objects, [])
    elif service == 1:  # i-have: device, object, name
        for a in _apps(items):
            if a.number == 12:
                _obj(out, objects, a.content)
            elif a.number == 7:
                out["object_name"] = char_string(a.content)
        _finish(out, objects, [])
    elif service in (7, 8):  # who-has / who-is
        t = _ctx(items, 0)
        if t is not None:
            out["low_limit"] = unsigned(t.content)
        t = _ctx(items, 1)
        if t is not None:
            out["high_limit"] = unsigned(t.content)
        if service == 7:
            t = _ctx(items, 2)
            if t is not None:
                _obj(out, objects, t.content)
            t = _ctx(items, 3)
            if t is not None:
                out["object_name"] = char_string(t.content)
        _finish(out, objects, [])
    elif service in (6, 9):  # (utc-)time-synchronization
        apps = _apps(items)
        if len(apps) >= 2:
            out["time"] = f"{app_value(apps[0])}T{app_value(apps[1])}"
    elif service in (2, 3):
        _notification(items, out)


def error(tags: Tags, out: dict[str, Any]) -> None:
    enums = [t for t in tags.items if t.kind == "value" and not t.context and t.number == 9]
    if len(enums) >= 2:
        out["error_class"] = lookup(ERROR_CLASSES, unsigned(enums[0].content))
        out["error_code"] = unsigned(enums[1].content)
