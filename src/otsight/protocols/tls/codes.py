"""TLS code tables (IANA TLS parameters), with ``unknown-N`` fallbacks."""

from __future__ import annotations

CONTENT_TYPES: dict[int, str] = {
    20: "change-cipher-spec",
    21: "alert",
    22: "handshake",
    23: "application-data",
    24: "heartbeat",
}
HANDSHAKE_TYPES: dict[int, str] = {
    0: "hello-request",
    1: "client-hello",
    2: "server-hello",
    3: "hello-verify-request",
    4: "new-session-ticket",
    5: "end-of-early-data",
    8: "encrypted-extensions",
    11: "certificate",
    12: "server-key-exchange",
    13: "certificate-request",
    14: "server-hello-done",
    15: "certificate-verify",
    16: "client-key-exchange",
    20: "finished",
    21: "certificate-url",
    22: "certificate-status",
    24: "key-update",
    25: "compressed-certificate",
    254: "message-hash",
}
VERSIONS: dict[int, str] = {
    0x0002: "SSLv2",
    0x0300: "SSLv3",
    0x0301: "TLSv1.0",
    0x0302: "TLSv1.1",
    0x0303: "TLSv1.2",
    0x0304: "TLSv1.3",
    0xFEFF: "DTLSv1.0",
    0xFEFD: "DTLSv1.2",
    0xFEFC: "DTLSv1.3",
}
JA4_VERSIONS: dict[int, str] = {
    0x0002: "s2",
    0x0300: "s3",
    0x0301: "10",
    0x0302: "11",
    0x0303: "12",
    0x0304: "13",
    0xFEFF: "d1",
    0xFEFD: "d2",
    0xFEFC: "d3",
}
ALERT_LEVELS: dict[int, str] = {1: "warning", 2: "fatal"}
ALERT_DESCRIPTIONS: dict[int, str] = {
    0: "close-notify",
    10: "unexpected-message",
    20: "bad-record-mac",
    21: "decryption-failed",
    22: "record-overflow",
    30: "decompression-failure",
    40: "handshake-failure",
    41: "no-certificate",
    42: "bad-certificate",
    43: "unsupported-certificate",
    44: "certificate-revoked",
    45: "certificate-expired",
    46: "certificate-unknown",
    47: "illegal-parameter",
    48: "unknown-ca",
    49: "access-denied",
    50: "decode-error",
    51: "decrypt-error",
    60: "export-restriction",
    70: "protocol-version",
    71: "insufficient-security",
    80: "internal-error",
    86: "inappropriate-fallback",
    90: "user-canceled",
    100: "no-renegotiation",
    109: "missing-extension",
    110: "unsupported-extension",
    112: "unrecognized-name",
    113: "bad-certificate-status-response",
    115: "unknown-psk-identity",
    116: "certificate-required",
    120: "no-application-protocol",
}
GROUPS: dict[int, str] = {
    1: "sect163k1",
    2: "sect163r1",
    3: "sect163r2",
    4: "sect193r1",
    5: "sect193r2",
    6: "sect233k1",
    7: "sect233r1",
    8: "sect239k1",
    9: "sect283k1",
    10: "sect283r1",
    11: "sect409k1",
    12: "sect409r1",
    13: "sect571k1",
    14: "sect571r1",
    15: "secp160k1",
    16: "secp160r1",
    17: "secp160r2",
    18: "secp192k1",
    19: "secp192r1",
    20: "secp224k1",
    21: "secp224r1",
    22: "secp256k1",
    23: "secp256r1",
    24: "secp384r1",
    25: "secp521r1",
    26: "brainpoolP256r1",
    27: "brainpoolP384r1",
    28: "brainpoolP512r1",
    29: "x25519",
    30: "x448",
    256: "ffdhe2048",
    257: "ffdhe3072",
    258: "ffdhe4096",
    259: "ffdhe6144",
    260: "ffdhe8192",
    0x0200: "MLKEM512",
    0x0201: "MLKEM768",
    0x0202: "MLKEM1024",
    0x11EB: "SecP256r1MLKEM768",
    0x11EC: "X25519MLKEM768",
    0x11ED: "SecP384r1MLKEM1024",
    0x6399: "X25519Kyber768Draft00",
    0x639A: "SecP256r1Kyber768Draft00",
}
# Groups whose key exchange resists a quantum computer (pure ML-KEM, or hybrids with it/Kyber).
POST_QUANTUM_GROUPS = frozenset({0x0200, 0x0201, 0x0202, 0x11EB, 0x11EC, 0x11ED, 0x6399, 0x639A})
EXTENSIONS: dict[int, str] = {
    0: "server_name",
    1: "max_fragment_length",
    5: "status_request",
    10: "supported_groups",
    11: "ec_point_formats",
    13: "signature_algorithms",
    14: "use_srtp",
    15: "heartbeat",
    16: "application_layer_protocol_negotiation",
    18: "signed_certificate_timestamp",
    21: "padding",
    22: "encrypt_then_mac",
    23: "extended_master_secret",
    27: "compress_certificate",
    28: "record_size_limit",
    35: "session_ticket",
    41: "pre_shared_key",
    42: "early_data",
    43: "supported_versions",
    44: "cookie",
    45: "psk_key_exchange_modes",
    47: "certificate_authorities",
    49: "post_handshake_auth",
    50: "signature_algorithms_cert",
    51: "key_share",
    57: "quic_transport_parameters",
    17513: "application_settings",
    65037: "encrypted_client_hello",
    65281: "renegotiation_info",
}
# A few well-known suites; the rest print as ``0xNNNN`` (the IANA list is long).
CIPHER_SUITES: dict[int, str] = {
    0x0004: "TLS_RSA_WITH_RC4_128_MD5",
    0x0005: "TLS_RSA_WITH_RC4_128_SHA",
    0x000A: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    0x002F: "TLS_RSA_WITH_AES_128_CBC_SHA",
    0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
    0x003C: "TLS_RSA_WITH_AES_128_CBC_SHA256",
    0x003D: "TLS_RSA_WITH_AES_256_CBC_SHA256",
    0x009C: "TLS_RSA_WITH_AES_128_GCM_SHA256",
    0x009D: "TLS_RSA_WITH_AES_256_GCM_SHA384",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    0x00FF: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0xC009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    0xC00A: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    0xC013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    0xC014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    0xC027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    0xC028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
}


def is_grease(value: int) -> bool:
    """RFC 8701 GREASE values: 0x0a0a, 0x1a1a, ... 0xfafa."""
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)


# The fallback names are formatted only for unknown codes (``get(code) or ...``): these run
# several times per TLS flow, nearly always for a known code.
def handshake_name(code: int) -> str:
    return HANDSHAKE_TYPES.get(code) or f"unknown-{code}"


def version_name(code: int) -> str:
    return VERSIONS.get(code) or f"unknown-{code:#06x}"


def group_name(code: int) -> str:
    return GROUPS.get(code) or f"unknown-{code:#06x}"


def cipher_name(code: int) -> str:
    return CIPHER_SUITES.get(code) or f"{code:#06x}"


def alert_name(code: int) -> str:
    return ALERT_DESCRIPTIONS.get(code) or f"unknown-{code}"
