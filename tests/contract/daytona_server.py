"""A local Daytona: control plane under /api and the toolbox under /toolbox/{sandboxId}, as the
official specs in shared/specs/daytona describe them. Commands run for real (sh -c) in a
per-sandbox temp folder, so exec and files behave like a sandbox. Every request is validated
against api-openapi.yaml / toolbox-openapi.yaml; see fakes.py for faults and control endpoints.

  python3 daytona_server.py SPEC_DIR API_KEY   -> prints "LISTENING <port>"
"""
from email.parser import BytesParser
from email.policy import default as email_policy
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone

from fakes import Fakes, Handler, serve
from openapi_check import Spec

SPEC_DIR, API_KEY = sys.argv[1], sys.argv[2]
API = Spec(os.path.join(SPEC_DIR, "api-openapi.yaml"))
TOOLBOX = Spec(os.path.join(SPEC_DIR, "toolbox-openapi.yaml"))
SANDBOXES = {}
LOCK = threading.Lock()
ROOT = tempfile.mkdtemp(prefix="daytona-fake-")


def now():
    return datetime.now(timezone.utc).isoformat()


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
    def control_plane(self, method, path, query, body):
        import json

        segs = [s for s in path.split("/") if s]
        if segs == ["sandbox"] and method == "POST":
            req = json.loads(body or b"{}")
            sid = str(uuid.uuid4())
            sb = {
                "id": sid, "organizationId": "org-test", "name": req.get("name") or sid,
                "snapshot": req.get("snapshot") or "daytonaio/sandbox:latest", "user": req.get("user") or "daytona",
                "env": req.get("env") or {}, "labels": req.get("labels") or {}, "public": bool(req.get("public")),
                "networkBlockAll": False, "target": req.get("target") or "us", "cpu": req.get("cpu") or 1, "gpu": 0,
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
                items = sorted((s for s in SANDBOXES.values() if s["state"] != "destroyed"), key=lambda s: s["id"])
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


if __name__ == "__main__":
    serve(Daytona)
