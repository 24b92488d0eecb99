"""`check-code`: grade a student's PyTorch file against a spec, layer by layer.

The student's file never runs in the grader's process, and the spec is never executed (it is data). A
child process (`sandbox.py`) imports the file under a time limit and a memory limit, instantiates the
model, runs a batch of zeros through it so that lazy modules get their sizes, and writes the model as
.cnn text with cnnspec's importer (torch.fx). The grader analyzes that text as it analyzes any spec, so
that the student's layers and the spec's are compared in the same terms. On Linux the children are forked
from one server process that has imported torch already (`sandbox.py --serve`), which saves torch's 1.5 s
import for every submission; elsewhere each submission gets a fresh process.

The model is the class named (`class_name`), else the only torch.nn.Module class the file defines, else
the only one of them built without arguments (helper blocks take their sizes: `ConvBlock(c_in, c_out)`),
else the only nn.Module bound at the file's top level (`model = nn.Sequential(...)`).

Comparison. The student's layers are aligned with the spec's by kind (difflib over the op names: F.relu
and nn.ReLU are both RELU, `x.view(-1, 256)` is a FLATTEN). Each spec layer is then missing, of another
kind, or of its kind with or without the spec's output shape and parameter count; a difference is named
with the arguments that cause it ("your 2nd Conv2d outputs 64×8×8, the spec's outputs 64×4×4: padding 2
where the spec has padding 0"). The summary names the first difference; every check names its own.

Score: one point per spec layer, plus two.
- A spec layer: 1 when the student's layer for it has the spec's output shape and parameter count;
  otherwise, for a layer with parameters, ½ for the output shape and ½ for the parameters, each when
  right (a layer without, a pool or an activation, has only its output to get right); 0 when it is missing
  or of another kind. A layer that differs only because its input does (an earlier difference), its own
  arguments being the spec's, keeps its point: credit carried forward, said in the notes. One mistake
  costs once.
- "layers not in the spec": 1 when the model has no layer beyond the spec's (an IDENTITY does not count,
  nor a flatten before an FC that the spec lets flatten by itself).
- "total parameters": 1 when torch counts the spec's total (modules that hold parameters but that the
  forward never calls count, and are named).
A submission that cannot be graded (a syntax error, an exception, a time-out, too much memory, no model, a
layer cnnspec cannot read) scores 0 of the same maximum, with the reason.
"""

from __future__ import annotations

import atexit
import difflib
import importlib.util
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from .. import ops
from .sandbox import OUTPUT_CAP
from ..lang.errors import CnnspecError
from .grading import Check, Grade, ungradable
from ..lang.ir import Network, expand
from ..analysis.report import LayerReport, Report
from ..lang.words import join_words, shape_text, value_text

# Fork after importing torch is safe on Linux (DataLoader workers do it); elsewhere a fresh process each.
USE_FORK_SERVER = sys.platform.startswith("linux")
SANDBOX = "cnnspec.homework.sandbox"  # the child's side, run with `python -m`
STARTUP_LIMIT = 300.0  # seconds a child may take to import torch before the student's clock starts
SERVER_SLACK = 60.0  # beyond a job's time limit, how long to wait for the fork server before giving up on it
OUTPUT_LINES = 20  # of those, lines shown with a submission that could not be graded


# ------------------------------------------------------------------------------------ public API


