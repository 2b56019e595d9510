"""A local Daytona: control plane under /api and the toolbox under /toolbox/{sandboxId}, as the
official specs in shared/specs/daytona describe them. Commands run for real (sh -c) in a
per-sandbox temp folder, so exec and files behave like a sandbox. Every request is validated
against api-openapi.yaml / toolbox-openapi.yaml; see fakes.py for faults and control endpoints.

  python3 daytona_server.py SPEC_DIR API_KEY   -> prints "LISTENING <port>"
"""
from email.parser import BytesParser
from email.policy import default as email_policy
import base64
import fcntl
import hashlib
import os
import pty
import shutil
import signal
import struct
import termios
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from fakes import Fakes, Handler, listening_ports_under, serve
from openapi_check import Spec

SPEC_DIR, API_KEY = sys.argv[1], sys.argv[2]
API = Spec(os.path.join(SPEC_DIR, "api-openapi.yaml"))
TOOLBOX = Spec(os.path.join(SPEC_DIR, "toolbox-openapi.yaml"))
SANDBOXES = {}
SESSIONS = {}  # sessionId -> {cmdId: {"proc", "out", "err", "command"}}
PTYS = {}  # sessionId -> {"master": fd, "proc": Popen, "cols": n, "rows": n, "cwd": str}
LOCK = threading.Lock()
ROOT = tempfile.mkdtemp(prefix="daytona-fake-")


def now():
    return Daytona.fakes.now().isoformat()


