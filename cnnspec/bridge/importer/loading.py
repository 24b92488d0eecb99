"""What the user hands the importer: a Python file and the model class in it (`model.py:Net`), and the input
shape; and how an exception their code raised is told in one line, with the line of their file."""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import sys
import traceback

from ...lang.errors import CnnspecError, suggest
from ...lang.words import value_text

# Frames in here are cnnspec's own, never the line to name in an exception raised by the user's code.
_CNNSPEC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_input_shape(text: str) -> tuple[int, ...]:
    """`1,28,28` (or `1x28x28`, `(1, 28, 28)`) as a shape; a CnnspecError (path `--input`) otherwise."""
    cleaned = text.strip().strip("()[]").strip()
    cleaned = re.sub(r"(?<=\d)\s*[x×]\s*(?=\d)", ",", cleaned)
    parts = [p for p in re.split(r"[,\s]+", cleaned) if p] if cleaned else []
    if not parts or not all(re.fullmatch(r"\d+", p) for p in parts):
        raise CnnspecError(f"expected the input shape as whole numbers separated by commas, e.g. 1,28,28, "
                           f"not {text!r}", path="--input")
    return checked_shape(tuple(int(p) for p in parts), "--input")


def checked_shape(value, path: str | None) -> tuple[int, ...]:
    """A shape given as text, a sequence or one number, checked: channels then 0 to 3 spatial sizes."""
    if isinstance(value, str):
        return parse_input_shape(value)
    try:
        shape = tuple(value)
    except TypeError:
        shape = (value,)
    if not 1 <= len(shape) <= 4 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1
                                           for n in shape):
        raise CnnspecError(f"the input shape must be 1 to 4 whole numbers of at least 1 (channels, then "
                           f"0 to 3 spatial sizes; no batch), not {value_text(shape)}", path=path)
    return shape


def split_spec(spec: str) -> tuple[str, str | None]:
    """`model.py:Net` → (`model.py`, `Net`); `model.py` → (`model.py`, None)."""
    spec = os.fspath(spec)
    head, sep, tail = spec.rpartition(":")
    if sep and head and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tail):
        return head, tail
    return spec, None


def load_class(spec: str):
    """Import `path/to/model.py` and instantiate its class `ClassName` (`"model.py:ClassName"`) with no
    arguments. Without `:ClassName` the file must define exactly one torch.nn.Module subclass. A name bound
    to a module instance (`net = nn.Sequential(...)`) is taken as it is.

    Importing the file runs its code.
    """
    from ..lower import require_torch

    nn_module = require_torch().nn.Module
    path, name = split_spec(spec)
    if not os.path.exists(path):
        raise CnnspecError("no such file", path=path)
    if os.path.isdir(path):
        raise CnnspecError("is a directory, not a Python file", path=path)
    module = _import_path(path)
    if name is None:
        classes = [obj for obj in vars(module).values()
                   if isinstance(obj, type) and issubclass(obj, nn_module) and obj.__module__ == module.__name__]
        if not classes:
            raise CnnspecError("defines no torch.nn.Module class; name the model as FILE:NAME", path=path)
        if len(classes) > 1:
            names = ", ".join(c.__name__ for c in classes)
            raise CnnspecError(f"defines several torch.nn.Module classes ({names}); name one as FILE:CLASS",
                               path=path)
        target, name = classes[0], classes[0].__name__
    else:
        if not hasattr(module, name):
            candidates = [k for k, v in vars(module).items()
                          if (isinstance(v, type) and issubclass(v, nn_module)) or isinstance(v, nn_module)]
            raise CnnspecError(f"defines no class `{name}`{suggest(name, candidates)}", path=path)
        target = getattr(module, name)
    if isinstance(target, nn_module):
        return target
    if not (isinstance(target, type) and issubclass(target, nn_module)):
        what = "a class that does not derive from torch.nn.Module" if isinstance(target, type) else \
            f"a {type(target).__name__}"
        raise CnnspecError(f"`{name}` is {what}; cnnspec import needs a torch.nn.Module class (or a module)",
                           path=path)
    try:
        inspect.signature(target).bind()
    except TypeError:
        missing = [p.name for p in inspect.signature(target).parameters.values()
                   if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        raise CnnspecError(f"`{name}` needs constructor arguments ({', '.join(missing)}); cnnspec import "
                           f"builds it with none", path=path) from None
    except ValueError:  # no signature to inspect (a builtin): try the call
        pass
    try:
        return target()
    except Exception as exc:
        raise CnnspecError(f"`{name}()` raised {exception_text(exc, path)}", path=path) from None


def _import_path(path: str):
    """Import a Python file as a fresh module (runs its code); its folder is importable meanwhile."""
    absolute = os.path.abspath(path)
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(absolute))[0]) or "model"
    name = f"cnnspec_import_{stem}_{abs(hash(absolute)) & 0xFFFFFFFF:x}"
    try:
        spec = importlib.util.spec_from_file_location(name, absolute)
    except Exception as exc:  # pragma: no cover - odd paths
        raise CnnspecError(f"cannot be imported: {exc}", path=path) from None
    if spec is None or spec.loader is None:
        raise CnnspecError("cannot be imported as Python (is it a .py file?)", path=path)
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(absolute)
    sys.path.insert(0, folder)
    sys.modules[name] = module  # dataclasses, pickling and typing look a module up by its name
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise CnnspecError(f"is not valid Python: {exc.msg} (line {exc.lineno})", path=path) from None
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        raise CnnspecError(f"importing it raised {exception_text(exc, path)}", path=path) from None
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:  # pragma: no cover - the user's code removed it
            pass
    return module


def source_file(cls) -> str | None:
    """The file that defines a class, or None for one defined nowhere (a builtin)."""
    try:
        return inspect.getsourcefile(cls)
    except TypeError:
        return None


def exception_text(exc: BaseException, path: str | None = None) -> str:
    """`ValueError: boom (line 12)`: the exception's first line, and where in the user's file it was raised."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = type(exc).__name__ + (f": {lines[0]}" if lines else "")
    where = _user_line(exc, path)
    return f"{text} ({where})" if where else text


def _user_line(exc: BaseException, path: str | None) -> str:
    """`line 12` of the user's file (or `model.py, line 12` of another file outside torch and cnnspec)."""
    frames = traceback.extract_tb(exc.__traceback__)
    target = os.path.abspath(path) if path else None
    for frame in reversed(frames):
        if target and os.path.abspath(frame.filename) == target:
            return f"line {frame.lineno}"
    for frame in reversed(frames):
        filename = os.path.abspath(frame.filename)
        if not filename.startswith(_CNNSPEC) and not any(f"{os.sep}{package}{os.sep}" in filename
                                                         for package in ("torch", "importlib")):
            return f"{os.path.basename(filename)}, line {frame.lineno}"
    return ""