def check_code(net: Network, report: Report, student: str | Path, *, student_id: str = "",
               class_name: str | None = None, timeout: float = 60.0, memory_mb: int = 4096) -> Grade:
    """Grade the PyTorch file `student` against the spec `net` (analyzed as `report`); never raises for
    anything the file does. CnnspecError only for the grader's own mistakes (no such file, no torch).

    `timeout`: seconds of wall time for the student's code (torch's import in the child not counted);
    `memory_mb`: the address space the student's code may add to the child's (torch's own not counted)."""
    path = Path(student)
    if not path.exists():
        raise CnnspecError("no such file", path=str(path))
    if path.is_dir():
        raise CnnspecError("is a directory, not a Python file", path=str(path))
    if not timeout > 0:
        raise CnnspecError(f"the time limit must be above 0 seconds, not {timeout}")
    if memory_mb < 1:
        raise CnnspecError(f"the memory limit must be at least 1 MiB, not {memory_mb}")
    if importlib.util.find_spec("torch") is None:
        from ..bridge.lower import TORCH_MISSING

        raise CnnspecError(TORCH_MISSING)
    spec = _layers(net, report)
    max_score = len(spec) + 2
    submission = run_submission(path, report.input_shape, class_name=class_name, timeout=timeout,
                                memory_mb=memory_mb)
    if submission.problem:
        grade = ungradable(student_id, f"Your code could not be graded: {submission.problem}.", max_score)
        return replace(grade, notes=_output_notes(submission, shown=True))
    try:
        from ..analysis.analyze import analyze
        from ..analysis.resolve import resolve
        from ..lang.syntax import parse

        student_net = resolve(parse(submission.text, path=f"{path.name} (imported)"))
        student_report = analyze(student_net)
    except CnnspecError as error:  # the importer wrote what the analyzer refuses: cnnspec's bug, shown as such
        reason = (f"Your code could not be graded: cnnspec could not analyze the model it imported from it "
                  f"(a bug in cnnspec, please report it): {error.message}.")
        return ungradable(student_id, reason, max_score)
    return _compare(spec, _layers(student_net, student_report), report.totals.params, submission, student_id)


@dataclass(frozen=True, slots=True)
class Submission:
    """A student's file as the child process saw it: the model as .cnn text, or why there is none."""

    text: str = ""  # the model as .cnn text ("" when there is none)
    params: int = 0  # torch's count, modules that the forward never calls included
    unused: tuple[tuple[str, str, int], ...] = ()  # (name, type, parameters) of those modules
    class_name: str = ""
    classes: tuple[str, ...] = ()  # the file's nn.Module classes, when the model was chosen among them
    problem: str = ""  # why it cannot be graded, in words for the student ("" when it can)
    printed: int = 0  # characters the code printed
    output: str = ""  # the first OUTPUT_CAP of them


def run_submission(path: Path, input_shape: tuple[int, ...], *, class_name: str | None = None,
                   timeout: float = 60.0, memory_mb: int = 4096) -> Submission:
    """Import and run the student's file in a child process (see sandbox.py) and say what it gave."""
    job = {"file": str(path.resolve()), "class": class_name, "input": list(input_shape), "timeout": timeout,
           "memory_mb": memory_mb}
    directory = _job_directory(job)
    try:
        ended = None
        if USE_FORK_SERVER:
            try:
                ended = _server().run(directory, timeout)
            except _ServerLost:
                # cnnspec's side failed, not the student's: this one runs in a fresh process, in a new directory
                # (a worker of the lost server may still write in the old one)
                warnings.warn("check-code's fork server stopped answering; a submission runs in a fresh process",
                              RuntimeWarning, stacklevel=2)
                shutil.rmtree(directory, ignore_errors=True)
                directory = _job_directory(job)
        if ended is None:
            ended = _run_fresh(directory, timeout)
        return _interpret(directory, ended, timeout)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _job_directory(job: dict) -> str:
    """A fresh directory holding job.json; the child writes phases, output.txt and result.json there."""
    directory = tempfile.mkdtemp(prefix="cnnspec-check-code-")
    with open(os.path.join(directory, "job.json"), "w", encoding="utf-8") as f:
        json.dump(job, f)
    return directory


# ---------------------------------------------------------------------------- the child process


@dataclass(frozen=True, slots=True)
class _Ended:
    """How a child process ended: "exited" (with `code`), "signaled" (with `signal`) or "timeout"."""

    how: str
    code: int | None = None
    signal: int | None = None


