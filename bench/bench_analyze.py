"""cnnspec analyze vs torchinfo.summary on VGG16 and ResNet-152: wall time, peak memory, scaling, "no torch".

    python bench/bench_analyze.py [--repeat N] [--write]

Everything is measured in one run:

  1. Fresh child processes, each command N times (round-robin, after one unrecorded warm-up run of
     each): the cnnspec CLI (table and JSON output), torchinfo.summary on the same network built with
     torch on the CPU, `python -c "import torch"`, and reference lines (bare interpreter, `import cnnspec`,
     the CLI with a cold lark grammar cache, with cnnspec compiled from source instead of loaded from
     byte-code, and through the `cnnspec` found on PATH when that is not the console script itself).
     The same CLI call and torchinfo.summary on ResNet-152 (the "resnet152 within 2x of vgg16" target)
     and on the other networks of bench/models.py, and the CLI in a pseudo-terminal, where it draws
     its table with rich instead of writing plain text.
     Children get a private byte-code cache (see child_env) so that every module loads from a .pyc.
  2. Where the CLI's time goes, phase by phase, in fresh child processes (VGG16 and ResNet-152), and
     its imports by package.
  3. In-process scaling of `cnnspec.analyze(cnnspec.parse(text))` with the number of layers and with
     the number of parameters.
  4. Whether the CLI (and `import cnnspec`) imports torch: `-X importtime` and a sys.modules check.

Wall time: time.perf_counter() around starting the child and reaping it; this is what
subprocess.run does (Popen + wait), except that the child is reaped with os.wait4() instead of
waitpid(), because wait4 also returns the resource usage of *that* child. Peak memory is that
rusage's ru_maxrss: the child's own peak resident set size, as the kernel counts it, of the
unmodified command (no launcher inside the child, no /usr/bin/time whose %M output differs between
versions, e.g. GNU time 1.7's ×4 error, and no RUSAGE_CHILDREN, whose ru_maxrss is the largest child so far
rather than a per-child value, so deltas of it are meaningless).

Timings are never asserted: this is a benchmark, not a test. With --write, BENCHMARKS.md (at the
repository root) is rewritten and the raw numbers go to bench/results/bench_analyze.json.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fcntl
import gc
import importlib.metadata
import json
import os
import platform
import pty
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import struct
import tempfile
import termios
import textwrap
import threading
import time
import timeit
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))

from models import MODELS, VGG_CFGS  # noqa: E402  (models.py imports torch only inside its builders)

MODEL = "vgg16"
SPEC = MODELS[MODEL].spec
INPUT_SIZE = MODELS[MODEL].input_size
EXPECTED_PARAMS = MODELS[MODEL].params
DEEP = "resnet152"  # the network of the "within 2x of vgg16's time" target
DEEP_SPEC = MODELS[DEEP].spec
OTHERS = [name for name in MODELS if name not in (MODEL, DEEP)]  # informative rows, same measurements
PY = sys.executable
TIME_TARGET = 20.0
MEMORY_TARGET = 10.0
DEEP_TARGET = 2.0  # resnet152.cnn's CLI call at most this many times vgg16.cnn's
TERMINAL_SIZE = (120, 40)  # columns, rows of the pseudo-terminal of the terminal rows
TERMINAL_NOTE = f"in a terminal ({TERMINAL_SIZE[0]}×{TERMINAL_SIZE[1]} pseudo-terminal; rich draws the table)"
FORBIDDEN = ("torch", "torchinfo", "torchvision")

# ----------------------------------------------------------------------------------- child code


def torchinfo_key(model: str) -> str:
    return "torchinfo" if model == MODEL else f"torchinfo_{model}"


def torchinfo_code(model: str) -> str:
    return textwrap.dedent(f"""\
        import sys
        sys.path.insert(0, {str(BENCH)!r})
        import torch, torchinfo
        from models import MODELS
        model = MODELS[{model!r}].build()
        torchinfo.summary(model, input_size={MODELS[model].input_size!r})
        print("torch threads:", torch.get_num_threads(), file=sys.stderr)
    """)

# Where the time of `cnnspec analyze SPEC` goes, timed inside one fresh process through the public API
# and cli.main itself (nothing of cnnspec's internals), so that it stays right as the CLI changes.
# stdout is a file, as in the whole-call measurement, so main takes the same output path.
PHASES = [
    ("import", "import cnnspec"),
    ("cli_import", "import cnnspec.cli"),
    ("load_first", "first cnnspec.load(spec): lazy imports (lark), parser tables from lark's cache, parse"),
    ("load_warm", "  of which the parse itself (a second cnnspec.load)"),
    ("analyze_first", "cnnspec.analyze (resolve + analyze), first call"),
    ("analyze_warm", "  the same, second call"),
    ("main_table", "cli.main, everything warm: argparse, load + analyze again, the table written to a file"),
    ("main_json", "cli.main with --format json, everything warm"),
]
PHASES_TEMPLATE = textwrap.dedent("""\
    import time
    t = {}
    def timed(key, fn):
        start = time.perf_counter()
        value = fn()
        t[key] = time.perf_counter() - start
        return value
    import sys
    timed("import", lambda: __import__("cnnspec"))
    timed("cli_import", lambda: __import__("cnnspec.cli"))
    import cnnspec, cnnspec.cli
    program = timed("load_first", lambda: cnnspec.load(SPEC))
    timed("load_warm", lambda: cnnspec.load(SPEC))
    timed("analyze_first", lambda: cnnspec.analyze(program))
    timed("analyze_warm", lambda: cnnspec.analyze(program))
    real_stdout = sys.stdout
    with open(DEVNULL, "w") as sys.stdout:
        timed("main_table", lambda: cnnspec.cli.main(["analyze", SPEC]))
        timed("main_json", lambda: cnnspec.cli.main(["analyze", SPEC, "--format", "json"]))
    sys.stdout = real_stdout
    import json
    print(json.dumps(t))
