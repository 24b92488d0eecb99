"""The README's examples, run, so that it cannot drift from the tool.

- Every ```console block: each line starting with `$ ` is a command, run with bash; the lines after it, up
  to the next `$ `, are its output (stdout and stderr together). They are compared exactly, trailing spaces
  and the final newline aside. A command whose output shows `: error: ` may exit non-zero; any other must
  exit 0. A block runs in one bash process, its commands in order, in a fresh copy of specs/,
  tests/fixtures/ and examples/, so that commands writing files write only there; `cnnspec` and `python`
  there are this checkout's, run by this test's Python.
- Every ```python block is a doctest, run in order with shared names, in such a copy too.
- ```text blocks (a synopsis, notation) are not run; they stay few. The block after `<!-- setup -->` is the
  set-up that .ci/run runs, line by line: two commands, read by .ci/run from the README itself.
No other kind of fenced block is allowed, so an example cannot escape the test.
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COPIED = ("specs", "tests/fixtures", "examples")  # what the examples read, copied for each block
SETUP_MARKER = "<!-- setup -->"
ZOO_MARKER = "<!-- zoo -->"  # the zoo tier's commands, which .ci/run runs in a venv of their own
TEXT_BLOCKS_AT_MOST = 6  # blocks that are not examples: keep them few
ERROR_MARK = ": error: "
FENCE = re.compile(r"^( *)```([^`\s]*)\s*$")


@dataclass(frozen=True)
class Block:
    kind: str  # the fence's info string: console, python, text, ...
    line: int  # the README line of the block's first line of content
    text: str  # the content, its fence's indentation removed
    setup: bool = False  # the block after SETUP_MARKER or ZOO_MARKER, which .ci/run runs
    marker: str = ""


@dataclass(frozen=True)
class Command:
    line: int
    command: str
    expected: str


def fenced_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, in order (fences indented in a list item included)."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, kind = opening.groups()
        before = next((line.strip() for line in reversed(lines[:i]) if line.strip()), "")
        start, i = i + 1, i + 1
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        assert i < len(lines), f"README.md:{start}: a fenced block is never closed"
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[start:i]]
        blocks.append(Block(kind, start + 1, "\n".join(body) + "\n", before in (SETUP_MARKER, ZOO_MARKER), before))
        i += 1
    return blocks


def commands(block: Block) -> list[Command]:
    """A console block's commands, each with the output that follows it."""
    found: list[Command] = []
    for offset, line in enumerate(block.text.splitlines()):
        if line.startswith("$ "):
            found.append(Command(block.line + offset, line[2:], ""))
        else:
            assert found or not line.strip(), f"README.md:{block.line + offset}: output before any `$ ` command"
            if found:
                last = found[-1]
                found[-1] = Command(last.line, last.command, last.expected + line + "\n")
    return found


def normalized(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.splitlines()).rstrip("\n")


def copy_examples(destination: Path) -> Path:
    """A working directory holding what the README's examples read."""
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, destination / name, symlinks=True)
    return destination


def environment(bin_dir: Path) -> dict:
    """This test's environment, with `cnnspec` and `python` first on PATH: this checkout, run by this Python."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, command in (("cnnspec", f'exec "{sys.executable}" -m cnnspec "$@"'),
                          ("python", f'exec "{sys.executable}" "$@"')):
        shim = bin_dir / name
        shim.write_text(f"#!/bin/sh\n{command}\n")
        shim.chmod(0o755)
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("COLUMNS", None)
    return env


def run_console(block: Block, workdir: Path, scratch: Path) -> list[str]:
    """Run a console block's commands in one bash process in `workdir`; a message for each that differs."""
    found = commands(block)
    scratch.mkdir(parents=True, exist_ok=True)
    script = ["set -o pipefail"]
    for i, command in enumerate(found):
        script += ["{", command.command, f"}} < /dev/null > '{scratch}/out{i}' 2>&1", f"echo $? > '{scratch}/rc{i}'"]
    (scratch / "block.sh").write_text("\n".join(script) + "\n", encoding="utf-8")
    subprocess.run(["bash", str(scratch / "block.sh")], cwd=workdir, env=environment(scratch / "bin"),
                   check=True, timeout=900)
    problems = []
    for i, command in enumerate(found):
        out = (scratch / f"out{i}").read_text(encoding="utf-8", errors="replace")
        status = int((scratch / f"rc{i}").read_text())
        if normalized(out) != normalized(command.expected):
            problems.append(f"README.md:{command.line}: `{command.command}` printed\n{out}\n"
                            f"--- but the README shows\n{command.expected}")
        elif status != 0 and ERROR_MARK not in command.expected:
            problems.append(f"README.md:{command.line}: `{command.command}` exited with {status}, and its output "
                            f"shows no error")
    return problems


