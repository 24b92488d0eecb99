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

    `limit` is the most bytes the file may hold (what is left of SPEC_LIMIT for a file being imported);
    `imported` refuses anything but a regular file (a spec may name a device or a pipe on the command line, but
    never in an `import`).
    """
    name = os.fspath(path)
    whole = f"{SPEC_LIMIT:,} bytes, the most a spec and the files it imports may hold together"
    too_large = f"the file is larger than {whole}" if limit == SPEC_LIMIT else \
        f"the file is larger than the {limit:,} bytes left of {whole}"
    if name == "-":
        return decode(sys.stdin.buffer.read(limit + 1), "<stdin>", limit, SPEC_TEXT, too_large)
    return read_text(name, limit=limit, what=SPEC_TEXT, too_large=too_large, regular_only=imported)


SPEC_TEXT = ("a spec", "a .cnn file")  # what a spec file is, and what its name says it is, in messages


def read_text(name: str, *, limit: int, what: tuple[str, str | None], too_large: str,
              regular_only: bool = False) -> str:
    """The UTF-8 text of a file the user names, read through a window of `limit` bytes; a CnnspecError saying
    why it cannot be read otherwise. `what` is what the file should be (`a spec`) and, when its name says so,
    the kind of file it is (`a .cnn file`)."""
    try:
        with open(name, "rb", opener=_open_without_waiting) as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                if regular_only:
                    raise CnnspecError("is not a regular file (a device, a pipe or a socket), so it cannot be "
                                       "imported", path=name)
                os.set_blocking(handle.fileno(), True)
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise CnnspecError("no such file", path=name) from None
    except IsADirectoryError:
        raise CnnspecError(f"is a directory, not {what[0]} file" if what[1] else f"is a directory, not {what[0]}",
                           path=name) from None
    except PermissionError:
        raise CnnspecError("permission denied: the file cannot be read", path=name) from None
    except OSError as exc:
        raise CnnspecError(f"cannot be read: {exc.strerror or exc}", path=name) from None
    return decode(data, name, limit, what, too_large)


def _open_without_waiting(path: str, flags: int) -> int:
    """os.open that does not wait for a FIFO's writer (a FIFO with none then reads as empty)."""
    return os.open(path, flags | os.O_NONBLOCK)


def decode(data: bytes, name: str, limit: int, what: tuple[str, str | None], too_large: str) -> str:
    """The bytes read as UTF-8 text, or why they are no text: binary, UTF-16, larger than `limit`."""
    head = data[:BINARY_WINDOW]
    kind = f" ({what[1]} is UTF-8 text)" if what[1] else ""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_mark(head):
        raise CnnspecError(f"this file is UTF-16 text: save it as UTF-8{kind}", path=name)
    if b"\0" in head:
        raise CnnspecError(f"this is a binary file, not {what[0]}" + (f" ({what[1]} is text)" if what[1] else ""),
                           path=name)
    if len(data) > limit:
        raise CnnspecError(too_large, path=name)
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
