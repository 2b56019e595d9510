"""Checks Connect-RPC JSON messages against the official .proto files (field names and nesting):
enough to catch a client sending fields the contract does not have."""
import re


def _camel(name):
    parts = name.split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


class Protos:
    def __init__(self, *paths):
        self.messages = {}  # name -> {json_name: type}
        self.rpcs = {}  # "pkg.Service/Method" -> (request type, streaming response)
        for path in paths:
            self._parse(open(path).read())

    def _parse(self, text):
        pkg = re.search(r"^package\s+([\w.]+);", text, re.M).group(1)
        for svc, body in re.findall(r"service\s+(\w+)\s*\{(.*?)\n\}", text, re.S):
            for m, req, stream, resp in re.findall(r"rpc\s+(\w+)\s*\(\s*(?:stream\s+)?(\w+)\s*\)\s*returns\s*\(\s*(stream\s+)?(\w+)\s*\)", body):
                self.rpcs[f"{pkg}.{svc}/{m}"] = (req, bool(stream))
        # Messages, including nested ones (flattened by simple name).
        stack, name_stack = [], []
        for line in text.splitlines():
            line = line.split("//")[0].strip()
            mm = re.match(r"message\s+(\w+)\s*\{", line)
            if mm:
                name_stack.append(mm.group(1))
                self.messages.setdefault(mm.group(1), {})
                continue
            if re.match(r"(enum|oneof)\s+\w+\s*\{", line):
                name_stack.append(None)
                continue
            if line == "}" and name_stack:
                name_stack.pop()
                continue
            fm = re.match(r"(?:optional\s+|repeated\s+)?(map<[^>]+>|[\w.]+)\s+(\w+)\s*=\s*\d+;", line)
            if fm and name_stack:
                owner = next((n for n in reversed(name_stack) if n), None)
                if owner:
                    self.messages[owner][_camel(fm.group(2))] = fm.group(1)
                    self.messages[owner][fm.group(2)] = fm.group(1)

    def check(self, type_name, value, where=""):
        problems = []
        fields = self.messages.get(type_name)
        if fields is None or not isinstance(value, dict):
            return problems
        for k, v in value.items():
            if k not in fields:
                problems.append(f"{where}{type_name}: unknown field {k!r}")
                continue
            t = fields[k].split(".")[-1]
            if t in self.messages and isinstance(v, dict):
                problems += self.check(t, v, where)
        return problems
