"""`cnnspec verify specs/vgg16.cnn` on the meta device against `python -c "import torch"` alone.

Targets (issue 4): the whole verify call within 2x the time of importing torch, and within 2x its peak
memory (no weight is materialised on the meta device). Each command runs as a fresh process, several
times; wall time around the child, peak RSS from os.wait4 for exactly that child.

    python bench/bench_verify.py [--repeat N] [--write]

With --write, the section between the markers in BENCHMARKS.md is replaced (the rest of the file is
bench_analyze.py's).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sections import write_section

ROOT = Path(__file__).resolve().parent.parent


def run(argv: list[str], env: dict) -> tuple[float, int]:
    """Wall seconds and peak RSS in bytes of one fresh child process."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {child.stderr.read().decode()[-500:]}")
    return elapsed, usage.ru_maxrss * 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="rewrite this section of BENCHMARKS.md")
    args = parser.parse_args(argv)

    cache = tempfile.mkdtemp(prefix="cnnspec-bench-pyc-")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache  # every module from byte-code, as in a normal installation
    cnnspec = shutil.which("cnnspec") or "cnnspec"
    # What torch alone takes to count VGG16 on the meta device, as a user would with FlopCounterMode: the
    # hand-written torchvision VGG16 of bench/models.py, one forward pass, no cnnspec.
    by_hand = ("import sys; sys.path.insert(0, 'bench'); import torch; from models import vgg16; "
               "from torch.utils.flop_counter import FlopCounterMode\n"
               "with torch.device('meta'): m = vgg16().eval()\n"
               "with torch.no_grad(), FlopCounterMode(display=False) as c: m(torch.empty(1, 3, 224, 224, device='meta'))\n"
               "assert c.get_total_flops() > 0")
    cases = {
        "import torch": [sys.executable, "-c", "import torch"],
        "torch alone": [sys.executable, "-c", by_hand],
        "cnnspec verify specs/vgg16.cnn": [cnnspec, "verify", "specs/vgg16.cnn"],
    }
    results: dict[str, list[tuple[float, int]]] = {name: [] for name in cases}
    for argv_ in cases.values():  # warm-up, unrecorded: byte-code and lark's parser cache
        run(argv_, env)
    for _ in range(args.repeat):
        for name, argv_ in cases.items():
            results[name].append(run(argv_, env))
    shutil.rmtree(cache, ignore_errors=True)

    def median(name, i):
        return statistics.median(r[i] for r in results[name])

    torch_t, torch_m = median("import torch", 0), median("import torch", 1)
    verify_t, verify_m = median("cnnspec verify specs/vgg16.cnn", 0), median("cnnspec verify specs/vgg16.cnn", 1)
    lines = [
        "## `cnnspec verify` against `import torch` (issue 4)",
        "",
        f"`python bench/bench_verify.py --repeat {args.repeat} --write` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}: fresh processes, medians of {args.repeat}.",
        "",
        "| command | wall time | peak RSS |",
        "|:--|--:|--:|",
        f"| `python -c \"import torch\"` | {torch_t * 1000:,.0f} ms | {torch_m / 2**20:,.1f} MiB |",
        f"| torch alone: VGG16 written in torch, one meta forward under `FlopCounterMode` | "
        f"{median('torch alone', 0) * 1000:,.0f} ms | {median('torch alone', 1) / 2**20:,.1f} MiB |",
        f"| `cnnspec verify specs/vgg16.cnn` (meta device) | {verify_t * 1000:,.0f} ms | {verify_m / 2**20:,.1f} MiB |",
        "",
        "| target | measured | verdict |",
        "|:--|--:|:--|",
        f"| verify within 2× the time of `import torch` | {verify_t / torch_t:.2f}× | "
        f"{'met' if verify_t < 2 * torch_t else '**not met**'} |",
        f"| verify within 2× the peak memory of `import torch` | {verify_m / torch_m:.2f}× | "
        f"{'met' if verify_m < 2 * torch_m else '**not met**'} |",
        "",
        "Most of the time beyond `import torch` is torch's own first use of the meta device, which `torch alone`",
        "pays as well: the meta kernels of `linear` and of elementwise ops are Python references that import",
        "`torch._dynamo` on their first call (0.7–1 s here; `python -X importtime -c \"import torch;",
        "torch.relu(torch.empty(1, device='meta'))\"`). verify analyzes the spec before importing torch and",
        "pauses Python's cyclic garbage collector while torch is imported and the network is lowered and run,",
        "since each automatic collection there walks torch's whole heap (0.2–0.3 s saved); that is why it can",
        "be faster than the hand-written script, which keeps the collector on.",
    ]
    section = "\n".join(lines)
    print(section)
    if args.write:
        write_section("bench_verify", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
