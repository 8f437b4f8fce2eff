"""Run calls against hostile servers in a process of their own; report memory.

``python -m tests.helpers.memory_probe`` reads one JSON object from stdin,
``{"path": "sync" | "async", "call": "chat" | "account" | "models",
"cases": {name: base_url}}``, makes each call (a chat with ``max_tokens=20``,
no retries), and prints one JSON object. ``rss_grew_mib``: how much the
process's peak resident memory (``ru_maxrss``) grew over all the calls: no
call, C allocations included, took the process more than that above its peak
before the calls. ``cases``: for each case,
how much the process's traced memory grew at its peak during the call
(``grew_mib``, ``tracemalloc``, measured from the memory in use just before the
call), how long it took (``seconds``, for the reader: no test judges it) and
how the call ended: ``{"ok": true, "chars": n}``, or the exception's type, whether
it is a ``LiaobotsError``, its message and the length of its ``partial_text``.
The servers run in the test's process, so only the client's memory is counted.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import sys
import time
import tracemalloc
from typing import Any

import aiohttp  # imported before the baseline: a module, not a call's memory

from langchain_liaobots import ChatLiaobots, LiaobotsError

MIB = 1024 * 1024
_HANG_SECONDS = 120


def _model(base_url: str) -> ChatLiaobots:
    return ChatLiaobots(
        base_url=base_url, auth="probe-code", max_tokens=20, max_retries=0, timeout=10
    )


async def _acall(model: ChatLiaobots, call: str) -> object:
    if call == "chat":
        return (await model.ainvoke("hi")).content
    if call == "account":
        return await model.aaccount()
    return await model.adiscover_models()


def _call(model: ChatLiaobots, call: str, path: str) -> object:
    if path == "async":  # a call that hangs is a finding, not a stuck test
        return asyncio.run(asyncio.wait_for(_acall(model, call), _HANG_SECONDS))
    if call == "chat":
        return model.invoke("hi").content
    if call == "account":
        return model.account()
    return model.discover_models()


def _outcome(model: ChatLiaobots, call: str, path: str) -> dict[str, Any]:
    try:
        value = _call(model, call, path)
    except Exception as exc:  # what escapes is the finding
        return {
            "error": type(exc).__name__,
            "liaobots": isinstance(exc, LiaobotsError),
            "message": str(exc)[:300],
            "partial": len(getattr(exc, "partial_text", "")),
        }
    return {"ok": True, "chars": len(value) if isinstance(value, str) else 0}


def main() -> None:
    spec = json.loads(sys.stdin.read())
    assert aiohttp.__version__
    results: dict[str, dict[str, Any]] = {}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    tracemalloc.start()
    for name, base_url in spec["cases"].items():
        model = _model(base_url)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        started = time.perf_counter()
        outcome = _outcome(model, spec["call"], spec["path"])
        seconds = round(time.perf_counter() - started, 2)  # reported, not judged
        peak = tracemalloc.get_traced_memory()[1]
        grew = round((peak - before) / MIB, 1)
        results[name] = {"grew_mib": grew, "seconds": seconds, **outcome}
        del model
    rss_grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    print(json.dumps({"rss_grew_mib": round(rss_grew / 1024, 1), "cases": results}))


if __name__ == "__main__":
    main()