""")


def phases_code(spec: str) -> str:
    return f"SPEC, DEVNULL = {spec!r}, {os.devnull!r}\n" + PHASES_TEMPLATE

# Imports cnnspec exactly as the CLI does, then reports which forbidden modules are loaded.
MODULES_CODE = textwrap.dedent(f"""\
    import sys
    at_start = set(sys.modules)
    import contextlib, io, json
    from cnnspec.cli import main
    checked = {{}}
    for argv in (["analyze", {SPEC!r}], ["analyze", {SPEC!r}, "--format", "json"]):
        with contextlib.redirect_stdout(io.StringIO()):
            status = main(argv)
        checked[" ".join(argv)] = [status, sorted(m for m in sys.modules if m.split(".")[0] in {FORBIDDEN!r})]
    added = {{m.split(".")[0] for m in set(sys.modules) - at_start}}
    packages = sorted(p for p in added if p not in sys.stdlib_module_names and not p.startswith("_"))
    print(json.dumps({{"checked": checked, "packages": packages}}))
""")


# ------------------------------------------------------------------------------------- children


@dataclass
class Case:
    key: str
    label: str
    argv: list[str]
    shown: str  # the command as written in the report
    fresh_tmpdir: bool = False  # a new empty TMPDIR per run: lark must rebuild its grammar cache
    env: dict = field(default_factory=dict)  # added to child_env()
    model: str = MODEL  # the network: its torchinfo case is the one the ratios compare with
    terminal: bool = False  # stdin, stdout and stderr a pseudo-terminal of TERMINAL_SIZE instead of files
    note: str = ""  # written after the command in the report
    walls: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # bytes
    stdout: str = ""
    stderr: str = ""
    status: int = 0


WORK = Path(tempfile.mkdtemp(prefix="cnnspec-bench-"))  # removed by main() at exit


def child_env(**extra) -> dict:
    """The environment of every child: byte-code caching on, into a private PYTHONPYCACHEPREFIX.

    An editable install has no .pyc files in the source tree, and with PYTHONDONTWRITEBYTECODE set (as in
    some containers) cnnspec's own modules would be compiled from source on every call, while lark, rich
    and torch load the .pyc files pip wrote. A private cache prefix, filled by the warm-up runs, gives
    every command the byte-code a normal installation has, without writing into the source tree.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    env.update(extra)
    return env


def terminal_env(env: dict) -> dict:
    """The environment of a child in the pseudo-terminal: an ordinary colour terminal, its size taken from
    the terminal itself (no COLUMNS/LINES), and none of the variables that make rich force or drop colour
    or terminal features."""
    drop = {"COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS",
            "JUPYTER_LINES"}
    return {**{k: v for k, v in env.items() if k not in drop}, "TERM": "xterm-256color"}


def run_in_terminal(argv: list[str], env: dict) -> tuple[float, int, int, str, str]:
    """run_child for a child whose stdin, stdout and stderr are the slave side of a fresh pseudo-terminal
    of TERMINAL_SIZE, as in an interactive shell. A thread in this process reads the master side as fast
    as the child writes (a terminal emulator's job: the kernel's pty buffer is small, and a child writing
    into a full one would block). Output is returned as the terminal received it (CR LF, escape codes)."""
    master, slave = pty.openpty()
    cols, rows = TERMINAL_SIZE
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    chunks: list[bytes] = []

    def drain():
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every slave descriptor is closed and the buffer is empty
                break
            if not data:
                break
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=terminal_env(env), stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)  # the child holds the only copies now: EOF (EIO) on the master when it exits
        slave = -1
        _, wait_status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(wait_status)
        reader.join(timeout=10)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    maxrss = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    return wall, maxrss, proc.returncode, b"".join(chunks).decode("utf-8", "replace"), ""


def run_child(argv: list[str], env: dict | None = None, terminal: bool = False) -> tuple[float, int, int, str, str]:
    """(wall seconds, peak RSS bytes, exit status, stdout, stderr) of one fresh child process."""
    env = child_env() if env is None else env
    if terminal:
        return run_in_terminal(argv, env)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _, wait_status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(wait_status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        maxrss = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024  # Linux: KiB
        return (wall, maxrss, proc.returncode, out.read().decode("utf-8", "replace"),
                err.read().decode("utf-8", "replace"))


def run_case(case: Case, record: bool) -> None:
    env = child_env(**case.env)
    tmp = None
    if case.fresh_tmpdir:
        tmp = tempfile.mkdtemp(dir=WORK, prefix="tmpdir-")
        env["TMPDIR"] = tmp
    try:
        wall, rss, status, out, err = run_child(case.argv, env, terminal=case.terminal)
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    case.status, case.stdout, case.stderr = status, out, err
    if status != 0:
        raise SystemExit(f"{case.shown} failed with status {status}:\n{err[-2000:]}")
    if record:
        case.walls.append(wall)
        case.rss.append(rss)


def cnnspec_command() -> tuple[list[str], str]:
    """The installed `cnnspec` console script next to this interpreter (what pip generated)."""
    script = Path(sysconfig.get_path("scripts")) / "cnnspec"
    if script.exists():
        return [str(script)], "cnnspec"
    return [PY, "-m", "cnnspec"], "python -m cnnspec"


def source_only_copy() -> dict | None:
    """Environment additions that make the CLI import a copy of cnnspec that has no byte-code and never gets
    any (PYTHONDONTWRITEBYTECODE=1), while every other module still loads from the shared cache: what an
    editable install costs where PYTHONDONTWRITEBYTECODE is set (as in some containers)."""
    src = WORK / "nopyc"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "cnnspec", src / "cnnspec", ignore=ignore)
    extra = {"PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1"}
    # As the console script sees it: its sys.path starts with its own directory, not with the current one.
    _, _, status, out, _ = run_child([PY, "-c", "import sys; del sys.path[0]; import cnnspec.cli, cnnspec.lang as g; "
                                                "print(cnnspec.cli.__file__); print(g.__file__)"], child_env(**extra))
    if status != 0 or not all(line.startswith(str(src)) for line in out.split()):
        print(f"  (skipping the no-byte-code case: the copy is not what gets imported: {out!r})", file=sys.stderr)
        return None
    return extra