def _interpret(directory: str, ended: _Ended, timeout: float) -> Submission:
    """The child's result file and its end, as a Submission; a failure of cnnspec's own raises."""
    result = _read_json(os.path.join(directory, "result.json")) or _last_phase(os.path.join(directory, "phases"))
    output = ""
    if os.path.exists(os.path.join(directory, "output.txt")):
        with open(os.path.join(directory, "output.txt"), encoding="utf-8", errors="replace") as f:
            output = f.read(OUTPUT_CAP)
    printed = max(result.get("printed", 0) if result else 0, len(output))  # a phase's count may be behind
    status = result.get("status") if result else None
    if status is None:
        log = ""
        if os.path.exists(os.path.join(directory, "child.log")):
            with open(os.path.join(directory, "child.log"), encoding="utf-8", errors="replace") as f:
                log = f.read()[-4000:]
        raise RuntimeError(f"check-code's child process ended ({_ended_text(ended)}) before running the student's "
                           f"code: a problem of cnnspec or its installation, not of the submission\n{log}")
    if status == "internal":
        raise RuntimeError(f"check-code's child process failed (a bug in cnnspec):\n{result['traceback']}")
    if status == "ok":
        unused = tuple((u["name"], u["type"], u["params"]) for u in result["unused"])
        return Submission(result["text"], result["params"], unused, result["class"], tuple(result["classes"]), "",
                          printed, output)
    if status == "error":
        problem = result["message"]
    else:  # "running": the child was stopped in that phase
        problem = _stopped_text(result, ended, timeout)
    return Submission(class_name=result.get("name", ""), problem=problem, printed=printed, output=output)


def _stopped_text(state: dict, ended: _Ended, timeout: float) -> str:
    """Why a child stopped without a result, in the phase it was in."""
    phase = state.get("phase")
    doing = {"import": "running the top level of your file", "build": f"building your model (`{state.get('name')}()`)"
             if state.get("name") else "building your model", "forward": "running the forward pass",
             "read": "reading your model's layers (a torch.fx trace of its forward)"}.get(phase, "running")
    seconds = f"{timeout:g} s"
    if ended.how == "timeout" or ended.signal in (signal.SIGXCPU, signal.SIGALRM):
        text = f"it was still {doing} after {seconds}, the time limit"
        if phase == "import":
            text += (" (code outside functions runs when the file is imported: put training and data loading "
                     "under `if __name__ == \"__main__\":`)")
        return text
    if ended.how == "signaled":
        name = _signal_name(ended.signal)
        if ended.signal == signal.SIGKILL:
            return f"it was killed ({name}) while {doing}, most likely by the system for using too much memory"
        return f"it crashed ({name}) while {doing}"
    return (f"it ended the process (exit status {ended.code}) while {doing}, before the grader could see the model "
            f"(os._exit, or a crash in native code)")


def _signal_name(number: int | None) -> str:
    try:
        return signal.Signals(number).name
    except (ValueError, TypeError):
        return f"signal {number}"


def _ended_text(ended: _Ended) -> str:
    if ended.how == "signaled":
        return f"signal {_signal_name(ended.signal)}"
    return "time limit" if ended.how == "timeout" else f"exit status {ended.code}"


def _read_json(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def _last_phase(path: str) -> dict | None:
    """The last whole line of the child's phases file (a line cut short by a kill is not one)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line for line in f.read().split("\n")[:-1] if line]
    except FileNotFoundError:
        return None
    return json.loads(lines[-1]) if lines else None


def _child_env() -> dict:
    """The grader's environment, one thread for torch, and this cnnspec importable."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _run_fresh(directory: str, timeout: float) -> _Ended:
    """One child process for one job; the student's clock starts when it reports its first phase."""
    with open(os.path.join(directory, "child.log"), "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", SANDBOX, directory], stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=log, cwd=directory, env=_child_env(), start_new_session=True)
    phases = os.path.join(directory, "phases")
    deadline = time.monotonic() + STARTUP_LIMIT
    clock_started = False
    timed_out = False
    while not _has_ended(process):
        now = time.monotonic()
        if not clock_started and os.path.exists(phases) and os.path.getsize(phases):
            clock_started, deadline = True, now + timeout
        if now >= deadline:
            _kill_group(process)
            timed_out = True
            break
        time.sleep(0.01)
    _kill_group(process)  # anything it started; its pid stays reserved until it is reaped
    code = process.wait()
    if timed_out:
        return _Ended("timeout")
    return _Ended("signaled", signal=-code) if code < 0 else _Ended("exited", code=code)


