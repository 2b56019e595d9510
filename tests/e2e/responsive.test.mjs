// The window keeps answering while a command waits on something slow. Another process holds
// the app's SQLite file locked for writing; a session save (a SQLite write) then waits for the
// lock. Meanwhile the window must still list the project's files: commands that touch the disk,
// SQLite or the keychain run off the main thread. When the lock goes, the save completes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { after, before, describe, test } from "node:test";
import { eventually, makeSandboxDirs, startReady } from "./harness.mjs";

const dirs = makeSandboxDirs({ "a.txt": "a\n", "b.txt": "b\n" });

/** Holds an exclusive write lock on `db` until `release()`. */
async function lockDatabase(db) {
  const py = "import sqlite3, sys\n"
    + "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n"
    + "c.execute('BEGIN EXCLUSIVE')\n"
    + "print('locked', flush=True)\n"
    + "sys.stdin.readline()\n"
    + "c.execute('COMMIT')\n";
  const proc = spawn("python3", ["-c", py, db], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    readline.createInterface({ input: proc.stdout }).once("line", resolve);
    proc.once("exit", (c) => reject(new Error(`the locking process exited ${c}`)));
  });
  return {
    release: () => new Promise((resolve) => { proc.once("exit", resolve); proc.stdin.end("\n"); }),
  };
}

describe("responsiveness", () => {
  let app;
  before(async () => {
    app = await startReady(dirs);
  });
  after(async () => {
    await app?.stop();
  });

  test("a save waiting on a locked database does not freeze the window", async () => {
    const b = app.browser;
    const lock = await lockDatabase(path.join(dirs.home, ".local/share/dev.aura.ide/aura.sqlite3"));
    let released = false;
    try {
      // One script starts the save, then lists the folder, and reports the order they finished in.
      const order = await b.executeAsync((done) => {
        const inv = window.__TAURI_INTERNALS__.invoke;
        const order = [];
        window.__saveOrder = order;
        const layout = {
          sidebar_width: 260, bottom_height: 240, preview_width: 480, sidebar_visible: true,
          bottom_visible: true, preview_visible: false, sidebar_view: "files",
        };
        const session = { open_tabs: ["a.txt"], active_tab: "a.txt", expanded_dirs: [], layout };
        inv("save_session", { session }).then(() => order.push("save"), (e) => order.push(`save failed: ${e.message}`));
        inv("list_dir", { path: "" }).then((rows) => {
          order.push(`list ${rows.length}`);
          done(JSON.stringify(order));
        }, (e) => done(JSON.stringify([...order, `list failed: ${e.message}`])));
      }).then((s) => JSON.parse(s));
      assert.deepEqual(order, ["list 2"], "the folder was listed while the save still waited for the lock");
      await lock.release();
      released = true;
      const after = await eventually(async () => {
        const o = await b.execute(() => window.__saveOrder);
        return o.length === 2 ? o : null;
      }, { what: "the save once the lock is gone" });
      assert.deepEqual(after, ["list 2", "save"], "the save completed once the database was free");
    } finally {
      if (!released) await lock.release();
    }
  });
});
