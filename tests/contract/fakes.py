"""Shared machinery of the contract servers: auth, request validation against the official spec,
fault injection (status codes, Retry-After, delays, dropped connections, malformed JSON), and
control endpoints for tests:

  POST /__faults   {"rules": [{"match": "POST /sandbox" (or "re": "POST /sandbox/[^/]+"), "status": 500, "times": 2,
                                "retry_after": 1, "delay_ms": 0, "drop": false, "malformed": false}]}
  GET  /__violations   every request that did not match the spec
  GET  /__requests     [{method, path, headers, json}] seen so far (json: the body, when it is JSON)
  POST /__clock    {"advance": seconds}: the server's clock moves on (idle timeouts, auto-stop and
                   the times it reports follow it), so tests of hours take no time
"""
import json
import os
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Fakes:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.violations = []
        self.requests = []
        self.offset = timedelta()

    def now(self):
        """The server's time: the real one, moved on by /__clock."""
        return datetime.now(timezone.utc) + self.offset

    def take_rule(self, method, path):
        """The first rule for this request: "match" is a prefix of "METHOD /path", "re" a
        regular expression the whole of it matches."""
        with self.lock:
            for r in self.rules:
                line = f"{method} {path}"
                hit = re.fullmatch(r["re"], line) if "re" in r else line.startswith(r.get("match", ""))
                if hit and r.get("times", 1) > 0:
                    r["times"] = r.get("times", 1) - 1
                    return dict(r)
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Small responses go out at once (no Nagle delay against the client's delayed ACK).
    disable_nagle_algorithm = True
    server_version = "AuraContractServer/1"
    # Set by subclasses:
    fakes = None

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_json(self, status, data, headers=None):
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_bytes(self, status, data, ctype="application/octet-stream"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message):
        self.send_json(status, {"statusCode": status, "message": message, "error": message})

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def parsed(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query, keep_blank_values=True).items()}
        return u.path, q

    def control(self, method, path, body):
        f = self.fakes
        if path == "/__faults" and method == "POST":
            with f.lock:
                f.rules = json.loads(body or b"{}").get("rules", [])
            self.send_json(200, {"ok": True})
            return True
        if path == "/__violations":
            self.send_json(200, f.violations)
            return True
        if path == "/__requests":
            self.send_json(200, f.requests)
            return True
        if path == "/__clock" and method == "POST":
            with f.lock:
                f.offset += timedelta(seconds=json.loads(body or b"{}").get("advance", 0))
            self.send_json(200, {"now": f.now().isoformat()})
            return True
        return False

    def apply_fault(self, method, path):
        """Returns True when the request was answered (or dropped) by a fault rule."""
        rule = self.fakes.take_rule(method, path)
        if not rule:
            return False
        if rule.get("delay_ms"):
            time.sleep(rule["delay_ms"] / 1000)
        if rule.get("drop"):
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return True
        if rule.get("malformed"):
            body = b'{"id": "truncated'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True
        if rule.get("status"):
            headers = {"Retry-After": str(rule["retry_after"])} if "retry_after" in rule else None
            self.send_json(rule["status"], {"message": rule.get("body", "injected failure")}, headers)
            return True
        return False

    def handle_any(self, method):
        path, query = self.parsed()
        body = self.read_body()
        if self.control(method, path, body):
            return
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        with self.fakes.lock:
            self.fakes.requests.append({"method": method, "path": path, "headers": dict(self.headers), "json": parsed})
        if self.apply_fault(method, path):
            return
        self.route(method, path, query, body)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def validate(self, spec, method, path, query, body):
        template, problems = spec.check(method, path, query, dict(self.headers), body, self.headers.get("Content-Type"))
        if problems:
            with self.fakes.lock:
                self.fakes.violations.extend(problems)
        return template, problems


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # Clients that time out or drop connections (as the fault tests make them) are normal.
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve(handler_cls, port=0):
    srv = Server(("127.0.0.1", port), handler_cls)
    srv.daemon_threads = True
    print(f"LISTENING {srv.server_address[1]}", flush=True)
    srv.serve_forever()


def listening_ports_under(base):
    """TCP ports listened on by processes whose working folder is under `base` (a sandbox's
    folder: its processes run on this machine)."""
    inodes = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if not os.readlink(f"/proc/{pid}/cwd").startswith(base):
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A" and f[9] in inodes:
                ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return sorted(ports)