def _has_ended(process: subprocess.Popen) -> bool:
    """Whether the child has ended, without reaping it where the OS allows (so its group can still be killed)."""
    if hasattr(os, "waitid"):
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    return process.poll() is not None


def _kill_group(process: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass


class _ServerLost(Exception):
    """The fork server died or stopped answering (not the student's doing: the worker is a separate process)."""


class _ForkServer:
    """`python -m cnnspec.homework.sandbox --serve` for this grader process; its answers go to the threads waiting.

    What the server itself prints (torch's warnings) is dropped: a student's output is kept per job, and the
    instructor's terminal shows only the grades.
    """

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-m", SANDBOX, "--serve"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_child_env(),
                                        start_new_session=True)
        self.owner = os.getpid()
        self.lock = threading.Lock()
        self.pending: dict[int, Future] = {}
        self.next_id = 0
        self.lost = False
        self.ready: Future = Future()
        self.reader = threading.Thread(target=self.read_answers, name="cnnspec-fork-server", daemon=True)
        self.reader.start()
        try:
            self.ready.result(timeout=STARTUP_LIMIT)
        except FutureTimeout:
            self.close()
            raise _ServerLost() from None

    def read_answers(self) -> None:
        with self.process.stdout:
            for line in self.process.stdout:
                answer = json.loads(line)
                if answer.get("ready"):
                    self.ready.set_result(True)
                    continue
                with self.lock:
                    future = self.pending.pop(answer["id"], None)
                if future is not None:
                    future.set_result(answer)
        with self.lock:
            self.lost = True
            waiting, self.pending = list(self.pending.values()), {}
        for future in waiting:
            future.set_exception(_ServerLost())
        if not self.ready.done():
            self.ready.set_exception(_ServerLost())

    def run(self, directory: str, timeout: float) -> _Ended:
        future: Future = Future()
        with self.lock:
            if self.lost:
                raise _ServerLost()
            self.next_id += 1
            self.pending[self.next_id] = future
            request = json.dumps({"id": self.next_id, "dir": directory, "timeout": timeout}) + "\n"
            try:
                self.process.stdin.write(request.encode())
                self.process.stdin.flush()
            except OSError:
                self.pending.pop(self.next_id, None)
                self.lost = True
                raise _ServerLost() from None
        try:
            answer = future.result(timeout=timeout + SERVER_SLACK)
        except FutureTimeout:
            self.close()
            raise _ServerLost() from None
        return _Ended(answer["status"], answer["code"], answer["signal"])

    def close(self) -> None:
        """End the server (it kills its workers when its input closes)."""
        with self.lock:
            self.lost = True
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=10)


_SERVER: _ForkServer | None = None
_SERVER_LOCK = threading.Lock()


def _server() -> _ForkServer:
    """The fork server of this process, started on first use (again after it was lost, or in a forked grader)."""
    global _SERVER
    with _SERVER_LOCK:
        if _SERVER is None or _SERVER.lost or _SERVER.owner != os.getpid():
            _SERVER = _ForkServer()
        return _SERVER


@atexit.register
def _close_server() -> None:
    if _SERVER is not None and _SERVER.owner == os.getpid():
        _SERVER.close()


# ----------------------------------------------------------------------------------- comparison

# Arguments in words; `out` is its parameter's own description.
_ARG_WORDS = {"k": "kernel", "s": "stride", "p": "padding", "d": "dilation", "g": "groups", "ceil": "ceil_mode",
              "slope": "negative slope"}


