"""A local E2B: the control plane (Host api.<domain>) and each sandbox's envd
(Host 49983-<sandboxID>.<domain>) as shared/specs/e2b describes them. Requests are routed by the
Host header, so clients must use the real host naming. REST calls are validated against
openapi.yml / envd.yaml, Connect-RPC bodies against the .proto files. Processes run for real.

  python3 e2b_server.py SPEC_DIR API_KEY   -> prints "LISTENING <port>"
"""
import base64
import fcntl
import json
from urllib.parse import parse_qsl
import os
import pty
import signal
import struct
import termios
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from datetime import datetime, timedelta, timezone
from email.parser import BytesParser
from email.policy import default as email_policy

from fakes import Fakes, Handler, serve
from openapi_check import Spec
from proto_check import Protos

SPEC_DIR, API_KEY = sys.argv[1], sys.argv[2]
API = Spec(os.path.join(SPEC_DIR, "openapi.yml"))
ENVD = Spec(os.path.join(SPEC_DIR, "envd", "envd.yaml"))
PROTOS = Protos(os.path.join(SPEC_DIR, "envd", "process", "process.proto"),
                os.path.join(SPEC_DIR, "envd", "filesystem", "filesystem.proto"))
SANDBOXES = {}
PTYS = {}  # pid -> master fd
LOCK = threading.Lock()
ROOT = tempfile.mkdtemp(prefix="e2b-fake-")
WORKDIR = "/home/user/workspace"


TRACE = open(os.environ["E2B_TRACE"], "a", buffering=1) if os.environ.get("E2B_TRACE") else None


def trace(*parts):
    """With E2B_TRACE=<file>: what the PTYs received and printed, for a test's failure report."""
    if TRACE:
        print(datetime.now().strftime("%H:%M:%S.%f"), *parts, file=TRACE)


def iso(dt):
    return dt.isoformat().replace("+00:00", "Z")


def envelope(flags, obj):
    data = json.dumps(obj).encode()
    return bytes([flags]) + len(data).to_bytes(4, "big") + data


