"""Validates HTTP requests against an OpenAPI 3 document (the providers' official specs).

Used by the contract servers: every request a client sends is matched to an operation of the
spec (path template + method), its required parameters and headers are checked, and its JSON
body is validated with jsonschema against the operation's request schema ($refs resolved).
Violations are collected, never raised, so a test can ask the server for them at the end.
"""
import json
import re

import jsonschema
import yaml


class Spec:
    def __init__(self, path):
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.ops = []
        for template, item in self.doc.get("paths", {}).items():
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$"
            for method, op in item.items():
                if method in ("get", "post", "put", "delete", "patch"):
                    params = list(item.get("parameters", [])) + list(op.get("parameters", []))
                    self.ops.append((re.compile(rx), method.upper(), template, op, params))
        # Static paths win over templated ones (e.g. /sandbox/paginated vs /sandbox/{id}).
        self.ops.sort(key=lambda o: o[2].count("{"))

    def resolve(self, node):
        if isinstance(node, dict):
            if "$ref" in node:
                target = self.doc
                for part in node["$ref"].lstrip("#/").split("/"):
                    target = target[part]
                return self.resolve(target)
            out = {k: self.resolve(v) for k, v in node.items()}
            # OpenAPI 3.0's `nullable` is not JSON Schema: express it as a type union.
            if out.pop("nullable", False) and isinstance(out.get("type"), str):
                out["type"] = [out["type"], "null"]
            return out
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        return node

    def match(self, method, path):
        for rx, m, template, op, params in self.ops:
            if m == method and rx.match(path):
                return template, op, params
        return None

    def check(self, method, path, query, headers, body, content_type):
        """Returns (operation template or None, [violations])."""
        found = self.match(method, path)
        if not found:
            return None, [f"{method} {path}: no such operation in the spec"]
        template, op, params = found
        problems = []
        lower = {k.lower(): v for k, v in headers.items()}
        for p in params:
            p = self.resolve(p)
            where, name = p.get("in"), p.get("name")
            if where == "query" and p.get("required") and name not in query:
                problems.append(f"{method} {template}: missing required query parameter {name}")
            if where == "header" and p.get("required") and name.lower() not in lower:
                problems.append(f"{method} {template}: missing required header {name}")
            if where == "query" and name in query and "schema" in p:
                schema = self.resolve(p["schema"])
                value = query[name]
                if schema.get("type") == "boolean":
                    if value not in ("true", "false"):
                        problems.append(f"{method} {template}: query {name}={value!r} is not a boolean")
                        continue
                    value = value == "true"
                elif schema.get("type") == "array" and p.get("style", "form") == "form" and p.get("explode") is False:
                    # style form, explode false: one parameter, the items separated by commas.
                    value = value.split(",") if value else []
                elif schema.get("type") in ("integer", "number"):
                    try:
                        value = float(value) if schema["type"] == "number" else int(value)
                    except ValueError:
                        problems.append(f"{method} {template}: query {name}={value!r} is not a {schema['type']}")
                        continue
                try:
                    jsonschema.validate(value, schema)
                except jsonschema.ValidationError as e:
                    problems.append(f"{method} {template}: query {name}: {e.message}")
        rb = op.get("requestBody")
        if rb:
            rb = self.resolve(rb)
            content = rb.get("content", {})
            if "application/json" in content:
                if body is None or body == b"":
                    if rb.get("required"):
                        problems.append(f"{method} {template}: JSON body required")
                else:
                    if content_type and "json" not in content_type:
                        problems.append(f"{method} {template}: Content-Type {content_type} is not JSON")
                    try:
                        data = json.loads(body)
                        jsonschema.validate(data, content["application/json"].get("schema", {}))
                    except json.JSONDecodeError as e:
                        problems.append(f"{method} {template}: body is not JSON: {e}")
                    except jsonschema.ValidationError as e:
                        problems.append(f"{method} {template}: body does not match the schema: {e.message} at {list(e.path)}")
            elif "multipart/form-data" in content and body:
                if not (content_type or "").startswith("multipart/form-data"):
                    problems.append(f"{method} {template}: expected multipart/form-data, got {content_type}")
        return template, problems

    def validate_response(self, template, method, status, data):
        """Checks the server's own JSON response against the spec (keeps the fake honest)."""
        for rx, m, t, op, _ in self.ops:
            if t == template and m == method:
                resp = op.get("responses", {}).get(str(status))
                if not resp:
                    return []
                schema = self.resolve(resp).get("content", {}).get("application/json", {}).get("schema")
                if schema is None:
                    return []
                try:
                    jsonschema.validate(data, schema)
                except jsonschema.ValidationError as e:
                    return [f"fake server bug: {method} {template} {status} response: {e.message}"]
        return []
