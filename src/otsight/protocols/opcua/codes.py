"""OPC UA code tables (OPC 10000-4/-6), with ``unknown-N`` fallbacks."""

from __future__ import annotations

MESSAGE_TYPES: dict[bytes, str] = {
    b"HEL": "hello",
    b"ACK": "acknowledge",
    b"ERR": "error",
    b"RHE": "reverse-hello",
    b"OPN": "open-secure-channel",
    b"CLO": "close-secure-channel",
    b"MSG": "message",
}
CHUNK_TYPES: dict[int, str] = {ord("F"): "final", ord("C"): "intermediate", ord("A"): "abort"}
POLICY_PREFIX = "http://opcfoundation.org/UA/SecurityPolicy#"
SECURITY_POLICIES: dict[str, str] = {
    "None": "none",
    "Basic128Rsa15": "basic128rsa15",  # deprecated
    "Basic256": "basic256",  # deprecated
    "Basic256Sha256": "basic256sha256",
    "Aes128_Sha256_RsaOaep": "aes128-sha256-rsaoaep",
    "Aes256_Sha256_RsaPss": "aes256-sha256-rsapss",
}
DEPRECATED_POLICIES = frozenset({"basic128rsa15", "basic256"})
SECURITY_MODES: dict[int, str] = {0: "invalid", 1: "none", 2: "sign", 3: "sign-and-encrypt"}
REQUEST_TYPES: dict[int, str] = {0: "issue", 1: "renew"}
# binary-encoding NodeIds (namespace 0) of service requests and responses
SERVICES: dict[int, str] = {}
for _name, _req in {
    "ServiceFault": 397,
    "FindServers": 422,
    "GetEndpoints": 428,
    "RegisterServer": 437,
    "OpenSecureChannel": 446,
    "CloseSecureChannel": 452,
    "CreateSession": 461,
    "ActivateSession": 467,
    "CloseSession": 473,
    "Cancel": 479,
    "AddNodes": 488,
    "AddReferences": 494,
    "DeleteNodes": 500,
    "DeleteReferences": 506,
    "Browse": 527,
    "BrowseNext": 533,
    "TranslateBrowsePathsToNodeIds": 554,
    "RegisterNodes": 560,
    "UnregisterNodes": 566,
    "QueryFirst": 615,
    "QueryNext": 621,
    "Read": 631,
    "HistoryRead": 664,
    "Write": 673,
    "HistoryUpdate": 700,
    "Call": 712,
    "CreateMonitoredItems": 751,
    "ModifyMonitoredItems": 763,
    "SetMonitoringMode": 769,
    "SetTriggering": 775,
    "DeleteMonitoredItems": 781,
    "CreateSubscription": 787,
    "ModifySubscription": 793,
    "SetPublishingMode": 799,
    "Publish": 826,
    "Republish": 832,
    "TransferSubscriptions": 841,
    "DeleteSubscriptions": 847,
}.items():
    if _name == "ServiceFault":
        SERVICES[_req] = "ServiceFault"
        continue
    SERVICES[_req] = f"{_name}Request"
    SERVICES[_req + 3] = f"{_name}Response"
WRITE_SERVICES = frozenset({"Write", "Call", "AddNodes", "DeleteNodes", "HistoryUpdate"})


def message_type_name(code: bytes) -> str:
    return MESSAGE_TYPES.get(code, f"unknown-{code.decode('latin-1')}")


def policy_name(uri: str | None) -> str | None:
    if uri is None:
        return None
    if uri.startswith(POLICY_PREFIX):
        return SECURITY_POLICIES.get(uri[len(POLICY_PREFIX) :], "unknown")
    return "unknown"


def service_name(node: int | None) -> str | None:
    if node is None:
        return None
    return SERVICES.get(node, f"unknown-{node}")
