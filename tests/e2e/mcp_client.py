"""A real MCP client (the `mcp` package from PyPI) driving Aura the way an agent does.

Connects through `aura mcp` (stdio; the bridge finds the running app and its token), or over
HTTP with --url/--token, runs the scenario named on the command line and prints one JSON line per
step: {"step": ..., "error": bool, "text": ...}. Used by tests/e2e/agent.test.mjs.
"""
import argparse
import asyncio
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def say(step, result=None, error=None):
    if error is not None:
        print(json.dumps({"step": step, "error": True, "text": str(error)}), flush=True)
        return
    text = "\n".join(getattr(c, "text", "") for c in getattr(result, "content", []) or [])
    # `is_error` in mcp 2.x, `isError` in 1.x.
    is_error = getattr(result, "is_error", None) or getattr(result, "isError", None)
    print(json.dumps({"step": step, "error": bool(is_error), "text": text}), flush=True)


async def call(session, step, tool, args):
    progress = []

    async def on_progress(value, total, message):
        progress.append(message or "")

    try:
        say(step, await session.call_tool(tool, args, progress_callback=on_progress))
    except Exception as e:  # a protocol error is a step result too
        say(step, error=e)
    # Output streamed while the call ran (execute_command sends it as progress).
    print(json.dumps({"step": step + ":progress", "error": False, "text": "".join(progress)}), flush=True)


async def scenario(session, name):
    await session.initialize()
    tools = await session.list_tools()
    print(json.dumps({"step": "tools", "error": False, "text": " ".join(t.name for t in tools.tools)}), flush=True)
    if name == "agent":
        await call(session, "read", "read_file", {"path": "README.md"})
        await call(session, "write", "write_file", {"path": "README.md", "content": "# written by the agent\n"})
        await call(session, "approved", "execute_command", {"command": "echo approved > approved.txt; echo done-approved"})
        await call(session, "denied", "execute_command", {"command": "touch denied.txt; echo ran-anyway"})
        # A file Git runs on the user's machine: asked about although writes are allowed.
        await call(session, "hook", "write_file", {"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\necho planted\n"})
        await call(session, "outside", "read_file", {"path": "../outside.txt"})
        await call(session, "unknown", "no_such_tool", {})
    if name == "app":
        # Starts the project's app — with the window open, its ▶ Run (it outlives this client) — and reads its state.
        await call(session, "run_app", "run_app", {})
        await call(session, "logs", "app_logs", {})
    print(json.dumps({"step": "end", "error": False, "text": ""}), flush=True)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--aura", required=True, help="the aura binary (started as `aura mcp`)")
    a = ap.parse_args()
    params = StdioServerParameters(command=a.aura, args=["mcp"], env=dict(os.environ))
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await scenario(session, a.scenario)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:
        print(json.dumps({"step": "crash", "error": True, "text": repr(e)}), flush=True)
        sys.exit(1)