def make_cases() -> list[Case]:
    cli, cli_name = cnnspec_command()
    cases = [
        Case("python", "bare interpreter", [PY, "-c", "pass"], 'python -c "pass"'),
        Case("import_cnnspec", "import cnnspec", [PY, "-c", "import cnnspec"], 'python -c "import cnnspec"'),
        Case("cnnspec", "cnnspec analyze (table)", cli + ["analyze", SPEC], f"{cli_name} analyze {SPEC}"),
        Case("cnnspec_json", "cnnspec analyze --format json", cli + ["analyze", SPEC, "--format", "json"],
             f"{cli_name} analyze {SPEC} --format json"),
        Case("cnnspec_cold", "cnnspec analyze, cold lark cache", cli + ["analyze", SPEC],
             f"TMPDIR=<empty dir> {cli_name} analyze {SPEC}", fresh_tmpdir=True),
        Case("cnnspec_tty", "cnnspec analyze in a terminal", cli + ["analyze", SPEC],
             f"{cli_name} analyze {SPEC}", terminal=True, note=TERMINAL_NOTE),
        Case("import_torch", "import torch", [PY, "-c", "import torch"], 'python -c "import torch"'),
        Case("torchinfo", "torchinfo.summary", [PY, "-c", torchinfo_code(MODEL)],
             f"python -c <build {MODEL} from bench/models.py; torchinfo.summary(model, input_size={INPUT_SIZE})>"),
    ]
    for model in [DEEP, *OTHERS]:
        spec = MODELS[model].spec
        cases.append(Case(f"cnnspec_{model}", f"cnnspec analyze {spec} (table)", cli + ["analyze", spec],
                          f"{cli_name} analyze {spec}", model=model))
        if model == DEEP:
            cases.append(Case(f"cnnspec_{model}_tty", f"cnnspec analyze {spec} in a terminal", cli + ["analyze", spec],
                              f"{cli_name} analyze {spec}", model=model, terminal=True, note=TERMINAL_NOTE))
        cases.append(Case(torchinfo_key(model), f"torchinfo.summary, {model}", [PY, "-c", torchinfo_code(model)],
                          f"python -c <build {model} from bench/models.py; "
                          f"torchinfo.summary(model, input_size={MODELS[model].input_size})>", model=model))
    nopyc = source_only_copy()
    if nopyc:
        cases.insert(4, Case("cnnspec_nopyc", "cnnspec analyze, cnnspec compiled from source", cli + ["analyze", SPEC],
                             f"PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=<copy of cnnspec> {cli_name} analyze {SPEC}",
                             env=nopyc))
    on_path = shutil.which("cnnspec")
    if on_path and Path(on_path).resolve() != Path(cli[0]).resolve():
        cases.insert(4, Case("cnnspec_path", "cnnspec analyze via PATH", [on_path, "analyze", SPEC],
                             f"{on_path} analyze {SPEC}"))
    return cases


def measure_children(cases: list[Case], repeat: int) -> None:
    for case in cases:  # warm-up: page cache, .pyc files, lark's grammar cache in TMPDIR
        run_case(case, record=False)
    for i in range(repeat):
        for case in cases:  # round-robin, so that drift in machine load hits every command alike
            run_case(case, record=True)
        print(f"  child processes: round {i + 1}/{repeat} done", file=sys.stderr)


def measure_phases(repeat: int) -> dict[str, dict[str, float]]:
    """{spec: {phase: median seconds}} for VGG16 and ResNet-152, runs alternating between the two."""
    specs = [SPEC, DEEP_SPEC]
    runs: dict[str, list[dict]] = {spec: [] for spec in specs}
    for _ in range(repeat + 1):
        for spec in specs:
            _, _, status, out, err = run_child([PY, "-c", phases_code(spec)])
            if status != 0:
                raise SystemExit(f"phase breakdown of {spec} failed:\n{err}")
            runs[spec].append(json.loads(out))
    # the first run of each is a warm-up
    return {spec: {key: statistics.median(r[key] for r in runs[spec][1:]) for key, _ in PHASES} for spec in specs}


# ---------------------------------------------------------------------------- torch-free check


def parse_importtime(stderr: str) -> list[tuple[str, str, int, int]]:
    """(module, top-level import it was loaded under, self µs, cumulative µs) from `-X importtime` output.

    importtime prints a module when its import finishes (children before their parent), indented two
    spaces per nesting level, one space at the top level.
    """
    rows, pending = [], []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|")
        entry = [name.strip(), None, int(self_us), int(cumulative_us)]
        pending.append(entry)
        if len(name) - len(name.lstrip()) == 1:
            for e in pending:
                e[1] = entry[0]
            rows += [tuple(e) for e in pending]
            pending = []
    return rows


def import_report(repeat: int) -> dict:
    cli, _ = cnnspec_command()
    result = {}
    # 1. -X importtime on the real console script: every module the CLI call imports, with its cost.
    argv = [PY, "-X", "importtime", *cli, "analyze", SPEC] if cli[0] != PY else \
        [PY, "-X", "importtime", "-m", "cnnspec", "analyze", SPEC]
    runs = []
    for _ in range(repeat):
        _, _, status, _, err = run_child(argv)
        if status != 0:
            raise SystemExit(f"-X importtime run failed:\n{err[-2000:]}")
        runs.append(parse_importtime(err))
    names = [name for name, _, _, _ in runs[0]]
    result["importtime_modules"] = len(names)
    result["importtime_forbidden"] = sorted({n for n in names if n.split(".")[0] in FORBIDDEN})
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    # Self time summed per top-level package, start-up (site and the .pth files it runs) counted apart.
    per_run = []
    for rows in runs:
        totals: dict[str, int] = {}
        for name, top, self_us, _ in rows:
            group = "interpreter start-up (site, .pth files)" if top == "site" else \
                "cnnspec (own modules)" if name.split(".")[0] == "cnnspec" else \
                name.split(".")[0] if name.split(".")[0] not in stdlib else "standard library"
            totals[group] = totals.get(group, 0) + self_us
        per_run.append(totals)
    groups = {g for totals in per_run for g in totals}
    result["import_self_ms"] = dict(sorted(((g, statistics.median(t.get(g, 0) for t in per_run) / 1e3)
                                            for g in groups), key=lambda x: -x[1]))
    # 2. sys.modules after running the CLI's main() for the table and the JSON output.
    _, _, status, out, err = run_child([PY, "-c", MODULES_CODE])
    if status != 0:
        raise SystemExit(f"sys.modules check failed:\n{err}")
    modules = json.loads(out)
    result["sys_modules_after_main"] = modules["checked"]
    result["third_party"] = modules["packages"]
    _, _, status, out, _ = run_child([PY, "-c", f"import cnnspec, sys; print(sorted(m for m in sys.modules "
                                                f"if m.split('.')[0] in {FORBIDDEN!r}))"])
    result["sys_modules_after_import"] = out.strip()
    result["torch_free"] = (not result["importtime_forbidden"]
                            and all(not mods for _, mods in result["sys_modules_after_main"].values())
                            and result["sys_modules_after_import"] == "[]")
    return result


