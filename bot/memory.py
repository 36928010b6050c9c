"""Giving memory the process no longer uses back to the system.

A tick that plans and sends a big morning allocates tens of MiB for a few
seconds and frees them; glibc's allocator keeps most of what it freed, in
each thread's arena, and the process stays as big as its busiest minute
(bench/memory.py, docs/operations.md). ``malloc_trim`` hands the free pages
back, and ``keep_large_blocks_mapped`` (set as ``serve`` starts) keeps the
big blocks of a morning out of the heap. Elsewhere than on glibc those parts
do nothing.

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
from typing import Callable, NamedTuple

log = logging.getLogger("nippo")

# mallopt's parameter for the size from which a block is mapped on its own.
_M_MMAP_THRESHOLD = -3
LARGE_BLOCK = 128 * 1024  # glibc's own starting threshold

class _MallInfo2(ctypes.Structure):
    """glibc's struct mallinfo2."""

    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


class _Glibc(NamedTuple):
    malloc_trim: Callable
    mallopt: Callable
    mallinfo2: Callable | None  # glibc 2.33 and later


class HeapFigures(NamedTuple):
    """glibc's heaps, in bytes (mallinfo2)."""

    in_use: int  # allocated, mapped blocks included
    free: int  # free in the heaps; pages malloc_trim gave back count too
    mapped: int  # in blocks mapped on their own


_glibc: _Glibc | None = None
_looked = False


def _glibc_functions() -> _Glibc | None:
    """glibc's allocator functions, or None elsewhere (musl, macOS)."""
    global _glibc, _looked
    if not _looked:
        _looked = True
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            trim, mallopt = libc.malloc_trim, libc.mallopt
            trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
            mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        except (OSError, AttributeError):
            return None
        mallinfo2 = getattr(libc, "mallinfo2", None)
        if mallinfo2 is not None:
            mallinfo2.restype = _MallInfo2
        _glibc = _Glibc(trim, mallopt, mallinfo2)
    return _glibc


def heap_figures() -> HeapFigures | None:
    """What glibc's heaps hold now (bench/memory.py prints it), or None where there is no mallinfo2."""
    functions = _glibc_functions()
    if functions is None or functions.mallinfo2 is None:
        return None
    info = functions.mallinfo2()
    return HeapFigures(info.uordblks + info.hblkhd, info.fordblks, info.hblkhd)


def keep_large_blocks_mapped(threshold: int = LARGE_BLOCK) -> bool:
    """Blocks of ``threshold`` bytes and more each get a mapping of their own,
    given back whole when freed; whether that could be set (glibc).

    glibc starts so, but raises the threshold each time such a block is
    freed, up to 32 MiB: after a morning's big strings and lists (a bulk
    write's document, a batch's rows) later ones come from the heap, and
    the holes they leave between small blocks cannot be trimmed. Ten
    mornings of 10,000 DMs, side by side: the resident size grew 4.0 MiB
    with it fixed, 8.8 MiB without (docs/operations.md, Memory)."""
    functions = _glibc_functions()
    if functions is None:
        return False
    return functions.mallopt(_M_MMAP_THRESHOLD, threshold) == 1


def release_free_memory() -> bool:
    """Collect cyclic garbage, then return the allocator's free pages to the
    system; whether there was a way to (glibc)."""
    gc.collect()
    functions = _glibc_functions()
    if functions is None:
        return False
    functions.malloc_trim(0)
    return True