class E2B(Handler):
    fakes = Fakes()

    def route(self, method, path, query, body):
        host = (self.headers.get("Host") or "").split(":")[0]
        if host.startswith("api."):
            self.validate(API, method, path, query, body)
            if self.headers.get("X-API-Key") != API_KEY:
                return self.error(401, "Invalid API key")
            return self.control_plane(method, path, query, body)
        label = host.split(".")[0]
        if label.startswith("49983-"):
            return self.envd(label[len("49983-"):], method, path, query, body)
        port, _, sid = label.partition("-")
        if port.isdigit() and sid:
            return self.sandbox_port(sid, int(port), method, body)
        return self.error(404, f"unknown host {host}")

    def sandbox_port(self, sid, port, method, body):
        """<port>-<sandboxID>.<domain>: the sandbox's port (its processes run on this machine)."""
        import http.client

        with LOCK:
            sb = SANDBOXES.get(sid)
        if not sb:
            return self.error(502, "sandbox not found")
        # A sandbox created with allowPublicTraffic: false answers only with its traffic token.
        if sb.get("traffic") and self.headers.get("e2b-traffic-access-token") != sb["traffic"]:
            return self.error(403, "missing or invalid e2b-traffic-access-token")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            drop = ("host", "connection", "e2b-traffic-access-token")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in drop}
            c.request(method, self.path, body=body or None, headers=headers)
            r = c.getresponse()
            data = r.read()
        except OSError:
            return self.error(502, f"The sandbox is running but there's no service running on port {port}")
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def sandbox_json(self, sb, detail=True):
        out = {"templateID": sb["templateID"], "sandboxID": sb["id"], "clientID": "client-1", "envdVersion": "0.2.0",
               "domain": None}
        if detail:
            out.update({"startedAt": iso(sb["startedAt"]), "endAt": iso(sb["endAt"]), "cpuCount": 2, "memoryMB": 512,
                        "diskSizeMB": 1024, "state": sb["state"], "metadata": sb["metadata"]})
        out.pop("domain")
        return out

    def reply(self, template, method, status, data, headers=None):
        for p in API.validate_response(template, method, status, data):
            with self.fakes.lock:
                self.fakes.violations.append(p)
        self.send_json(status, data, headers)

    def no_content(self):
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def expire(self):
        """What E2B does when a sandbox's timeout runs out: pause it (created with autoPause) or
        kill it."""
        now = self.fakes.now()
        with LOCK:
            for sid, sb in list(SANDBOXES.items()):
                if sb["state"] == "running" and sb["endAt"] <= now:
                    if sb.get("autoPause"):
                        sb["state"] = "paused"
                    else:
                        SANDBOXES.pop(sid)

    def control_plane(self, method, path, query, body):
        self.expire()
        segs = [s for s in path.split("/") if s]
        if segs == ["sandboxes"] and method == "POST":
            req = json.loads(body)
            sid = "i" + uuid.uuid4().hex[:19]
            now = self.fakes.now()
            sb = {"id": sid, "templateID": req["templateID"], "state": "running", "metadata": req.get("metadata") or {},
                  "env": req.get("envVars") or {}, "token": "tok_" + uuid.uuid4().hex, "startedAt": now,
                  "endAt": now + timedelta(seconds=req.get("timeout", 15)), "network": req.get("network") or {},
                  "internet": req.get("allow_internet_access", True), "autoPause": bool(req.get("autoPause"))}
            if sb["network"].get("allowPublicTraffic") is False:
                sb["traffic"] = "traffic_" + uuid.uuid4().hex
            os.makedirs(os.path.join(ROOT, sid))
            with LOCK:
                SANDBOXES[sid] = sb
            out = self.sandbox_json(sb, detail=False)
            out["envdAccessToken"] = sb["token"]
            if sb.get("traffic"):
                out["trafficAccessToken"] = sb["traffic"]
            return self.reply("/sandboxes", "POST", 201, out)
        if segs == ["v2", "sandboxes"] and method == "GET":
            # metadata: "k=v&k2=v2", each part URL-encoded; state: "running,paused".
            want = dict(parse_qsl(query.get("metadata", "")))
            states = [s for s in query.get("state", "").split(",") if s]
            with LOCK:
                found = sorted((s for s in SANDBOXES.values()
                                if all(s["metadata"].get(k) == v for k, v in want.items())
                                and (not states or s["state"] in states)),
                               key=lambda s: (s["startedAt"], s["id"]), reverse=True)
            # Pages of `limit` (100 at most); X-Next-Token says where the next one starts.
            limit = min(int(query.get("limit", 100)), 100)
            start = int(query.get("nextToken", 0))
            items = [self.sandbox_json(s) for s in found[start:start + limit]]
            for s in items:
                s.pop("metadata", None) if not s.get("metadata") else None
            more = {"X-Next-Token": str(start + limit)} if start + limit < len(found) else {}
            return self.reply("/v2/sandboxes", "GET", 200, items, more)
        if len(segs) >= 2 and segs[0] == "sandboxes":
            with LOCK:
                sb = SANDBOXES.get(segs[1])
            if not sb:
                return self.error(404, f"sandbox {segs[1]} not found")
            rest = segs[2:]
            if not rest and method == "GET":
                return self.reply("/sandboxes/{sandboxID}", "GET", 200, self.sandbox_json(sb))
            if not rest and method == "DELETE":
                with LOCK:
                    SANDBOXES.pop(sb["id"], None)
                shutil.rmtree(os.path.join(ROOT, sb["id"]), ignore_errors=True)
                return self.no_content()
            if rest == ["pause"] and method == "POST":
                if sb["state"] == "paused":
                    return self.error(409, "sandbox is already paused")
                sb["state"] = "paused"
                return self.no_content()
            if rest == ["connect"] and method == "POST":
                req = json.loads(body or b"{}")
                was_paused = sb["state"] == "paused"
                sb["state"] = "running"
                # "TTL is only extended": a running sandbox keeps a later end.
                until = self.fakes.now() + timedelta(seconds=req.get("timeout", 15))
                sb["endAt"] = until if was_paused else max(sb["endAt"], until)
                out = self.sandbox_json(sb, detail=False)
                out["envdAccessToken"] = sb["token"]
                if sb.get("traffic"):
                    out["trafficAccessToken"] = sb["traffic"]
                return self.reply("/sandboxes/{sandboxID}/connect", "POST", 201 if was_paused else 200, out)
            if rest == ["timeout"] and method == "POST":
                req = json.loads(body)
                sb["endAt"] = self.fakes.now() + timedelta(seconds=req["timeout"])
                return self.no_content()
        return self.error(404, f"no route for {method} {path}")

    # ---- envd ----
    def envd(self, sid, method, path, query, body):
        with LOCK:
            sb = SANDBOXES.get(sid)
        if not sb:
            return self.error(502, "sandbox not found")  # what the edge answers for a gone sandbox
        if self.headers.get("X-Access-Token") != sb["token"]:
            return self.error(401, "invalid access token")
        if sb["state"] != "running":
            return self.error(502, "sandbox is paused")
        base = os.path.join(ROOT, sid)

        def local(p):
            p = p or WORKDIR
            if not p.startswith("/"):
                p = WORKDIR + "/" + p
            full = os.path.normpath(base + p)
            if not full.startswith(base):
                raise PermissionError(p)
            return full

        try:
            if path == "/files":
                self.validate(ENVD, method, path, query, body)
                if method == "POST":
                    head = b"Content-Type: " + self.headers.get("Content-Type", "").encode() + b"\r\n\r\n"
                    msg = BytesParser(policy=email_policy).parsebytes(head + body)
                    parts = list(msg.iter_parts())
                    if not parts:
                        return self.error(400, "no file in the form")
                    target = local(query.get("path"))
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "wb") as f:
                        f.write(parts[0].get_payload(decode=True) or b"")
                    return self.send_json(200, [{"name": os.path.basename(target), "type": "file", "path": query.get("path")}])
                with open(local(query.get("path")), "rb") as f:
                    return self.send_bytes(200, f.read())
            rpc = path.lstrip("/")
            if rpc in PROTOS.rpcs:
                req_type, streaming = PROTOS.rpcs[rpc]
                ctype = self.headers.get("Content-Type", "")
                if streaming:
                    if ctype != "application/connect+json":
                        self.fakes.violations.append(f"{rpc}: streaming call with Content-Type {ctype}")
                    msg = json.loads(body[5:5 + int.from_bytes(body[1:5], "big")])
                else:
                    if ctype != "application/json":
                        self.fakes.violations.append(f"{rpc}: unary call with Content-Type {ctype}")
                    msg = json.loads(body or b"{}")
                problems = PROTOS.check(req_type, msg, f"{rpc}: ")
                with self.fakes.lock:
                    self.fakes.violations.extend(problems)
                return getattr(self, "rpc_" + rpc.split("/")[1])(sb, msg, local)
        except FileNotFoundError:
            return self.error(404, "not found")
        except PermissionError:
            return self.error(400, "path outside the sandbox")
        return self.error(404, f"no envd route {method} {path}")

    def begin_stream(self):
        """Starts a Connect server-stream response; returns a function sending one chunk."""
        self.send_response(200)
        self.send_header("Content-Type", "application/connect+json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data):
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        return chunk

    def rpc_Start(self, sb, msg, local):
        proc = msg["process"]
        cwd = local(proc.get("cwd"))
        os.makedirs(cwd, exist_ok=True)
        env = dict(os.environ, HOME=local("/home/user"), **sb["env"], **(proc.get("envs") or {}))
        if msg.get("pty"):
            return self.start_pty(proc, cwd, env, msg["pty"]["size"])
        p = subprocess.Popen([proc["cmd"], *proc.get("args", [])], cwd=cwd, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        chunk = self.begin_stream()

        chunk(envelope(0, {"event": {"start": {"pid": p.pid}}}))
        lock = threading.Lock()

        def pump(stream, name):
            for line in iter(lambda: stream.read1(65536), b""):
                with lock:
                    chunk(envelope(0, {"event": {"data": {name: base64.b64encode(line).decode()}}}))

        threads = [threading.Thread(target=pump, args=(p.stdout, "stdout")), threading.Thread(target=pump, args=(p.stderr, "stderr"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        code = p.wait()
        chunk(envelope(0, {"event": {"end": {"exitCode": code, "exited": True, "status": f"exit status {code}"}}}))
        chunk(envelope(2, {}))
        self.wfile.write(b"0\r\n\r\n")

    def start_pty(self, proc, cwd, env, size):
        master, slave = pty.openpty()
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", size["rows"], size["cols"], 0, 0))
        p = subprocess.Popen([proc["cmd"], *proc.get("args", [])], cwd=cwd, env=env, stdin=slave, stdout=slave,
                             stderr=slave, start_new_session=True)
        os.close(slave)
        with LOCK:
            PTYS[p.pid] = master
        trace("PTY start", p.pid, proc)
        chunk = self.begin_stream()

        chunk(envelope(0, {"event": {"start": {"pid": p.pid}}}))
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            trace("PTY out", p.pid, data)
            chunk(envelope(0, {"event": {"data": {"pty": base64.b64encode(data).decode()}}}))
        code = p.wait()
        with LOCK:
            PTYS.pop(p.pid, None)
        os.close(master)
        chunk(envelope(0, {"event": {"end": {"exitCode": code, "exited": True, "status": f"exit status {code}"}}}))
        chunk(envelope(2, {}))
        self.wfile.write(b"0\r\n\r\n")

    def pty_of(self, msg):
        with LOCK:
            return PTYS.get(msg["process"]["pid"])

    def rpc_SendInput(self, sb, msg, local):
        trace("SendInput", msg["process"]["pid"], base64.b64decode(msg["input"]["pty"]))
        master = self.pty_of(msg)
        if master is None:
            return self.error(404, "no such process")
        os.write(master, base64.b64decode(msg["input"]["pty"]))
        self.send_json(200, {})

    def rpc_Update(self, sb, msg, local):
        master = self.pty_of(msg)
        if master is None:
            return self.error(404, "no such process")
        size = msg["pty"]["size"]
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", size["rows"], size["cols"], 0, 0))
        self.send_json(200, {})

    def rpc_SendSignal(self, sb, msg, local):
        pid = msg["process"]["pid"]
        sig = {"SIGNAL_SIGKILL": signal.SIGKILL, "SIGNAL_SIGTERM": signal.SIGTERM}.get(msg.get("signal"), signal.SIGTERM)
        # envd signals the process; a PTY's shell leads its own group, which goes with it.
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, sig)
                break
            except ProcessLookupError:
                continue
        self.send_json(200, {})

    def rpc_List(self, sb, msg, local):
        self.send_json(200, {"processes": []})

    def rpc_ListDir(self, sb, msg, local):
        d = local(msg.get("path"))
        entries = []
        for name in sorted(os.listdir(d)):
            full = os.path.join(d, name)
            entries.append({"name": name, "type": "FILE_TYPE_DIRECTORY" if os.path.isdir(full) else "FILE_TYPE_FILE",
                            "path": msg.get("path", "") + "/" + name, "size": str(os.path.getsize(full))})
        self.send_json(200, {"entries": entries})

    def rpc_MakeDir(self, sb, msg, local):
        os.makedirs(local(msg["path"]), exist_ok=True)
        self.send_json(200, {"entry": {"name": os.path.basename(msg["path"]), "type": "FILE_TYPE_DIRECTORY"}})

    def rpc_Remove(self, sb, msg, local):
        p = local(msg["path"])
        shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
        self.send_json(200, {})


if __name__ == "__main__":
    serve(E2B)