# -------------------------------------------------------------------------------------- scaling


def chain_text(layers: int, written_out: bool) -> str:
    """INPUT(8, 32, 32) then `layers` layers: CONV -> RELU pairs, as one repeat or written out."""
    pairs = layers // 2
    if written_out:
        return "INPUT(8, 32, 32)\n" + "".join("-> CONV(8, k=3, p=1) -> RELU\n" for _ in range(pairs))
    return f"INPUT(8, 32, 32) -> [CONV(8, k=3, p=1) -> RELU] * {pairs}\n"


def vgg16_text(width: int) -> str:
    """torchvision's VGG16 (configuration D) with every hidden width multiplied by `width`."""
    parts = ["INPUT(3, 224, 224)"]
    for v in VGG_CFGS["D"]:
        parts.append("MAXPOOL(2, s=2)" if v == "M" else f"CONV({v * width}, k=3, p=1) -> RELU")
    parts += ["ADAPTIVEAVGPOOL((7, 7))", "FLATTEN"]
    parts += [f"FC({4096 * width}) -> RELU -> DROPOUT(p=0.5)"] * 2
    parts.append("FC(1000)")
    return "\n-> ".join(parts) + "\n"


def best_time(fn, gc_on: bool = True) -> float:
    """Best of several timeit repeats, seconds per call (gc left on unless asked: that is what the CLI sees)."""
    timer = timeit.Timer(fn, setup=gc.enable if gc_on else (lambda: None))
    number, total = timer.autorange()
    single = total / number
    rounds = 5 if single < 0.2 else 3
    return min(timer.repeat(repeat=rounds, number=number)) / number


@dataclass
class ScaleRow:
    series: str
    label: str
    layers: int
    params: int
    text_bytes: int
    parse: float
    analyze: float
    total: float
    total_gc_off: float


def measure_scaling() -> list[ScaleRow]:
    import cnnspec

    cnnspec.analyze(cnnspec.parse(chain_text(10, False)))  # build lark's parser once (it is cached)
    cases = []
    for n in (10, 100, 1_000, 10_000):
        cases.append(("chain, one repeat", f"[CONV -> RELU] * {n // 2}", chain_text(n, False)))
    for n in (10, 100, 1_000, 2_000):  # 2,000 written out is about the most a spec's 32 KiB hold
        cases.append(("chain, written out", f"{n // 2} × CONV -> RELU", chain_text(n, True)))
    for w in (1, 4, 16):
        cases.append(("VGG16 widths", f"VGG16 widths ×{w}", vgg16_text(w)))
    rows = []
    for series, label, text in cases:
        program = cnnspec.parse(text)
        report = cnnspec.analyze(program)
        rows.append(ScaleRow(
            series, label, len(report.layers), report.totals.params, len(text.encode()),
            parse=best_time(lambda: cnnspec.parse(text)),
            analyze=best_time(lambda: cnnspec.analyze(program)),
            total=best_time(lambda: cnnspec.analyze(cnnspec.parse(text))),
            total_gc_off=best_time(lambda: cnnspec.analyze(cnnspec.parse(text)), gc_on=False),
        ))
        print(f"  scaling: {label} done", file=sys.stderr)
    return rows


# -------------------------------------------------------------------------------------- report


def machine() -> dict:
    def version(dist):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    cpu = platform.processor() or platform.machine()
    mem = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 ** 2:.1f} GiB"
                break
    except OSError:
        pass
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [d for d in ("cnnspec", "specs") if git("status", "--porcelain", "--", d)]
    if changed:
        commit += " + uncommitted changes in " + ", ".join(f"{d}/" for d in changed)
    return {
        "load_start": load_average(),
        "commit": commit,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu, "memory": mem, "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        **{dist: version(dist) for dist in ("cnnspec", "torch", "torchinfo", "lark", "rich")},
    }


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (runnable processes, this run's included), as text."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1e3:,.1f} ms"


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2 ** 20:,.1f} MiB"


def us(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:,.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:,.2f} ms"
    return f"{seconds * 1e6:,.0f} µs"


def med(values):
    return statistics.median(values)


