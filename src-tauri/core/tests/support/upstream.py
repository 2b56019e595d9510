"""The far side of a test network: TCP servers that say who they are, and a DNS server.

Run inside a network namespace the test made (never on a real network). Arguments:
  --tcp ADDR:PORT=NAME ...   HTTP servers: each answers every request with the body "NAME\n"
  --blob ADDR:PORT=BYTES ... HTTP servers answering every request with BYTES zero bytes
  --dns ADDR:PORT            answers A queries from --name entries
  --name HOST=ADDR ...       the DNS server's records
Prints "READY" once every socket listens.
"""
import argparse
import socket
import struct
import sys
import threading


def serve_tcp(addr, port, name, body=None):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)

    def loop():
        while True:
            c, _ = s.accept()
            try:
                c.settimeout(10)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                data = body if body is not None else name.encode() + b"\n"
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data))
                c.sendall(data)
            except OSError:
                pass
            finally:
                c.close()

    threading.Thread(target=loop, daemon=True).start()


def question(msg):
    """The queried name and the offset just past the question."""
    labels, i = [], 12
    while msg[i]:
        n = msg[i]
        labels.append(msg[i + 1:i + 1 + n].decode().lower())
        i += 1 + n
    return ".".join(labels), i + 5


def serve_dns(addr, port, records):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))

    def loop():
        while True:
            msg, peer = s.recvfrom(512)
            name, end = question(msg)
            qtype = struct.unpack("!H", msg[end - 4:end - 2])[0]
            ip = records.get(name) if qtype == 1 else None
            flags = 0x8180 if name in records else 0x8183  # answer, or NXDOMAIN
            head = msg[:2] + struct.pack("!HHHHH", flags, 1, 1 if ip else 0, 0, 0)
            body = msg[12:end]
            if ip:
                body += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + socket.inet_aton(ip)
            s.sendto(head + body, peer)

    threading.Thread(target=loop, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tcp", nargs="*", default=[])
    ap.add_argument("--blob", nargs="*", default=[])
    ap.add_argument("--dns")
    ap.add_argument("--name", nargs="*", default=[])
    a = ap.parse_args()
    for spec in a.tcp:
        where, name = spec.split("=")
        host, port = where.rsplit(":", 1)
        serve_tcp(host.strip("[]"), int(port), name)
    for spec in a.blob:
        where, size = spec.split("=")
        host, port = where.rsplit(":", 1)
        serve_tcp(host, int(port), "blob", bytes(int(size)))
    if a.dns:
        host, port = a.dns.rsplit(":", 1)
        serve_dns(host, int(port), dict(n.split("=") for n in a.name))
    print("READY", flush=True)
    sys.stdin.read()  # until the test closes our stdin


if __name__ == "__main__":
    main()
