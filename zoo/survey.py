"""Every zoo model through `zoo.models.check`, in worker processes (one model at a time each, with a timeout),
as a table: imported, exact, the import's CPU time, the first error. `python -m zoo.survey [--json FILE]`."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
from collections import Counter
from dataclasses import asdict


def _one(job):
    source, name = job
    import signal

    from zoo.models import check

    def stop(*_):
        raise TimeoutError("timed out")

    signal.signal(signal.SIGALRM, stop)
    signal.alarm(120)
    try:
        outcome = check(source, name)
        row = asdict(outcome)
        row["exact"] = outcome.exact
    except BaseException as exc:  # the survey reports everything, including what the checker itself did not expect
        row = {"source": source, "name": name, "error": f"CRASH {type(exc).__name__}: {exc}", "exact": False}
    finally:
        signal.alarm(0)
    row.pop("text", None)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-refusals", action="store_true", help="write zoo/refusals.txt from this run")
    args = parser.parse_args(argv)
    from zoo.models import timm_sample, torchvision_cnns

    jobs = [("torchvision", n) for n in torchvision_cnns()] + [("timm", n) for n in timm_sample()]
    if args.only:
        jobs = [j for j in jobs if j[1] in args.only or j[0] in args.only]
    with mp.get_context("spawn").Pool(args.workers, maxtasksperchild=20) as pool:
        rows = []
        for row in pool.imap(_one, jobs):
            rows.append(row)
            state = "exact" if row["exact"] else ("WRONG" if row.get("spec") else "refused")
            print(f"{row['source']:11} {row['name']:28} {state:7} {row.get('import_cpu') or 0:6.2f}s "
                  f"{(row.get('error') or '')[:150]}", flush=True)
    for source in ("torchvision", "timm"):
        mine = [r for r in rows if r["source"] == source]
        print(f"{source}: {sum(r['exact'] for r in mine)} exact of {len(mine)}", file=sys.stderr)
    if args.write_refusals:
        from zoo.models import HERE

        lines = ["# The zoo models cnnspec does not import yet, with the first error of each (`python -m zoo.survey",
                 "# --write-refusals` writes this file; zoo/test_zoo.py checks every line still holds).", ""]
        lines += [f"{r['source']} {r['name']}: {r['error']}" for r in rows if r.get("error")]
        (HERE / "refusals.txt").write_text("\n".join(lines) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