def md_table(header: list[str], rows: list[list[str]], align: str) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(":--" if a == "l" else "--:" for a in align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def layer_count(stdout: str) -> str:
    """The layer count the CLI's table prints in its summary line ("…, 40 layers"), as text."""
    found = re.search(r"([\d,]+) layers", stdout)
    return found.group(1) if found else "?"


def sanity(cases: dict[str, Case]) -> dict[str, bool]:
    """The two tools saw the same networks: both report each network's parameter count."""
    try:
        json_params = json.loads(cases["cnnspec_json"].stdout)["totals"]["params"]
    except (ValueError, KeyError):
        json_params = None
    checks = {
        f"`cnnspec analyze {SPEC}` table shows {EXPECTED_PARAMS:,} params": f"{EXPECTED_PARAMS:,}" in cases["cnnspec"].stdout,
        f"`--format json` totals.params is {EXPECTED_PARAMS}": json_params == EXPECTED_PARAMS,
        f"torchinfo on {MODEL} prints `Total params: {EXPECTED_PARAMS:,}`":
            f"Total params: {EXPECTED_PARAMS:,}" in cases["torchinfo"].stdout,
    }
    for model in [DEEP, *OTHERS]:
        n = MODELS[model].params
        checks[f"`cnnspec analyze {MODELS[model].spec}` table shows {n:,} params"] = f"{n:,}" in cases[f"cnnspec_{model}"].stdout
        checks[f"torchinfo on {model} prints `Total params: {n:,}`"] = \
            f"Total params: {n:,}" in cases[torchinfo_key(model)].stdout
    for key in ("cnnspec_tty", f"cnnspec_{DEEP}_tty"):
        case = cases[key]
        n = MODELS[case.model].params
        checks[f"in the pseudo-terminal, `cnnspec analyze {MODELS[case.model].spec}` drew the table with rich "
               f"(escape codes, box lines) showing {n:,} params"] = \
            "\x1b[" in case.stdout and "─" in case.stdout and f"{n:,}" in case.stdout
    return checks


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**NOT met**"


def times(value: float, target: float) -> str:
    """A ratio as "23.7×", with one more digit where one digit would round it onto the target (19.97 → 20.0)."""
    text = f"{value:.1f}"
    return f"{value:.2f}×" if text == f"{target:.1f}" and value != target else f"{text}×"


def build_markdown(info: dict, cases: dict[str, Case], phases: dict[str, dict[str, float]], imports: dict,
                   scaling: list[ScaleRow], checks: dict[str, bool], repeat: int) -> str:
    c = cases
    ti = c["torchinfo"]
    cli_name = cnnspec_command()[1]
    vgg_title, deep_title = MODELS[MODEL].title, MODELS[DEEP].title

    def ratio(key):
        """torchinfo on the same network ÷ this command, (time, memory), medians; reference lines (no
        network of their own) are compared with torchinfo on VGG16."""
        base = c[torchinfo_key(c[key].model)]
        return med(base.walls) / med(c[key].walls), med(base.rss) / med(c[key].rss)

    def by_min(key):
        """The time ratio of the minimums instead of the medians: the least disturbed runs of both."""
        return f" ({min(c[torchinfo_key(c[key].model)].walls) / min(c[key].walls):.1f}× by minimums)"

    t_table, m_table = ratio("cnnspec")
    t_json, m_json = ratio("cnnspec_json")
    t_tty, _ = ratio("cnnspec_tty")
    deep, deep_tty = c[f"cnnspec_{DEEP}"], c[f"cnnspec_{DEEP}_tty"]
    deep_ratio = med(deep.walls) / med(c["cnnspec"].walls)
    deep_tty_ratio = med(deep_tty.walls) / med(c["cnnspec_tty"].walls)
    t_deep_tty, _ = ratio(f"cnnspec_{DEEP}_tty")
    vgg_layers, deep_layers = layer_count(c["cnnspec"].stdout), layer_count(deep.stdout)
    vgg = [r for r in scaling if r.series == "VGG16 widths"]
    rep = [r for r in scaling if r.series == "chain, one repeat"]
    wri = [r for r in scaling if r.series == "chain, written out"]

    def per_layer(r, gc_off=False):
        return (r.total_gc_off if gc_off else r.total) / r.layers

    param_growth = vgg[-1].total / vgg[0].total
    rep_growth = per_layer(rep[-1]) / per_layer(rep[-2])
    wri_growth = per_layer(wri[-1]) / per_layer(wri[-2])
    wri_growth_gc_off = per_layer(wri[-1], True) / per_layer(wri[-2], True)
    params_ok = param_growth <= 1.25
    layers_ok = rep_growth <= 1.5 and wri_growth_gc_off <= 1.5

    # ---- targets
    target_rows = [
        ["whole CLI call ≥ 20× faster than torchinfo",
         f"table {times(t_table, TIME_TARGET)}{by_min('cnnspec')}, JSON {times(t_json, TIME_TARGET)}{by_min('cnnspec_json')}",
         f"table {verdict(t_table >= TIME_TARGET)}, JSON {verdict(t_json >= TIME_TARGET)}"],
        ["≥ 10× less peak memory than torchinfo",
         f"table {times(m_table, MEMORY_TARGET)}, JSON {times(m_json, MEMORY_TARGET)}",
         f"table {verdict(m_table >= MEMORY_TARGET)}, JSON {verdict(m_json >= MEMORY_TARGET)}"],
        [f"`cnnspec analyze {DEEP_SPEC}` within {DEEP_TARGET:g}× of `{SPEC}`'s time",
         f"{ms(med(deep.walls))} ÷ {ms(med(c['cnnspec'].walls))} = {deep_ratio:.2f}× (table, piped; "
         f"{deep_layers} vs {vgg_layers} layers)", verdict(deep_ratio <= DEEP_TARGET)],
        ["analysis cost independent of the number of parameters",
         f"×{vgg[-1].params / vgg[0].params:,.0f} params (VGG16 widths ×16): {param_growth:.2f}× the time",
         verdict(params_ok)],
        ["analysis cost proportional to layers",
         f"per-layer time, 1,000 → 10,000 layers: {rep_growth:.2f}× (repeat); 1,000 → 2,000 written out: "
         f"{wri_growth_gc_off:.2f}× (gc off), {wri_growth:.2f}× (gc on)", verdict(layers_ok)],
        ["`import cnnspec` and `cnnspec analyze` never import torch",
         f"torch modules loaded: {', '.join(imports['importtime_forbidden']) or 'none'}", verdict(imports["torch_free"])],
    ]
    if "cnnspec_nopyc" in c:
        t_nopyc, _ = ratio("cnnspec_nopyc")
        target_rows.append(["(informative) the time target with cnnspec compiled from source on every call",
                            f"table {times(t_nopyc, TIME_TARGET)}{by_min('cnnspec_nopyc')}", verdict(t_nopyc >= TIME_TARGET)])
    measured, verdicts = [], []
    for model in [DEEP, *OTHERS]:
        t, m = ratio(f"cnnspec_{model}")
        measured.append(f"{MODELS[model].title}: time {times(t, TIME_TARGET)}{by_min(f'cnnspec_{model}')}, "
                        f"memory {times(m, MEMORY_TARGET)}")
        verdicts.append(f"{MODELS[model].title}: time {verdict(t >= TIME_TARGET)}, memory {verdict(m >= MEMORY_TARGET)}")
    target_rows.append(["(informative) the time and memory targets on the other networks (table, piped)",
                        "; ".join(measured), "; ".join(verdicts)])
    target_rows.append(["(informative) the time target in a terminal, where rich draws the table",
                        f"{vgg_title} {times(t_tty, TIME_TARGET)}{by_min('cnnspec_tty')}, "
                        f"{deep_title} {times(t_deep_tty, TIME_TARGET)}{by_min(f'cnnspec_{DEEP}_tty')}",
                        f"{vgg_title} {verdict(t_tty >= TIME_TARGET)}, {deep_title} {verdict(t_deep_tty >= TIME_TARGET)}"])
    target_rows.append([f"(informative) {deep_title} within {DEEP_TARGET:g}× of {vgg_title}'s time, in a terminal",
                        f"{ms(med(deep_tty.walls))} ÷ {ms(med(c['cnnspec_tty'].walls))} = {deep_tty_ratio:.2f}×",
                        verdict(deep_tty_ratio <= DEEP_TARGET)])

    # ---- children, one table per network
    def child_rows(model):
        rows = []
        for k in c.values():
            if k.model != model:
                continue
            row = [f"`{k.shown}`" + (f" {k.note}" if k.note else ""), ms(med(k.walls)), ms(min(k.walls)), mib(med(k.rss)), mib(min(k.rss))]
            if k.key == torchinfo_key(model):
                row += ["1.0×", "1.0×"]
            else:
                t, m = ratio(k.key)
                row += [f"{t:.1f}×", f"{m:.1f}×"]
            rows.append(row)
        return rows

    child_header = ["command", "wall, median", "wall, min", "peak RSS, median", "peak RSS, min",
                    "torchinfo ÷ this, time", "torchinfo ÷ this, memory"]
    child_tables = []
    for model in [MODEL, DEEP, *OTHERS]:
        entry = MODELS[model]
        child_tables.append(f"### {entry.title} (`{entry.spec}`, {entry.params:,} params)\n\n"
                            + md_table(child_header, child_rows(model), "lrrrrrr"))
    child_tables = "\n\n".join(child_tables)

    # ---- phases, VGG16 and ResNet-152 side by side
    startup = med(c["python"].walls)

    def phase_parts(p):
        return [
            ("interpreter start-up and shutdown (`python -c pass`, incl. site and its .pth files)", startup),
            ("import cnnspec", p["import"]),
            ("import cnnspec.cli", p["cli_import"]),
            ("first parse of the spec: lazy imports (lark), lark's parser tables from its cache, parse", p["load_first"]),
            ("resolve + analyze (first call)", p["analyze_first"]),
            ("argparse, rendering and writing the table (cli.main warm, minus its warm parse and analyze)",
             p["main_table"] - p["load_warm"] - p["analyze_warm"]),
        ]

    walls = {SPEC: med(c["cnnspec"].walls), DEEP_SPEC: med(deep.walls)}
    parts = {spec: phase_parts(phases[spec]) for spec in (SPEC, DEEP_SPEC)}
    for spec in parts:
        parts[spec].append(("rest (console-script wrapper, freeing at exit, noise: the whole call minus the rows "
                            "above)", walls[spec] - sum(t for _, t in parts[spec])))
    phase_rows = []
    for (name, a), (_, b) in zip(parts[SPEC], parts[DEEP_SPEC]):
        phase_rows.append([name, ms(a), f"{a / walls[SPEC]:.0%}", ms(b), f"{b / walls[DEEP_SPEC]:.0%}",
                           f"{(b - a) * 1e3:+,.1f} ms"])
    phase_rows.append([f"**whole `{cli_name} analyze` call (median)**", f"**{ms(walls[SPEC])}**", "100%",
                       f"**{ms(walls[DEEP_SPEC])}**", "100%", f"**{(walls[DEEP_SPEC] - walls[SPEC]) * 1e3:+,.1f} ms**"])
    pv, pd = phases[SPEC], phases[DEEP_SPEC]
    import_rows = [[g, f"{v:.1f} ms"] for g, v in imports["import_self_ms"].items() if v >= 0.5]

    # ---- scaling
    scale_rows = [[r.series, r.label, f"{r.layers:,}", f"{r.params:,}", f"{r.text_bytes:,}", us(r.parse),
                   us(r.analyze), us(r.total), f"{per_layer(r) * 1e6:,.1f} µs", us(r.total_gc_off)]
                  for r in scaling]
    mods_main = "; ".join(f"after `main({json.dumps(k.split())})`: {', '.join(v[1]) or 'none'}"
                          for k, v in imports["sys_modules_after_main"].items())
    torch_threads = ti.stderr.strip().splitlines()[-1] if ti.stderr.strip() else ""
    path_line = ""
    if "cnnspec_path" in c:
        path_line = (f"* `{c['cnnspec_path'].shown.split()[0]}`: the `cnnspec` found on PATH, which is not the "
                     f"console script itself here (e.g. a pyenv shim that re-executes it).\n")
    nopyc_line = ""
    if "cnnspec_nopyc" in c:
        nopyc_line = ("* `PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=<copy of cnnspec> …`: the same CLI call importing a "
                      "copy of cnnspec's source that has no byte-code and may write none, so its own modules are compiled from "
                      "source on every call, as with an editable install wherever that variable is set "
                      f"(it is{'' if os.environ.get('PYTHONDONTWRITEBYTECODE') else ' not'} set where this run "
                      "was started). Every other module still loads from byte-code.\n")
    others = ", ".join(f"{MODELS[m].title} (`{MODELS[m].spec}`)" for m in OTHERS)
    cols, rows_ = TERMINAL_SIZE

    return f"""\
# Benchmarks

`cnnspec analyze {SPEC}` and `cnnspec analyze {DEEP_SPEC}` against `torchinfo.summary` on the
same networks (torchvision's {vgg_title} and {deep_title}, written by hand in PyTorch), measured in one run of
`python bench/bench_analyze.py --repeat {repeat} --write` on {info['date']}. Rerun that command to refresh
this part of the file (the sections of bench_verify.py, bench_check_code.py and bench_limits.py below are
kept); the
raw numbers go to `bench/results/bench_analyze.json` (not committed). Nothing here is a test: timings are reported, never asserted.

## Targets

{md_table(["target", "measured (medians; torchinfo ÷ cnnspec unless stated)", "verdict"], target_rows, "lll")}

Time and memory ratios compare medians of {repeat} fresh processes each, cnnspec and torchinfo on the same
network; verdicts are on the medians. "By minimums" is the same time ratio from the fastest run of each,
given because torchinfo's times vary more than cnnspec's when the machine is busy (see "How it is
measured"). The {deep_title} target compares two cnnspec calls instead: the median wall time of
`{cli_name} analyze {DEEP_SPEC}` divided by that of `{cli_name} analyze {SPEC}`, both whole fresh
processes with the table written to a file, at most {DEEP_TARGET:g}×. The "proportional to layers"
criterion used here: per-layer time grows by at most 1.5× from 1,000 to 10,000 layers in the repeat form, and
from 1,000 to 2,000 written out (about the most that a spec's 32 KiB hold) with the garbage collector off; the "not the parameters" criterion: ×256 parameters cost at
most 1.25× the time. Rows marked "(informative)" are not targets of their own: they show how a target
fares outside the case it was set for.

## What is compared

* **cnnspec**: the whole CLI call, a fresh process from interpreter start to exit: `{cli_name} analyze
  {SPEC}` (the console script pip generated, next to `{PY}`), with the default table output and
  with `--format json`, and the same table call on `{DEEP_SPEC}` ({deep_layers} layers, against {vgg_layers}
  for {vgg_title}; the spec imports its Bottleneck blocks from `specs/resnet_blocks.cnn`) and on {others}.
  stdout is a file, not a terminal, as when the output is piped or redirected; cnnspec then writes its plain
  text table without importing rich.
* **cnnspec in a terminal**: the same table call with stdin, stdout and stderr the slave side of a
  pseudo-terminal (Python's `pty` module) of {cols} columns × {rows_} rows and `TERM=xterm-256color`, as in an
  interactive shell: cnnspec sees a terminal and draws the table with rich, in colour. A thread of the
  benchmark reads everything the child writes, as a terminal emulator does; the time to display it on a
  screen is not included.
* **torchinfo**: a fresh `python -c` process doing what a user does: `import torch, torchinfo`, build the
  model on the CPU with `bench/models.py`, weight initialisation included, then
  `torchinfo.summary(model, input_size={INPUT_SIZE})`, which runs a forward pass. torchvision is not installed:
  {vgg_title} is a transcription of `torchvision.models.vgg16()` in `bench/models.py` (its float32 weights alone
  are {EXPECTED_PARAMS * 4 / 1e6:,.0f} MB); {deep_title} and the other networks are the test suite's
  torchvision-equivalent modules (`tests/support/reference_modern_a.py`, `tests/support/reference_modern_b.py`), which
  `bench/models.py` imports.
* **Reference lines**: `python -c "pass"` (interpreter start-up), `python -c "import cnnspec"`,
  `python -c "import torch"` (what any torch-based tool pays before doing anything), and the CLI with an
  empty `TMPDIR`, where lark has to rebuild the parser tables it caches there (a first call). They are listed
  with {vgg_title} and compared with torchinfo on {vgg_title}.
{path_line}{nopyc_line}
Both tools saw the same networks, checked on this run's outputs:
{chr(10).join(f"* {k}: {'yes' if v else '**NO**'}" for k, v in checks.items())}

## How it is measured

* Each command runs as its own fresh child process, {repeat} times, round-robin across the commands, after
  one unrecorded warm-up run of each. Median and minimum are reported.
* **Wall time**: `time.perf_counter()` around starting the child and reaping it, as `subprocess.run` does
  (Popen, then wait): interpreter start-up, imports, work, output and shutdown.
* **Peak memory**: the child's peak resident set size, `ru_maxrss` of the resource usage that `os.wait4()`
  returns for exactly the child it reaps. This measures the unmodified command (no launcher code inside the
  child, no dependence on which `/usr/bin/time` is installed, no `script` process in between for the
  terminal rows) and avoids `RUSAGE_CHILDREN`, whose `ru_maxrss` is the maximum over all children so far
  and so cannot be split per run.
* **Byte-code**: children run with a private `PYTHONPYCACHEPREFIX` and without `PYTHONDONTWRITEBYTECODE`,
  so after the warm-up every module, cnnspec's included, loads from a `.pyc` as in a normal installation,
  and nothing is written into the source tree.
* The phase breakdown, the `-X importtime` runs and the `sys.modules` checks are separate child processes
  in the same environment; the scaling table is measured in the benchmark's own process.
* Nothing else is stopped during the run: the load averages under "Machine" show what else the machine was
  running. torch runs its operators on {torch_threads.split(':')[-1].strip() or 'several'} threads and slows down
  most when another process takes a core, so the torchinfo rows vary more than cnnspec's (which runs on one
  thread); the minimum column is the least disturbed run.

## Machine

| | |
|:--|:--|
| date | {info['date']} |
| CPUs available (nproc) | {info['nproc']} × {info['cpu']} |
| load average (1, 5, 15 min), at start / at end | {info['load_start']} / {info.get('load_end', 'unknown')} |
| memory | {info['memory']} |
| OS | {info['platform']} |
| Python | {info['python']} (`{PY}`) |
| torch | {info['torch']}, CPU ({torch_threads}) |
| torchinfo | {info['torchinfo']} |
| cnnspec / lark / rich | {info['cnnspec']} (commit {info['commit']}) / {info['lark']} / {info['rich']} |

## Whole calls, fresh processes

"torchinfo ÷ this" compares with the torchinfo row of the same table.

{child_tables}

In a terminal, importing rich and drawing the table with it takes {ms(med(c['cnnspec_tty'].walls) - med(c['cnnspec'].walls))}
more than writing the plain-text table for {vgg_title} ({vgg_layers} layers) and {ms(med(deep_tty.walls) - med(deep.walls))} more for
{deep_title} ({deep_layers} layers): rich measures and lays out every cell, so this part grows with the rows of
the table.

## Where the CLI's time goes

The steps of `cnnspec analyze`, timed with `perf_counter` inside fresh processes through the public API and
`cnnspec.cli.main` itself (median of {repeat} after a warm-up, the two specs alternating), stdout a file as
above; the "rest" row is the whole call's median minus the other rows, and the last column is
{deep_title}'s time minus {vgg_title}'s: where {deep_title}'s extra time goes.

{md_table(["phase", f"{vgg_title}", "share", f"{deep_title}", "share", f"{deep_title} − {vgg_title}"], phase_rows, "lrrrrr")}

Of the first parse, the parse itself (a second `cnnspec.load`) takes {ms(pv['load_warm'])} for {vgg_title} and
{ms(pd['load_warm'])} for {deep_title}; a second analyze takes {ms(pv['analyze_warm'])} and {ms(pd['analyze_warm'])}.
With `--format json` the output step takes {ms(pv['main_json'] - pv['load_warm'] - pv['analyze_warm'])} and
{ms(pd['main_json'] - pd['load_warm'] - pd['analyze_warm'])}.

Import cost of the whole CLI call by package (`python -X importtime {cli_name} analyze {SPEC}`, self time of
every module summed per package, median of {repeat} runs):

{md_table(["package", "import self time"], import_rows, "lr")}

## Scaling: cost follows layers, not parameters

`cnnspec.analyze(cnnspec.parse(text))` in-process on generated specs, lark's parser already built; best of
several `timeit` repeats with the garbage collector on, as in the CLI. "parse" is `cnnspec.parse(text)` alone,
"analyze" is resolve + analyze of the parsed program, the last column is the total with the garbage collector
off. "one repeat" is `INPUT(8, 32, 32) -> [CONV(8, k=3, p=1) -> RELU] * n` (short text, many layers);
"written out" spells every layer; "VGG16 widths ×w" multiplies every channel count and hidden FC width of
`{SPEC}` by w.

{md_table(["series", "network", "layers", "params", "text bytes", "parse", "analyze", "total", "total per layer", "total, gc off"], scale_rows, "llrrrrrrrr")}

* Parameters: VGG16 with widths ×4 and ×16 has {vgg[1].params / vgg[0].params:,.0f}× and
  {vgg[2].params / vgg[0].params:,.0f}× the parameters in the same {vgg[0].layers} layers; analysing it takes
  {vgg[1].total / vgg[0].total:.2f}× and {param_growth:.2f}× the time of ×1.
* Layers, one repeat: {per_layer(rep[1]) * 1e6:,.1f} → {per_layer(rep[2]) * 1e6:,.1f} →
  {per_layer(rep[3]) * 1e6:,.1f} µs per layer from 100 to 10,000 layers (at 10 layers the fixed cost of
  parsing dominates).
* Layers, written out: {per_layer(wri[1]) * 1e6:,.1f} → {per_layer(wri[2]) * 1e6:,.1f} →
  {per_layer(wri[3]) * 1e6:,.1f} µs per layer; with the garbage collector off
  {per_layer(wri[1], True) * 1e6:,.1f} → {per_layer(wri[2], True) * 1e6:,.1f} →
  {per_layer(wri[3], True) * 1e6:,.1f} µs. Where the per-layer cost grows with the garbage collector on
  while it stays flat with it off, the extra is the work of Python's cyclic garbage collector, whose full
  collections traverse every live object, and the live parse-tree and report objects grow with the layers.

## torch is never imported

* `python -X importtime {cli_name} analyze {SPEC}`: {imports['importtime_modules']} modules imported; torch,
  torchinfo or torchvision among them: {', '.join(imports['importtime_forbidden']) or 'none'}. Packages outside
  the standard library that the CLI adds to `sys.modules`: {', '.join(f'`{p}`' for p in imports['third_party']) or 'none'}.
* `sys.modules` in a process running `cnnspec.cli.main` in-process (torch, torchinfo, torchvision):
  {mods_main}.
* `sys.modules` after `import cnnspec`: {imports['sys_modules_after_import']}.

## Reproduce

```sh
pip install -e '.[test]'                              # cnnspec, torch (CPU), torchinfo
python bench/bench_analyze.py                         # print this report (default --repeat 5)
python bench/bench_analyze.py --repeat 5 --write      # and rewrite BENCHMARKS.md
```

Takes a few minutes on 2 cores (torchinfo's runs and the 10,000-layer scaling rows dominate). The
networks torchinfo measures are in `bench/models.py` (`MODELS`: name → builder, input size, spec, parameter
count); {deep_title} and {', '.join(MODELS[m].title for m in OTHERS)} come from the test suite's reference modules.
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs of each child process (default 5)")
    ap.add_argument("--write", action="store_true",
                    help="rewrite BENCHMARKS.md and write bench/results/bench_analyze.json")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    try:
        info = machine()
        print("child processes (the warm-up fills a fresh byte-code cache: the first torch import is slow) …",
              file=sys.stderr)
        case_list = make_cases()
        measure_children(case_list, args.repeat)
        cases = {k.key: k for k in case_list}
        print("phase breakdown …", file=sys.stderr)
        phases = measure_phases(args.repeat)
        print("imports …", file=sys.stderr)
        imports = import_report(args.repeat)
        print("scaling …", file=sys.stderr)
        scaling = measure_scaling()
        info["load_end"] = load_average()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    checks = sanity(cases)
    text = build_markdown(info, cases, phases, imports, scaling, checks, args.repeat)
    print(text)
    if args.write:
        path = ROOT / "BENCHMARKS.md"
        # The other benchmarks' sections, between their own markers, are kept as they are.
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        sections = [m.group(0) for m in re.finditer(r"<!-- (bench_\w+): begin -->.*?<!-- \1: end -->", old, re.S)]
        path.write_text(text.rstrip("\n") + "".join(f"\n\n{section}" for section in sections) + "\n",
                        encoding="utf-8")
        results = BENCH / "results"
        results.mkdir(exist_ok=True)
        raw = {
            "machine": info, "repeat": args.repeat,
            "children": {k.key: {"command": k.shown, "model": k.model, "terminal": k.terminal, "wall_s": k.walls,
                                 "peak_rss_bytes": k.rss} for k in case_list},
            "phases_s": phases, "imports": imports, "scaling": [r.__dict__ for r in scaling],
            "same_network": checks,
        }
        (results / "bench_analyze.json").write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n",
                                                    encoding="utf-8")
        print(f"wrote {ROOT / 'BENCHMARKS.md'} and {results / 'bench_analyze.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
