"""Reading spec files: every way a file can fail to be a spec becomes a CnnspecError, never a traceback."""

from __future__ import annotations

import os
import sys

from .errors import CnnspecError, Source, point_span
from .syntax import Program, parse


def read_source(path: str | os.PathLike) -> str:
    """The text of a spec file (`-` reads standard input), or a CnnspecError saying why it cannot be read."""
    name = os.fspath(path)
    if name == "-":
        data = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        try:
            with open(name, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise CnnspecError("no such file", path=name) from None
        except IsADirectoryError:
            raise CnnspecError("is a directory, not a spec file", path=name) from None
        except PermissionError:
            raise CnnspecError("permission denied: the file cannot be read", path=name) from None
        except OSError as exc:
            raise CnnspecError(f"cannot be read: {exc.strerror or exc}", path=name) from None
    if b"\0" in data[:8192]:
        raise CnnspecError("this is a binary file, not a spec (a .cnn file is text)", path=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        source = Source(name, data[: exc.start].decode("utf-8", errors="replace"))
        raise CnnspecError(f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded)",
                           point_span(source, exc.start)) from None
    return text


def load(path: str | os.PathLike) -> Program:
    """Read and parse a .cnn file."""
    name = os.fspath(path)
    text = read_source(name)
    return parse(text, "<stdin>" if name == "-" else name)