def run_python(blocks: list[Block], workdir: Path) -> tuple[doctest.TestResults, str]:
    """Run python blocks as doctests, in order and sharing their names, in `workdir`: (results, report)."""
    parser, runner, globs, report = doctest.DocTestParser(), doctest.DocTestRunner(), {}, []
    old = os.getcwd()
    os.chdir(workdir)
    try:
        for block in blocks:
            test = parser.get_doctest(block.text, globs, f"README.md:{block.line}", str(README), block.line - 1)
            assert test.examples, f"README.md:{block.line}: a python block with no `>>>` example"
            runner.run(test, out=report.append, clear_globs=False)
            globs = test.globs  # DocTest copies the names it is given: pass them on to the next block
    finally:
        os.chdir(old)
    return runner.summarize(verbose=False), "".join(report)


BLOCKS = fenced_blocks(README.read_text(encoding="utf-8"))
CONSOLE = [b for b in BLOCKS if b.kind == "console"]


def test_every_block_is_an_example_or_says_it_is_none():
    kinds = [(b.line, b.kind) for b in BLOCKS if not b.setup and b.kind not in ("console", "python", "text")]
    assert kinds == [], "fence each block as console (commands and output), python (doctest) or text (not run)"
    assert len([b for b in BLOCKS if b.kind == "text"]) <= TEXT_BLOCKS_AT_MOST
    assert all(commands(b) for b in CONSOLE)


@pytest.mark.parametrize("block", CONSOLE, ids=[f"line{b.line}" for b in CONSOLE])
def test_console_block(block, tmp_path):
    problems = run_console(block, copy_examples(tmp_path / "work"), tmp_path / "scratch")
    assert not problems, "\n\n".join(problems)


def test_python_blocks(tmp_path):
    python = [b for b in BLOCKS if b.kind == "python"]
    assert python
    results, report = run_python(python, copy_examples(tmp_path))
    assert results.failed == 0, report
    assert results.attempted > 0


# ---------------------------------------------------------------------------------------- the runners


def test_a_changed_output_is_reported(tmp_path):
    block = Block("console", 10, "$ echo hello\nhullo\n$ echo fine\nfine\n")
    problems = run_console(block, tmp_path, tmp_path / "scratch")
    assert len(problems) == 1 and problems[0].startswith("README.md:10: `echo hello` printed\nhello\n")


def test_an_exit_status_is_checked_unless_the_output_shows_an_error(tmp_path):
    block = Block("console", 1, "$ echo oops; false\noops\n$ echo 'x: error: bad' >&2; false\nx: error: bad\n")
    assert run_console(block, tmp_path, tmp_path / "scratch") == [
        "README.md:1: `echo oops; false` exited with 1, and its output shows no error"]


def test_a_block_runs_in_its_directory_with_this_checkouts_cnnspec(tmp_path):
    work = copy_examples(tmp_path / "work")
    block = Block("console", 1, "$ pwd\n" + str(work) + "\n"
                  "$ cnnspec analyze specs/lenet.cnn | tail -n 1 | cut -c1-16\nmemory estimate,\n"
                  "$ python -c 'import cnnspec, sys; print(cnnspec.__file__, sys.executable)'\n"
                  f"{ROOT / 'cnnspec' / '__init__.py'} {sys.executable}\n")
    assert run_console(block, work, tmp_path / "scratch") == []


def test_a_changed_python_output_fails(tmp_path):
    results, report = run_python([Block("python", 5, ">>> 1 + 1\n3\n")], tmp_path)
    assert (results.failed, results.attempted) == (1, 1) and 'README.md", line 5,' in report


# ------------------------------------------------------------------------------------------- set-up


def test_the_setup_is_two_commands_that_ci_runs():
    setup = [b for b in BLOCKS if b.marker == SETUP_MARKER]
    assert len(setup) == 1, f"one block after {SETUP_MARKER}"
    lines = [line for line in setup[0].text.splitlines() if line.strip()]
    assert len(lines) == 2 and not any(line.lstrip().startswith(("#", "$")) for line in lines)
    heading = README.read_text(encoding="utf-8").split(SETUP_MARKER)[0].rstrip().splitlines()[-1]
    assert heading == "## Set-up: two commands"
    # .ci/run runs the README's lines, and has no install or test command of its own besides the profiles
    ci = (ROOT / ".ci" / "run").read_text()
    printed = subprocess.run(["bash", str(ROOT / ".ci" / "run"), "--setup-lines"], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    assert printed.splitlines() == lines
    assert 'bash -euo pipefail -c "$line"' in ci
    own = [line.strip() for line in ci.splitlines() if re.match(r"\s*(\S*python3? -m )?(pip|pytest)\b", line)]
    assert own == [], own


def test_ci_runs_the_zoo_tier_as_the_readme_says():
    zoo = [b for b in BLOCKS if b.marker == ZOO_MARKER]
    assert len(zoo) == 1, f"one block after {ZOO_MARKER}"
    lines = [line for line in zoo[0].text.splitlines() if line.strip()]
    printed = subprocess.run(["bash", str(ROOT / ".ci" / "run"), "--zoo-lines"], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    assert printed.splitlines() == lines and lines[-1] == "pytest zoo"
    assert 'bash -euo pipefail -c "$zoo"' in (ROOT / ".ci" / "run").read_text()
