"""The process bench/memory.py measures: a real `nippo serve`, driven over its standard input.

    NIPPO_... .venv/bin/python bench/memory_child.py serve --port PORT

It runs ``nippo serve`` itself (``bot.cli.main`` with the web app, as the
``nippo`` command does: settings from the environment, personas, migrations,
the Flask app, waitress listening), so everything a serve loads at start is
loaded. Only the scheduler's clock differs: with ``NIPPO_SCHEDULER=off`` no
thread ticks on the real clock; instead this module builds the scheduler's
objects the way ``serve`` does (``SchedulerThread(make_tick(services))``)
with a clock the parent sets, and runs one tick each time the parent asks.

It imports nothing beyond what ``serve`` imports and the standard library,
so its resident size is a serve's. The protocol is one JSON object a line:

    {"do": "rss"}                    -> {"rss_mib": ..., "objects": ...}
    {"do": "tick", "at": ISO}        -> the same, after one scheduler tick at that time
    {"do": "allocators"}             -> the same, with Python's and glibc's allocators' figures
    {"do": "snapshot"}               -> the same; keeps a tracemalloc snapshot (run with -X tracemalloc)
    {"do": "compare", "top": N}      -> {"lines": [...]}: the first snapshot against the last
    {"do": "stop"}                   -> the serve stops as on SIGTERM
"""

from __future__ import annotations

import gc
import json
import os
import re
import signal
import sys
import tempfile
import threading
import tracemalloc
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import cli  # noqa: E402
from bot.memory import heap_figures  # noqa: E402
from web.app import create_app  # noqa: E402


def resident_mib() -> float:
    """VmRSS of this process, in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def python_allocator() -> dict:
    """Python's small-object allocator in MiB: what its arenas hold and what
    of that is in use (sys._debugmallocstats, which writes to file 2)."""
    with tempfile.TemporaryFile("w+") as out:
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        stats = out.read()
    arenas = re.search(r"([\d,]+) arenas \* ([\d,]+) bytes/arena", stats)
    used = re.search(r"# bytes in allocated blocks\s*=\s*([\d,]+)", stats)

    def mib(text: str) -> float:
        return int(text.replace(",", "")) / 2**20

    return {"arenas_mib": mib(arenas.group(1)) * int(arenas.group(2).replace(",", "")) if arenas else None,
            "used_mib": mib(used.group(1)) if used else None}


def c_allocator() -> dict | None:
    """glibc's heaps in MiB: in use, and free in them (pages given back count as free too)."""
    heaps = heap_figures()
    if heaps is None:
        return None
    return {"used_mib": heaps.in_use / 2**20, "free_mib": heaps.free / 2**20}


def figures() -> dict:
    traced = [mib / 2**20 for mib in tracemalloc.get_traced_memory()] if tracemalloc.is_tracing() else None
    return {"rss_mib": resident_mib(), "objects": len(gc.get_objects()), "traced_mib": traced}


class Driver(threading.Thread):
    """Reads the parent's commands and answers each on standard output."""

    def __init__(self, services) -> None:
        super().__init__(name="bench-driver", daemon=True)
        from bot.scheduler import SchedulerThread
        from bot.tick import make_tick

        self._at: datetime | None = None
        # Built as serve builds it, never started: the parent says when it is morning.
        self._scheduler = SchedulerThread(make_tick(services), clock=lambda: self._at)
        self._snapshots: list = []

    def run(self) -> None:
        for line in sys.stdin:
            command = json.loads(line)
            answer = self._answer(command)
            print(json.dumps(answer), flush=True)
            if command["do"] == "stop":
                os.kill(os.getpid(), signal.SIGTERM)
                return

    def _answer(self, command: dict) -> dict:
        do = command["do"]
        if do == "tick":
            self._at = datetime.fromisoformat(command["at"])
            if tracemalloc.is_tracing():
                tracemalloc.reset_peak()  # the tick's own peak
            self._scheduler.run_tick()  # a tick that fails is logged; the parent counts the posts
            return figures()
        if do == "allocators":
            return {**figures(), "python": python_allocator(), "c": c_allocator()}
        if do == "snapshot":
            self._snapshots.append(tracemalloc.take_snapshot())
            return figures()
        if do == "compare":
            first, last = self._snapshots[0], self._snapshots[-1]
            stats = last.compare_to(first, "lineno")[: command.get("top", 20)]
            return {"lines": [str(stat) for stat in stats]}
        return figures()


def app_factory(services):
    """``create_app`` as the ``nippo`` command passes it, starting the driver alongside."""
    app = create_app(services=services)
    Driver(services).start()
    return app


if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:], app_factory=app_factory))