@dataclass(frozen=True, slots=True)
class _Layer:
    """A layer of either side as compared: its report row and its arguments in one normal form."""

    row: LayerReport
    args: tuple[tuple[str, object], ...]

    @property
    def op(self) -> str:
        return self.row.op

    @property
    def label(self) -> str:
        return self.op.upper() if ops.get(self.op).merge else self.row.resolved


def _layers(net: Network, report: Report) -> list[_Layer]:
    """Every layer of an analyzed network with its arguments normalised (defaults filled in, one value for
    a tuple of equal ones, a pool's stride, `p=same`), so that two ways of writing a layer compare equal."""
    nodes = list(expand(net.body))
    if len(nodes) != len(report.layers):
        raise ValueError("the report is not the analysis of this network")
    layers = []
    for node, row in zip(nodes, report.layers):
        op = ops.get(row.op)
        args = {} if op.merge else ops.fill_defaults(op, node)
        layers.append(_Layer(row, tuple(_normal_args(op, args, row).items())))
    return layers


def _normal_args(op: ops.OpSpec, args: dict, row: LayerReport) -> dict:
    values = {k: v for k, v in args.items() if k != "in"}  # `in` only checks what arrives
    for key in ("out", "g"):
        if values.get(key) == "in":
            values[key] = row.input_shape[0]
    if op.canonical is not None:
        values = op.canonical(values, row.input_shape)
    return {k: (v[0] if isinstance(v, tuple) and v and len(set(v)) == 1 else v) for k, v in values.items()}


def _differences(spec: _Layer, mine: _Layer) -> list[str]:
    """The arguments of the student's layer that are not the spec's, in words, in the spec's order."""
    theirs, ours = dict(spec.args), dict(mine.args)
    found = []
    for name, value in theirs.items():
        if ours.get(name, value) == value:
            continue
        mine_value = ours[name]
        if name == "bias":
            found.append("no bias where the spec has one" if value else "a bias where the spec has none")
        elif name == "out" and ops.get(spec.op).param("out").kind in ("channels", "int"):  # a count
            noun = ops.get(spec.op).param("out").doc
            found.append(f"{value_text(mine_value)} {noun} where the spec has {value_text(value)}")
        else:
            word = "output size" if name == "out" else _ARG_WORDS.get(name, name)
            found.append(f"{word} {value_text(mine_value)} where the spec has {word} {value_text(value)}")
    return found


