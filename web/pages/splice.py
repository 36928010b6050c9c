"""A page around a large cached part, sent without copying or compressing that
part again on every request.

The overview of a big team is hundreds of kilobytes of markup that changes
only when the data does. It is kept encoded, and deflated once, as a
self-contained deflate segment (a full flush ends it on a byte boundary and
nothing after it looks back into it). A page is then the part framed by the
few kilobytes around it: for a browser that asks for gzip, a gzip header, the
deflated head, the cached segment, the deflated tail and a trailer whose
checksum runs over the three plain parts (RFC 1951 blocks may follow one
another however they were made; RFC 1952 frames them).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MARK = "<!--nippo:part-->"
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, unknown OS
LEVEL = 1  # markup compresses well even at the fastest level


@dataclass(frozen=True)
class Part:
    plain: bytes
    deflated: bytes  # a raw deflate segment that ends on a full flush


def part(html: str) -> Part:
    plain = html.encode()
    packer = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    return Part(plain, packer.compress(plain) + packer.flush(zlib.Z_FULL_FLUSH))


def page(framed: str, middle: Part, gzip: bool) -> list[bytes]:
    """The body of a page rendered with ``MARK`` where ``middle`` goes, as chunks."""
    head, tail = (text.encode() for text in framed.split(MARK, 1))
    if not gzip:
        return [head, middle.plain, tail]
    first = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    last = zlib.compressobj(LEVEL, zlib.DEFLATED, -15)
    checksum = zlib.crc32(tail, zlib.crc32(middle.plain, zlib.crc32(head)))
    size = (len(head) + len(middle.plain) + len(tail)) & 0xFFFFFFFF
    return [GZIP_HEADER, first.compress(head) + first.flush(zlib.Z_FULL_FLUSH), middle.deflated,
            last.compress(tail) + last.flush(zlib.Z_FINISH), struct.pack("<II", checksum, size)]
