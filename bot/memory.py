"""Giving memory the process no longer uses back to the system.

A tick that plans and sends a big morning allocates tens of MiB for a few
seconds and frees them; glibc's allocator keeps most of what it freed, in
each thread's arena, and the process stays as big as its busiest minute
(bench/memory.py, docs/operations.md). ``malloc_trim`` hands the free pages
back. Elsewhere than on glibc that part does nothing.

The tick's garbage in reference cycles (sessions, results, tracebacks) is
collected first. Left to the collector's own schedule it stays alive into
the next morning, whose objects then go into fresh arenas around it; over
six mornings of 10,000 DMs Python's arenas grew from 59 to 66 MiB without
this, and stayed within 61-62 with it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger("nippo")

_trim = None
_looked = False


def _malloc_trim():
    global _trim, _looked
    if not _looked:
        _looked = True
        try:
            _trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
            _trim.argtypes, _trim.restype = [ctypes.c_size_t], ctypes.c_int
        except (OSError, AttributeError):  # not glibc: musl, macOS
            _trim = None
    return _trim


def release_free_memory() -> bool:
    """Collect cyclic garbage, then return the allocator's free pages to the
    system; whether there was a way to (glibc)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