class Daytona(Handler):
    fakes = Fakes()

    def authorized(self):
        if self.headers.get("Authorization") != f"Bearer {API_KEY}":
            self.error(401, "Unauthorized")
            return False
        return True

    def base(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, method, path, query, body):
        if path.startswith("/api/"):
            api_path = path[len("/api"):]
            self.validate(API, method, api_path, query, body)
            if self.authorized():
                self.control_plane(method, api_path, query, body)
        elif path.startswith("/toolbox/"):
            parts = path.split("/", 3)
            sid = parts[2]
            tpath = "/" + (parts[3] if len(parts) > 3 else "")
            self.validate(TOOLBOX, method, tpath, query, body)
            if self.authorized():
                self.toolbox(sid, method, tpath, query, body)
        else:
            self.error(404, "not found")

    def reply(self, spec_template, method, status, data):
        problems = API.validate_response(spec_template, method, status, data)
        if problems:
            with self.fakes.lock:
                self.fakes.violations.extend(problems)
        self.send_json(status, data)

    # ---- control plane ----
    def expire(self):
        """Daytona's auto-stop: a started sandbox with no activity for its interval is stopped."""
        at = self.fakes.now()
        with LOCK:
            for sb in SANDBOXES.values():
                minutes = sb.get("autoStopInterval") or 0
                last = datetime.fromisoformat(sb.get("lastActivityAt") or sb["createdAt"])
                if sb["state"] == "started" and minutes > 0 and at - last >= timedelta(minutes=minutes):
                    sb["state"] = "stopped"
                    sb["updatedAt"] = at.isoformat()

    def control_plane(self, method, path, query, body):
        import json

        self.expire()
        segs = [s for s in path.split("/") if s]
        if segs == ["sandbox"] and method == "POST":
            req = json.loads(body or b"{}")
            sid = str(uuid.uuid4())
            sb = {
                "id": sid, "organizationId": "org-test", "name": req.get("name") or sid,
                "snapshot": req.get("snapshot") or "daytonaio/sandbox:latest", "user": req.get("user") or "daytona",
                "env": req.get("env") or {}, "labels": req.get("labels") or {}, "public": bool(req.get("public")),
                "networkBlockAll": bool(req.get("networkBlockAll")), "target": req.get("target") or "us", "cpu": req.get("cpu") or 1, "gpu": 0,
                "memory": req.get("memory") or 1, "disk": req.get("disk") or 3, "state": "started",
                "autoStopInterval": req.get("autoStopInterval", 15), "createdAt": now(), "updatedAt": now(),
                "toolboxProxyUrl": f"{self.base()}/toolbox",
            }
            os.makedirs(os.path.join(ROOT, sid, "workspace"))
            with LOCK:
                SANDBOXES[sid] = sb
            return self.reply("/sandbox", "POST", 200, sb)
        if segs == ["sandbox"] and method == "GET":
            with LOCK:
                want = json.loads(query["labels"]) if query.get("labels") else {}
                items = sorted((s for s in SANDBOXES.values() if s["state"] != "destroyed"
                                and all(s["labels"].get(k) == v for k, v in want.items())), key=lambda s: s["id"])
            # Cursor pagination, as the spec's ListSandboxesResponse has it.
            limit = int(float(query.get("limit", 100)))
            start = 0
            if query.get("cursor"):
                start = next((i for i, s in enumerate(items) if s["id"] > query["cursor"]), len(items))
            page = items[start:start + limit]
            more = start + limit < len(items)
            return self.reply("/sandbox", "GET", 200, {"items": page, "nextCursor": page[-1]["id"] if more and page else None})
        if len(segs) >= 2 and segs[0] == "sandbox":
            sid = segs[1]
            with LOCK:
                sb = SANDBOXES.get(sid)
            if not sb or sb["state"] == "destroyed":
                return self.error(404, f"Sandbox with ID or name {sid} not found")
            rest = segs[2:]
            tmpl = "/sandbox/{sandboxIdOrName}" + ("/" + "/".join(rest) if rest else "")
            if not rest and method == "GET":
                return self.reply(tmpl, "GET", 200, sb)
            if not rest and method == "DELETE":
                sb["state"] = "destroyed"
                shutil.rmtree(os.path.join(ROOT, sid), ignore_errors=True)
                return self.reply(tmpl, "DELETE", 200, sb)
            transitions = {"start": ({"stopped", "paused", "archived"}, "started"),
                           "stop": ({"started", "paused"}, "stopped"),
                           "pause": ({"started"}, "paused"),
                           "archive": ({"stopped"}, "archived")}
            if len(rest) == 1 and rest[0] in transitions and method == "POST":
                allowed, to = transitions[rest[0]]
                if sb["state"] == to:
                    return self.reply(tmpl, "POST", 200, sb)
                if sb["state"] not in allowed:
                    return self.error(409, f"Sandbox is {sb['state']}; cannot {rest[0]}")
                sb["state"] = to
                sb["updatedAt"] = now()
                return self.reply(tmpl, "POST", 200, sb)
            if rest == ["last-activity"] and method == "POST":
                sb["lastActivityAt"] = now()
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if len(rest) == 2 and rest[0] == "autostop" and method == "POST":
                sb["autoStopInterval"] = int(rest[1])
                return self.reply("/sandbox/{sandboxIdOrName}/autostop/{interval}", "POST", 200, sb)
            if len(rest) == 3 and rest[0] == "ports" and rest[2] == "preview-url":
                port = rest[1]
                return self.reply("/sandbox/{sandboxIdOrName}/ports/{port}/preview-url", "GET", 200,
                                  {"sandboxId": sid, "url": f"{self.base()}/preview/{sid}/{port}", "token": f"tok-{sid[:8]}"})
            if rest == ["toolbox-proxy-url"]:
                return self.send_json(200, {"url": f"{self.base()}/toolbox"})
        return self.error(404, f"no route for {method} {path}")

    # ---- toolbox ----
    def toolbox(self, sid, method, path, query, body):
        import json

        with LOCK:
            sb = SANDBOXES.get(sid)
        if not sb or sb["state"] == "destroyed":
            return self.error(404, "sandbox not found")
        if sb["state"] != "started":
            return self.error(409, f"sandbox is {sb['state']}")
        ws = os.path.join(ROOT, sid, "workspace")

        def local(p):
            p = (p or ".").lstrip("/").removeprefix("home/daytona/")
            p = "." if p == "workspace" else p.removeprefix("workspace/")
            full = os.path.normpath(os.path.join(ws, p))
            if not full.startswith(ws):
                raise PermissionError(p)
            return full

        try:
            if path.startswith("/process/pty"):
                return self.pty_route(method, path, body, local)
            if path.startswith("/process/session"):
                return self.session_route(method, path, body, os.path.join(ROOT, sid))
            if path == "/port" and method == "GET":
                return self.send_json(200, {"ports": listening_ports_under(os.path.join(ROOT, sid))})
            if path == "/process/execute" and method == "POST":
                req = json.loads(body)
                cwd = local(req.get("cwd") or ".")
                env = dict(os.environ, **(req.get("envs") or {}))
                try:
                    r = subprocess.run(["sh", "-c", req["command"]], cwd=cwd, env=env, capture_output=True,
                                       timeout=req.get("timeout") or 60)
                    out = (r.stdout + r.stderr).decode(errors="replace")
                    return self.send_json(200, {"exitCode": r.returncode, "result": out})
                except subprocess.TimeoutExpired:
                    return self.send_json(200, {"exitCode": -1, "result": "timeout"})
            if path == "/files/upload" and method == "POST":
                head = b"Content-Type: " + self.headers.get("Content-Type", "").encode() + b"\r\n\r\n"
                msg = BytesParser(policy=email_policy).parsebytes(head + body)
                parts = [p for p in msg.iter_parts() if p.get_param("name", header="content-disposition") == "file"]
                if not parts:
                    return self.error(400, "multipart field 'file' missing")
                data = parts[0].get_payload(decode=True) or b""
                target = local(query["path"])
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as f:
                    f.write(data if isinstance(data, bytes) else data.encode())
                return self.send_json(200, {"message": "File uploaded successfully"})
            if path == "/files/download" and method == "GET":
                with open(local(query["path"]), "rb") as f:
                    return self.send_bytes(200, f.read())
            if path == "/files" and method == "GET":
                d = local(query.get("path"))
                items = []
                for name in sorted(os.listdir(d)):
                    st = os.stat(os.path.join(d, name))
                    items.append({"name": name, "isDir": os.path.isdir(os.path.join(d, name)), "size": st.st_size,
                                  "mode": oct(st.st_mode), "permissions": oct(st.st_mode & 0o777), "owner": "daytona",
                                  "group": "daytona", "modTime": now(), "modifiedAt": now()})
                return self.send_json(200, items)
            if path == "/files" and method == "DELETE":
                p = local(query["path"])
                if os.path.isdir(p):
                    if query.get("recursive") != "true" and os.listdir(p):
                        return self.error(400, "directory not empty; use recursive=true")
                    shutil.rmtree(p)
                else:
                    os.remove(p)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if path == "/files/folder" and method == "POST":
                os.makedirs(local(query["path"]), exist_ok=True)
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        except FileNotFoundError:
            return self.error(404, "file not found")
        except PermissionError:
            return self.error(403, "path outside the sandbox")
        return self.error(404, f"no toolbox route for {method} {path}")


    # ---- shell sessions: async commands with their logs ----
    def session_route(self, method, path, body, home):
        import json

        segs = [s for s in path.split("/") if s]  # process, session, [sid], [exec|command], [cid], [logs]
        if len(segs) == 2 and method == "POST":
            sid = json.loads(body)["sessionId"]
            with LOCK:
                SESSIONS[sid] = {}
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with LOCK:
            sess = SESSIONS.get(segs[2]) if len(segs) > 2 else None
        if sess is None:
            return self.error(404, "no such session")
        if len(segs) == 3 and method == "DELETE":
            for c in sess.values():
                if c["proc"].poll() is None:
                    c["proc"].kill()
            with LOCK:
                SESSIONS.pop(segs[2], None)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if len(segs) == 4 and segs[3] == "exec" and method == "POST":
            req = json.loads(body)
            cid = str(uuid.uuid4())
            proc = subprocess.Popen(["sh", "-c", req["command"]], cwd=home, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            c = {"proc": proc, "out": bytearray(), "err": bytearray(), "command": req["command"], "done": False}

            def pump(stream, buf):
                for chunk in iter(lambda: stream.read1(65536), b""):
                    buf.extend(chunk)

            ts = [threading.Thread(target=pump, args=(proc.stdout, c["out"]), daemon=True),
                  threading.Thread(target=pump, args=(proc.stderr, c["err"]), daemon=True)]
            for t in ts:
                t.start()

            def reap():
                for t in ts:
                    t.join()
                proc.wait()
                c["done"] = True

            threading.Thread(target=reap, daemon=True).start()
            sess[cid] = c
            if req.get("runAsync") or req.get("async"):
                return self.send_json(202, {"cmdId": cid})
            while not c["done"]:
                time.sleep(0.02)
            return self.send_json(200, {"cmdId": cid, "exitCode": proc.returncode, "output": (c["out"] + c["err"]).decode(errors="replace"),
                                        "stdout": c["out"].decode(errors="replace"), "stderr": c["err"].decode(errors="replace")})
        if len(segs) >= 5 and segs[3] == "command":
            c = sess.get(segs[4])
            if c is None:
                return self.error(404, "no such command")
            if len(segs) == 5 and method == "GET":
                out = {"id": segs[4], "command": c["command"]}
                if c["done"]:
                    out["exitCode"] = c["proc"].returncode
                return self.send_json(200, out)
            if len(segs) == 6 and segs[5] == "logs" and method == "GET":
                o, e = bytes(c["out"]).decode(errors="replace"), bytes(c["err"]).decode(errors="replace")
                return self.send_json(200, {"output": o + e, "stdout": o, "stderr": e})
        return self.error(404, "no session route")

    # ---- PTY sessions: REST for create / resize / delete, a WebSocket for the stream ----
    def pty_info(self, sid, p):
        return {"id": sid, "active": p["proc"].poll() is None, "cols": p["cols"], "rows": p["rows"], "cwd": p["cwd"],
                "envs": p["envs"], "createdAt": now(), "lazyStart": False}

    def pty_route(self, method, path, body, local):
        import json

        segs = [s for s in path.split("/") if s]  # process, pty, [id], [connect|resize]
        if len(segs) == 2 and method == "POST":
            req = json.loads(body)
            sid = req.get("id") or str(uuid.uuid4())
            cols, rows = req.get("cols", 80), req.get("rows", 24)
            master, slave = pty.openpty()
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            cwd = local(req.get("cwd"))
            env = dict(os.environ, **(req.get("envs") or {}))
            proc = subprocess.Popen(["bash", "--norc", "-i"], cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave,
                                    start_new_session=True)
            os.close(slave)
            with LOCK:
                PTYS[sid] = {"master": master, "proc": proc, "cols": cols, "rows": rows, "cwd": cwd, "envs": req.get("envs") or {}}
            return self.send_json(201, {"sessionId": sid})
        with LOCK:
            p = PTYS.get(segs[2]) if len(segs) > 2 else None
        if not p:
            return self.error(404, "no such PTY session")
        sid = segs[2]
        if len(segs) == 4 and segs[3] == "resize" and method == "POST":
            req = json.loads(body)
            p["cols"], p["rows"] = req["cols"], req["rows"]
            fcntl.ioctl(p["master"], termios.TIOCSWINSZ, struct.pack("HHHH", p["rows"], p["cols"], 0, 0))
            return self.send_json(200, self.pty_info(sid, p))
        if len(segs) == 3 and method == "DELETE":
            try:
                os.killpg(p["proc"].pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            with LOCK:
                PTYS.pop(sid, None)
            return self.send_json(200, {"message": "PTY session deleted"})
        if len(segs) == 3 and method == "GET":
            return self.send_json(200, self.pty_info(sid, p))
        if len(segs) == 4 and segs[3] == "connect" and method == "GET":
            return self.websocket(p)
        return self.error(404, "no PTY route")

    def websocket(self, p):
        key = self.headers.get("Sec-WebSocket-Key")
        if (self.headers.get("Upgrade") or "").lower() != "websocket" or not key:
            with self.fakes.lock:
                self.fakes.violations.append("PTY connect without a WebSocket upgrade")
            return self.error(400, "expected a WebSocket upgrade")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.close_connection = True
        sock = self.connection
        wlock = threading.Lock()

        def send(opcode, data):
            n = len(data)
            head = bytes([0x80 | opcode]) + (bytes([n]) if n < 126 else (bytes([126]) + struct.pack(">H", n) if n < 65536 else bytes([127]) + struct.pack(">Q", n)))
            with wlock:
                sock.sendall(head + data)

        def pump_out():
            while True:
                try:
                    data = os.read(p["master"], 65536)
                except OSError:
                    break
                if not data:
                    break
                try:
                    send(0x2, data)
                except OSError:
                    return
            try:
                send(0x8, b"")
            except OSError:
                pass

        t = threading.Thread(target=pump_out, daemon=True)
        t.start()
        rfile = self.rfile
        while True:
            h = rfile.read(2)
            if len(h) < 2:
                break
            opcode, n = h[0] & 0x0F, h[1] & 0x7F
            masked = h[1] & 0x80
            if not masked:
                with self.fakes.lock:
                    self.fakes.violations.append("client WebSocket frame without a mask")
            if n == 126:
                n = struct.unpack(">H", rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", rfile.read(8))[0]
            mask = rfile.read(4) if masked else b"\0\0\0\0"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(rfile.read(n)))
            if opcode == 0x8:
                break
            if opcode in (0x1, 0x2):
                try:
                    os.write(p["master"], payload)
                except OSError:
                    break


if __name__ == "__main__":
    serve(Daytona)
