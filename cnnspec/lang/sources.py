"""Reading spec files: every way a file can fail to be a spec becomes a CnnspecError, never a traceback.

A file is read through a bounded window: at most the size limit and one byte more, so that `/dev/zero`,
`/dev/urandom` or a file of a gigabyte ends in a message at once instead of exhausting memory, and opening
never blocks (a FIFO without a writer reads as empty).
"""

from __future__ import annotations

import os
import stat
import sys

from .errors import CnnspecError, Source, point_span
from .syntax import SPEC_LIMIT, Program, parse

BINARY_WINDOW = 8192  # a NUL byte among the first this many bytes makes a file binary


def read_source(path: str | os.PathLike, *, limit: int = SPEC_LIMIT, imported: bool = False) -> str:
    """The text of a spec file (`-` reads standard input), or a CnnspecError saying why it cannot be read.

    `limit` is the most bytes the file may hold; `imported` refuses anything but a regular file (a spec may
    name a device or a pipe on the command line, but never in an `import`).
    """
    name = os.fspath(path)
    if name == "-":
        return _decode(sys.stdin.buffer.read(limit + 1), "<stdin>", limit)
    try:
        with open(name, "rb", opener=_open_without_waiting) as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                if imported:
                    raise CnnspecError("is not a regular file (a device, a pipe or a socket), so it cannot be "
                                       "imported", path=name)
                os.set_blocking(handle.fileno(), True)
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise CnnspecError("no such file", path=name) from None
    except IsADirectoryError:
        raise CnnspecError("is a directory, not a spec file", path=name) from None
    except PermissionError:
        raise CnnspecError("permission denied: the file cannot be read", path=name) from None
    except OSError as exc:
        raise CnnspecError(f"cannot be read: {exc.strerror or exc}", path=name) from None
    return _decode(data, name, limit)


def _open_without_waiting(path: str, flags: int) -> int:
    """os.open that does not wait for a FIFO's writer (a FIFO with none then reads as empty)."""
    return os.open(path, flags | os.O_NONBLOCK)


def _decode(data: bytes, name: str, limit: int) -> str:
    head = data[:BINARY_WINDOW]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_mark(head):
        raise CnnspecError("this file is UTF-16 text: save it as UTF-8 (a .cnn file is UTF-8 text)", path=name)
    if b"\0" in head:
        raise CnnspecError("this is a binary file, not a spec (a .cnn file is text)", path=name)
    if len(data) > limit:
        whole = f"{SPEC_LIMIT:,} bytes, the most a spec and the files it imports may hold together"
        raise CnnspecError(f"the file is larger than {whole}" if limit == SPEC_LIMIT else
                           f"the file is larger than the {limit:,} bytes left of {whole}", path=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        source = Source(name, data[: exc.start].decode("utf-8", errors="replace"))
        raise CnnspecError(f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded)",
                           point_span(source, exc.start)) from None


def _utf16_without_mark(head: bytes) -> bool:
    """ASCII text saved as UTF-16: every other byte is NUL and the ones between are not."""
    even, odd = head[0::2], head[1::2]
    return len(head) >= 4 and ((all(even) and not any(odd)) or (all(odd) and not any(even)))


def load(path: str | os.PathLike) -> Program:
    """Read and parse a .cnn file."""
    name = os.fspath(path)
    text = read_source(name)
    return parse(text, "<stdin>" if name == "-" else name)