def _student_names(layers: list[_Layer]) -> list[str]:
    """`your 2nd Conv2d`: each layer by its kind as PyTorch calls it, counted within the student's model."""
    seen: dict[str, int] = {}
    names = []
    for layer in layers:
        seen[layer.op] = seen.get(layer.op, 0) + 1
        rank = max(1, len(layer.row.input_shape) - 1)
        op = ops.get(layer.op)
        kind = op.code_word or op.source.cls.format(rank=rank).removeprefix("nn.")
        names.append(f"your {_ordinal(seen[layer.op])} {kind}")
    return names


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _align(spec: list[_Layer], mine: list[_Layer]) -> list[tuple[int | None, int | None]]:
    """(spec index, student index) pairs in model order; None on one side for a missing or an extra layer."""
    matcher = difflib.SequenceMatcher(None, [layer.op for layer in spec], [layer.op for layer in mine],
                                      autojunk=False)
    pairs: list[tuple[int | None, int | None]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        both = min(i2 - i1, j2 - j1) if tag in ("equal", "replace") else 0
        pairs += zip(range(i1, i1 + both), range(j1, j1 + both))
        pairs += [(i, None) for i in range(i1 + both, i2)]
        pairs += [(None, j) for j in range(j1 + both, j2)]
    return pairs


def _parameters(count: int) -> str:
    return f"{count:,} parameter" + ("" if count == 1 else "s")


def _input_differs(spec: _Layer, mine: _Layer) -> bool:
    """Whether the two layers receive different inputs (a kind that flattens its input itself, an FC, compares
    only the number of features it sees)."""
    a, b = spec.row.input_shape, mine.row.input_shape
    return math.prod(a) != math.prod(b) if ops.get(spec.op).flattens else a != b


@dataclass(frozen=True, slots=True)
class _Verdict:
    """A spec layer judged: its check, and the difference to report in the summary (None: none)."""

    check: Check
    difference: str | None
    carried: bool = False


def _judge(spec: _Layer, mine: _Layer | None, name: str | None, where: str) -> _Verdict:
    """One spec layer against the student's layer aligned with it (`name`: `your 2nd Conv2d`)."""
    title = f"layer {spec.row.index}: {spec.label}"
    one, half, zero = Fraction(1), Fraction(1, 2), Fraction(0)
    if mine is None:
        text = f"your model has no {spec.label} {where}"
        return _Verdict(Check(title, zero, one, f"Missing: {text}."), text)
    if mine.op != spec.op:
        text = f"{name} ({mine.label}) is where the spec has {spec.label}"
        return _Verdict(Check(title, zero, one, f"Another kind of layer: {text}."), text)
    ours, theirs = mine.row, spec.row
    shape_ok, params_ok = ours.output_shape == theirs.output_shape, ours.params == theirs.params
    causes = _differences(spec, mine)
    if shape_ok and params_ok:
        has = f" and has {_parameters(ours.params)}" if ours.params else ""
        text = f"{_capital(name)} outputs {shape_text(ours.output_shape)}{has}, as in the spec."
        if causes:
            text += f" (Its arguments differ, changing neither: {join_words(causes)}.)"
        return _Verdict(Check(title, one, one, text), None)
    if shape_ok:
        sentence = f"{name} has {_parameters(ours.params)}, the spec's has {theirs.params:,}"
    elif params_ok:
        sentence = (f"{name} outputs {shape_text(ours.output_shape)}, the spec's outputs "
                    f"{shape_text(theirs.output_shape)}")
    else:
        sentence = (f"{name} outputs {shape_text(ours.output_shape)} with {_parameters(ours.params)}, the spec's "
                    f"outputs {shape_text(theirs.output_shape)} with {theirs.params:,}")
    input_text = f"its input is {shape_text(ours.input_shape)} where the spec's is {shape_text(theirs.input_shape)}"
    if _input_differs(spec, mine) and not causes:
        text = (f"{_capital(sentence)}, only because {input_text}. The layer itself is the spec's, so it keeps its "
                f"point (credit carried forward).")
        return _Verdict(Check(title, one, one, text), f"{sentence}: {input_text}", carried=True)
    if _input_differs(spec, mine):
        causes.append(input_text)
    difference = sentence + (f": {join_words(causes)}" if causes else "")
    text = _capital(difference) + "."
    if not theirs.params and not ours.params:  # a pool, an activation, a flatten: the output is all there is
        return _Verdict(Check(title, zero, one, text), difference)
    if shape_ok:
        text += f" Its output shape is right ({shape_text(ours.output_shape)})."
    elif params_ok:
        text += f" Its {_parameters(ours.params)} are right." if ours.params != 1 else " Its parameter is right."
    points = half * shape_ok + half * params_ok
    return _Verdict(Check(title, points, one, text), difference)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _forgiven(layer: _Layer, following: _Layer | None) -> bool:
    """An extra layer that changes nothing the spec says: the identity, or a flatten (no parameters, its input as
    a vector) right before a kind that flattens by itself, an FC, on an input that it flattens."""
    if ops.get(layer.op).passes_through:
        return True
    row = layer.row
    flattening = not row.params and row.output_shape == (math.prod(row.input_shape),) and len(row.input_shape) > 1
    return (flattening and following is not None and ops.get(following.op).flattens
            and len(following.row.input_shape) > 1)


def _compare(spec: list[_Layer], mine: list[_Layer], spec_total: int, submission: Submission,
             student_id: str) -> Grade:
    names = _student_names(mine)
    pairs = _align(spec, mine)
    checks: list[Check] = []
    differences: list[str] = []  # in model order, but for those carried forward; the first is the summary's
    extras: list[str] = []
    carried: list[int] = []
    last = None  # the student's layer before the current position, for "after your 1st Conv2d"
    for position, (i, j) in enumerate(pairs):
        where = f"after {last}" if last else "at its start"
        if i is None:
            following = next((spec[k] for k, _ in pairs[position + 1:] if k is not None), None)
            if not _forgiven(mine[j], following):
                extras.append(_capital(f"{names[j]} ({mine[j].label}), {where}"))
                differences.append(f"{names[j]} ({mine[j].label}), {where}, is not in the spec")
            last = names[j]
            continue
        verdict = _judge(spec[i], mine[j] if j is not None else None, names[j] if j is not None else None, where)
        checks.append(verdict.check)
        if verdict.carried:
            carried.append(spec[i].row.index)
        elif verdict.difference:
            differences.append(f"at layer {spec[i].row.index} ({spec[i].label}): {verdict.difference}")
        if j is not None:
            last = names[j]
    one = Fraction(1)
    checks.append(Check("layers not in the spec", one if not extras else Fraction(0), one,
                        "None: every layer of your model is one of the spec's." if not extras else
                        "Your model has layers the spec does not have:\n" + "\n".join(extras)))
    total_check, total_difference = _total_check(spec_total, submission)
    checks.append(total_check)
    if differences:
        first = differences[0]
        summary = (f"First difference, {first}." if first.startswith("at layer") else f"First difference: {first}.")
        more = len(differences) - 1
        if more:
            summary += f" After it, {more} more difference{'s' if more > 1 else ''}, listed below."
    elif total_difference:
        summary = f"First difference: {total_difference}."
    else:
        summary = (f"Your model matches the spec: every layer has the spec's kind, output shape and parameter "
                   f"count, {_parameters(spec_total)} in all.")
    notes: tuple[str, ...] = ()
    if carried:
        layers, differ, their = ("layers", "differ", "their points") if len(carried) > 1 else \
            ("layer", "differs", "its point")
        notes += (f"Credit carried forward: {layers} {join_words([str(n) for n in carried])} {differ} from the spec "
                  f"only because of an earlier difference, and keep{'s' if len(carried) == 1 else ''} {their}.",)
    if submission.classes:
        others = join_words([f"`{name}`" for name in submission.classes])
        notes += (f"The model graded is `{submission.class_name}`: of your file's torch.nn.Module classes ({others}), "
                  f"the only one built without arguments.",)
    return Grade(student_id, tuple(checks), summary, notes=notes + _output_notes(submission, shown=False))


def _total_check(spec_total: int, submission: Submission) -> tuple[Check, str | None]:
    ours = submission.params
    one = Fraction(1)
    if ours == spec_total:
        return Check("total parameters", one, one, f"{ours:,}, as in the spec."), None
    word = "more" if ours > spec_total else "fewer"
    text = f"your model has {_parameters(ours)}, the spec's has {spec_total:,} ({abs(ours - spec_total):,} {word})"
    if submission.unused:
        idle = sum(n for _, _, n in submission.unused)
        modules = join_words([f"`{name}` ({kind}, {n:,})" for name, kind, n in submission.unused])
        text += f"; {idle:,} of yours are in modules your forward never calls: {modules}"
    return Check("total parameters", Fraction(0), one, _capital(text) + "."), text


def _output_notes(submission: Submission, *, shown: bool) -> tuple[str, ...]:
    """What the student's code printed: how much when it was more than kept; the first lines as well for a
    submission that could not be graded (they may say why)."""
    notes: tuple[str, ...] = ()
    if submission.printed > OUTPUT_CAP:
        notes += (f"Your code printed {submission.printed:,} characters; the grader kept the first {OUTPUT_CAP:,} "
                  f"(printing is not graded).",)
    if shown and submission.output.strip():
        lines = submission.output.rstrip("\n").split("\n")
        head = lines[:OUTPUT_LINES]
        title = "What your code printed" + (f" (the first {OUTPUT_LINES} lines):" if len(lines) > OUTPUT_LINES else ":")
        notes += (title, *(f"    {line[:200]}" for line in head))
    return notes
