"""Importing zoo models: the CPU time of `cnnspec.from_torch` on every model of the zoo tier that imports
(torchvision's 68 CNNs and the timm sample), after torch and the model are built, beside torchinfo.summary on
the same model in the same process (meta device, the same input). Run in the zoo venv (README, "Zoo tier"):
`python bench/bench_import.py [--write]` writes its section of BENCHMARKS.md."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.sections import write_section  # noqa: E402


def _measure(job):
    source, name = job
    import warnings

    warnings.filterwarnings("ignore")
    import torch
    import torchinfo

    import cnnspec
    from zoo.models import build

    model, shape = build(source, name)
    row = {"source": source, "name": name}
    start = time.process_time()
    try:
        cnnspec.from_torch(model, shape)
    except cnnspec.CnnspecError:
        return None
    row["cnnspec"] = time.process_time() - start
    start = time.process_time()
    try:
        with torch.no_grad():
            torchinfo.summary(model, input_size=(1, *shape), device="meta", verbose=0)
        row["torchinfo"] = time.process_time() - start
    except Exception as exc:  # torchinfo's own failures are part of the comparison
        row["torchinfo"] = None
        row["torchinfo_error"] = type(exc).__name__
    return row


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    import torch
    import torchvision
    import timm

    from zoo.models import timm_sample, torchvision_cnns

    jobs = [("torchvision", n) for n in torchvision_cnns()] + [("timm", n) for n in timm_sample()]
    with mp.get_context("spawn").Pool(2, maxtasksperchild=25) as pool:
        rows = [r for r in pool.imap(_measure, jobs) if r is not None]
    ours = sorted(r["cnnspec"] for r in rows)
    theirs = sorted(r["torchinfo"] for r in rows if r["torchinfo"] is not None)
    failed = [r for r in rows if r["torchinfo"] is None]
    slowest = sorted(rows, key=lambda r: r["cnnspec"], reverse=True)[:5]

    def quantile(values, q):
        return values[min(len(values) - 1, int(q * len(values)))]

    body = f"""## Importing zoo models (`bench/bench_import.py`)

CPU time of `cnnspec.from_torch(model, shape)` on each of the {len(rows)} zoo models that import (of
{len(jobs)}: torchvision's CNNs and `zoo/timm_sample.txt`), built on the meta device, after torch and the model
are built, two worker processes of 25 models each (the first import in a process also builds cnnspec's tables
of torch classes); beside it, `torchinfo.summary` (which only prints a table, writes no spec and checks
nothing) on the same model and input, on the meta device, in the same process. torch {torch.__version__},
torchvision {torchvision.__version__}, timm {timm.__version__}, Python {platform.python_version()}.

| | median | 90th percentile | slowest |
|---|---|---|---|
| cnnspec import | {statistics.median(ours):.3f} s | {quantile(ours, 0.9):.3f} s | {ours[-1]:.3f} s |
| torchinfo.summary | {statistics.median(theirs):.3f} s | {quantile(theirs, 0.9):.3f} s | {theirs[-1]:.3f} s |

Target: median ≤ 0.5 s, none above 3 s. Slowest: {", ".join(f"{r['name']} {r['cnnspec']:.2f} s" for r in slowest)}.
torchinfo failed on {len(failed)} of them{": " + ", ".join(sorted({r["name"] for r in failed})[:8]) if failed else ""}.
"""
    print(body)
    if args.write:
        write_section("import", body)


if __name__ == "__main__":
    main()
