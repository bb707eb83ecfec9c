"""An HTTP IP camera (Hikvision-like ISAPI) and the VMS/NVR client that pulls its snapshots.

The camera is a stdlib ``http.server`` answering ``GET /`` (login page), ``GET
/ISAPI/System/deviceInfo`` (XML: model, serial, firmware) and ``GET /snapshot.jpg`` (a small
JPEG), with an embedded-web-server ``Server:`` header; the last two need HTTP Basic auth (lab-only,
fake credentials). The VMS reads deviceInfo once (and every tenth cycle) and a snapshot every
period over one keep-alive connection. Both print ``READY``.
"""

from __future__ import annotations

import base64
import http.client
import logging
import random
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

log = logging.getLogger(__name__)

HTTP_PORT = 80
DEVICE_INFO_PATH = "/ISAPI/System/deviceInfo"
SNAPSHOT_PATH = "/snapshot.jpg"


def device_info_xml(info: dict[str, str]) -> bytes:
    """The ISAPI ``DeviceInfo`` document for ``info`` (keys: name, model, serial, firmware...)."""
    fields = (
        ("deviceName", info.get("name", "IP CAMERA")),
        ("deviceID", info.get("device_id", "")),
        ("model", info["model"]),
        ("serialNumber", info["serial"]),
        ("macAddress", info.get("mac", "")),
        ("firmwareVersion", info["firmware"]),
        ("firmwareReleasedDate", info.get("firmware_date", "")),
        ("deviceType", "IPCamera"),
        ("manufacturer", info.get("vendor", "")),
    )
    body = "".join(f"<{k}>{escape(v)}</{k}>\n" for k, v in fields)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<DeviceInfo version="2.0" '
            'xmlns="http://www.hikvision.com/ver20/XMLSchema">\n' + body
            + "</DeviceInfo>\n").encode()


def snapshot_jpeg(seq: int, size: int = 400) -> bytes:
    """A small JPEG-framed image (SOI, JFIF APP0, a comment with ``seq``, filler, EOI)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    comment = f"otsight lab frame {seq}".encode()
    com = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    head = b"\xff\xd8" + app0 + com
    rng = random.Random(seq)
    filler_len = max(0, size - len(head) - 6)
    filler = bytes(rng.randrange(0, 0xFF) for _ in range(filler_len))  # never 0xFF: no markers
    dqt = b"\xff\xdb" + struct.pack(">H", len(filler) + 2)
    return head + dqt + filler + b"\xff\xd9"


def basic_auth(user: str, password: str) -> str:
    """The ``Authorization`` header value of HTTP Basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


LOGIN_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Network Camera</title></head>"
              b"<body><div id='login'>Please log in</div></body></html>\n")


def make_handler(spec: dict[str, Any]) -> type[BaseHTTPRequestHandler]:
    info: dict[str, str] = {k: str(v) for k, v in spec["info"].items()}
    expected = basic_auth(str(spec["user"]), str(spec["password"]))
    server_header = str(spec.get("server_header", "App-webs/"))
    counter = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def version_string(self) -> str:
            return server_header

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, code: int, ctype: str, body: bytes,
                  extra: tuple[tuple[str, str], ...] = ()) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in extra:
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/", "/doc/page/login.asp"):
                self._send(200, "text/html", LOGIN_PAGE)
                return
            if path not in (DEVICE_INFO_PATH, SNAPSHOT_PATH):
                self._send(404, "text/html", b"<html><body>Not Found</body></html>\n")
                return
            if self.headers.get("Authorization") != expected:
                self._send(401, "text/html", b"<html><body>Unauthorized</body></html>\n",
                           (("WWW-Authenticate", 'Basic realm="IP Camera"'),))
                return
            if path == DEVICE_INFO_PATH:
                self._send(200, 'application/xml; charset="UTF-8"', device_info_xml(info))
            else:
                counter[0] += 1
                self._send(200, "image/jpeg", snapshot_jpeg(counter[0]))

    return Handler


def camera_server(spec: dict[str, Any]) -> None:
    server = ThreadingHTTPServer((str(spec["ip"]), int(spec.get("port", HTTP_PORT))),
                                 make_handler(spec))
    server.daemon_threads = True
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    server.serve_forever()


def vms_client(spec: dict[str, Any]) -> None:
    """Fetch deviceInfo then a snapshot every ``period_s`` over one keep-alive connection."""
    rng = random.Random(int(spec.get("seed", 0)))
    headers = {"Authorization": basic_auth(str(spec["user"]), str(spec["password"])),
               "User-Agent": str(spec.get("user_agent", "NVR-Recorder/4.0"))}
    period = float(spec.get("period_s", 2.0))
    host, port = str(spec["camera"]), int(spec.get("port", HTTP_PORT))
    conn: http.client.HTTPConnection | None = None
    cycle = 0
    ready = False
    deadline = time.monotonic() + 20.0
    while True:
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=2.0)
                conn.request("GET", "/", headers={"User-Agent": headers["User-Agent"]})
                conn.getresponse().read()
            paths = [DEVICE_INFO_PATH] if cycle % 10 == 0 else []
            for path in [*paths, SNAPSHOT_PATH]:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    log.warning("GET %s: %d", path, resp.status)
            if not ready:
                sys.stdout.write("READY\n")
                sys.stdout.flush()
                ready = True
            cycle += 1
        except (OSError, http.client.HTTPException) as exc:
            if conn is not None:
                conn.close()
            conn = None
            if not ready and time.monotonic() > deadline:
                raise
            log.warning("camera %s: %s", host, exc)
            time.sleep(0.3)
            continue
        time.sleep(period * rng.uniform(0.95, 1.05))
