"""Inputs at and beyond every limit: each ends in a result or in a clean error, whole message asserted.

Nesting 10,000 deep, expressions of thousands of terms, chains of 5,000 written layers and 20,000 repeated
ones, receptive fields that stride far past the input, thousands of errors, and files that are no spec
(devices, FIFOs, UTF-16, a megabyte of NULs, imports of files outside the spec's directory). How long each
takes and how much memory it needs is bench/bench_limits.py's (BENCHMARKS.md); here are the messages.
"""

from __future__ import annotations

import json
import os

import pytest

import cnnspec
from cnnspec.cli import main


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def spec(tmp_path, monkeypatch):
    """Write `text` as spec.cnn in a fresh directory and analyze it there: (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)

    def analyze(text: str, capsys, *options):
        (tmp_path / "spec.cnn").write_text(text, encoding="utf-8")
        return run(["analyze", "spec.cnn", *options], capsys)
    return analyze


def layers_of(out: str) -> list[dict]:
    return json.loads(out)["layers"]


# ------------------------------------------------------------------------------------------- depth


def test_brackets_10000_deep(spec, capsys):
    text = "INPUT(1, 8, 8) ->\n" + "[\n" * 10_000 + "RELU\n"  # closed, it would be over the size limit
    assert spec(text, capsys) == (1, "", "spec.cnn:52:1: error: brackets nest more than 50 levels deep here; a spec "
                                         "nests at most 50 (parentheses, `[…]` and `{…}` together)\n    [\n    ^\n")


def test_parentheses_10000_deep(spec, capsys):
    text = "let x =\n" + "(\n" * 10_000 + "1\nINPUT(1, 8, 8) -> CONV(x, k=1)"
    assert spec(text, capsys) == (1, "", "spec.cnn:52:1: error: brackets nest more than 50 levels deep here; a spec "
                                         "nests at most 50 (parentheses, `[…]` and `{…}` together)\n    (\n    ^\n")


def test_brackets_50_deep_analyze(spec, capsys):
    code, out, err = spec("INPUT(1, 8, 8) -> " + "[" * 49 + "RELU" + "]" * 49, capsys, "-f", "json")
    assert (code, err, [layer["op"] for layer in layers_of(out)]) == (0, "", ["relu"])


def test_blocks_calling_blocks_60_deep(spec, capsys):
    text = "block b0() { RELU }\n" + "".join(f"block b{i}() {{ b{i - 1}() }}\n" for i in range(1, 60))
    assert spec(text + "INPUT(1, 8, 8) -> b59()", capsys) == (
        1, "", "spec.cnn:11:15: error: blocks, brackets and the blocks they call nest more than 50 levels deep here; "
               "a network nests at most 50\n"
               "    block b10() { b9() }\n"
               "                  ^~~~\n")


# ------------------------------------------------------------------------------------- expressions


@pytest.mark.parametrize("expression, channels", [
    (" + ".join(["1"] * 6_000) + " - 5_990", 10),  # a left-deep tree 6,000 levels deep
    ("- " * 10_000 + "6", 6),  # 10,000 signs, right-deep
    ("8 if " + " and ".join(["true"] * 3_000) + " else 2", 8),
    ("1 if false else " * 1_500 + "4", 4),  # a chain of 1,500 conditions
    ("3 * 1" + " * 1" * 5_000 + " // 1", 3),
])
def test_long_expressions_evaluate(expression, channels, spec, capsys):
    code, out, err = spec(f"let x = {expression}\nINPUT(1, 8, 8) -> CONV(x, k=1)", capsys, "-f", "json")
    assert (code, err, layers_of(out)[0]["output_shape"]) == (0, "", [channels, 8, 8])


def test_5001_nots(spec, capsys):
    code, out, err = spec("let x = " + "not " * 5_001 + "true\nINPUT(1, 8, 8) -> [RELU] * x -> FLATTEN", capsys,
                          "-f", "json")
    assert (code, err, [layer["op"] for layer in layers_of(out)]) == (0, "", ["flatten"])


def test_a_value_that_grows_too_large_midway(spec, capsys):
    text = "let x = 1" + " * 1000" * 7 + " // 1000\nINPUT(1, 8, 8) -> CONV(x, k=1)"
    assert spec(text, capsys) == (
        1, "", "spec.cnn:1:9: error: this value has 19 digits, more than the 18 a spec allows\n"
               "    let x = 1 * 1000 * 1000 * 1000 * 1000 * 1000 * 1000 * 1000 // 1000\n"
               "            ^" + "~" * 42 + "\n")  # 1 * 1000 * … * 1000, the product that overflows


# ------------------------------------------------------------------------------------------ length


def test_5000_written_layers(spec, capsys):
    code, out, err = spec("INPUT(1, 8, 8)" + " -> BN" * 5_000 + " -> FLATTEN -> FC(2)", capsys, "-f", "json")
    layers = layers_of(out)
    assert (code, err, len(layers), layers[-1]["params"]) == (0, "", 5_002, 2 * 64 + 2)


def test_20000_repeated_layers_are_the_limit(spec, capsys):
    code, out, err = spec("INPUT(1, 8, 8) -> [[RELU] * 1000] * 20", capsys, "-f", "json")
    assert (code, err, len(layers_of(out))) == (0, "", 20_000)
    assert spec("INPUT(1, 8, 8) -> [[RELU] * 1000] * 20 -> FC(2)", capsys) == (
        1, "", "spec.cnn:1:43: error: the network expands to more than 20,000 layers\n"
               "    INPUT(1, 8, 8) -> [[RELU] * 1000] * 20 -> FC(2)\n"
               "                                              ^~~~~\n")


def test_a_repeat_of_nothing_costs_nothing(spec, capsys):
    code, out, err = spec("INPUT(1, 8, 8) -> [[[] * 10000] * 10000] * 10000 -> FLATTEN -> FC(10)", capsys,
                          "-f", "json")
    assert (code, err, [layer["op"] for layer in layers_of(out)]) == (0, "", ["flatten", "fc"])


def test_a_merge_of_4000_branches(spec, capsys):
    code, out, err = spec("INPUT(1, 8, 8) -> ADD { " + " | ".join(["RELU"] * 4000) + " }", capsys)
    merge_row = next(line for line in out.splitlines() if "ADD" in line)
    assert (code, err) == (0, "")
    assert merge_row == "  4001   ADD {…}  ← 1, 2, 3, 4, 5, 6, …, 4000    1×8×8        0      0            64   " \
                        "1×1 /1×1"
    assert max(len(line) for line in out.splitlines()) < 200


def test_600_blocks_and_600_variables(spec, capsys):
    text = "".join(f"let c{i} = {i % 7 + 1}\nblock b{i}() {{ CONV(c{i}, k=1) }}\n" for i in range(600))
    code, out, err = spec(text + "INPUT(1, 8, 8) -> b599() -> b6()", capsys, "-f", "json")
    assert (code, err, [layer["output_shape"] for layer in layers_of(out)]) == (0, "", [[5, 8, 8], [7, 8, 8]])


def test_a_spec_longer_than_32_kib(spec, capsys):
    assert spec("INPUT(1, 8, 8)" + " -> RELU" * 100_000, capsys) == (
        1, "", "spec.cnn: error: the file is larger than 32,768 bytes, the most a spec and the files it imports may "
               "hold together\n")


def test_a_text_longer_than_32_kib_in_python():
    with pytest.raises(cnnspec.CnnspecError) as error:
        cnnspec.parse("INPUT(1, 8, 8)" + " -> RELU" * 10_000)
    assert str(error.value) == ("<string>: error: the spec is 80,014 characters long, more than the 32,768 a spec "
                                "and the files it imports may hold together")


# ------------------------------------------------------------------------------------------ fields


def test_a_receptive_field_beyond_1e18_is_infinite(spec, capsys):
    code, out, err = spec("INPUT(1, 1, 1) -> [MAXPOOL(1, s=100000000)] * 600", capsys, "-f", "json")
    layers = layers_of(out)
    assert (code, err) == (0, "")
    assert [(layer["receptive_field"], layer["jump"]) for layer in layers[:3]] == [
        ([1, 1], [10**8, 10**8]), ([1, 1], [10**16, 10**16]), ([1, 1], [None, None])]
    table = run(["analyze", "spec.cnn"], capsys)[1]
    assert "      3     MAXPOOL(1, s=100000000)            1×1×1        0      0             1" \
           "                           1×1 />1e18×>1e18\n" in table


def test_a_receptive_field_beyond_1e18_after_an_adaptive_pool(spec, capsys):
    code, out, err = spec("INPUT(1, 3, 3) -> ADAPTIVEAVGPOOL(2) -> [MAXPOOL(1, s=100000000)] * 600 -> "
                          "CONV(2, k=1)", capsys, "-f", "json")
    layers = layers_of(out)
    assert (code, err) == (0, "")
    assert (layers[1]["jump"], layers[3]["jump"], layers[-1]["receptive_field"]) == (
        [1.5e8, 1.5e8], [None, None], [2, 2])


def test_a_network_that_strides_far_past_its_input(spec, capsys):
    code, out, err = spec("INPUT(3, 4, 4) -> [MAXPOOL(1, s=2)] * 10000", capsys)
    assert (code, err) == (0, "")
    assert len(out) < 2_000_000 and max(len(line) for line in out.splitlines()) < 160


# ------------------------------------------------------------------------------------------ errors


def test_thousands_of_unknown_arguments_stop_after_20_errors(spec, capsys):
    text = "INPUT(1, 8, 8) -> CONV(4, k=1,\n" + "".join(f" zz{i}=1,\n" for i in range(3000)) + ")"
    expected = "".join(f"spec.cnn:{i + 2}:2: error: CONV has no argument `zz{i}`\n"
                       f"     zz{i}=1,\n"
                       f"     ^{'~' * (1 + len(str(i)))}\n" for i in range(20))
    note = "cnnspec: note: stopped after 20 errors; correct these and run again\n"
    assert spec(text, capsys) == (1, "", expected + note)


def test_twenty_errors_are_all_reported_with_no_note(spec, capsys):
    text = "".join(f"let v{i} = u{i}\n" for i in range(20)) + "INPUT(1, 8, 8) -> RELU"
    code, out, err = spec(text, capsys)
    assert (code, out, err.count(": error: "), "note" in err) == (1, "", 20, False)
    assert err.startswith("spec.cnn:1:10: error: undefined variable `u0`; define it with `let u0 = ...` or on the "
                          "command line with `--set u0=...`\n    let v0 = u0\n             ^~\n")


def test_a_long_line_is_quoted_around_the_caret(spec, capsys):
    text = "INPUT(1, 8, 8)" + " -> RELU" * 40 + " -> CONV(4, k=99)"
    assert spec(text, capsys) == (
        1, "", "spec.cnn:1:339: error: CONV(4, k=99): input is 1×8×8, smaller than the 99×99 kernel\n"
               "    …" + "-> RELU " * 18 + "-> CONV(4, k=99)\n"  # the line's last 160 characters, the caret in them
               "    " + " " * 148 + "^~~~~~~~~~~~~\n")


# ------------------------------------------------------------------------------------------ files


def test_a_megabyte_of_nuls(spec, tmp_path, capsys):
    (tmp_path / "zeros.cnn").write_bytes(b"\0" * (1 << 20))
    assert run(["analyze", "zeros.cnn"], capsys) == (
        1, "", "zeros.cnn: error: this is a binary file, not a spec (a .cnn file is text)\n")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device(device, capsys):
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist on this system")
    assert run(["analyze", device], capsys) == (
        1, "", f"{device}: error: this is a binary file, not a spec (a .cnn file is text)\n")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_is_named(encoding, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.cnn").write_bytes("INPUT(1, 8, 8) -> RELU\n".encode(encoding))
    assert run(["analyze", "net.cnn"], capsys) == (
        1, "", "net.cnn: error: this file is UTF-16 text: save it as UTF-8 (a .cnn file is UTF-8 text)\n")


def test_a_fifo_without_a_writer_reads_as_empty(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    os.mkfifo("pipe.cnn")
    assert run(["analyze", "pipe.cnn"], capsys) == (
        1, "", "pipe.cnn:1:1: error: the spec is empty: it needs at least a network such as "
               "`INPUT(1, 28, 28) -> FC(10)`\n")


def test_importing_a_fifo_is_refused_at_once(spec, tmp_path, capsys):
    os.mkfifo(tmp_path / "blocks.cnn")
    assert spec('import "blocks.cnn"\nINPUT(1, 8, 8) -> RELU', capsys) == (
        1, "", 'spec.cnn:1:8: error: cannot import "blocks.cnn" (blocks.cnn): is not a regular file (a device, a '
               'pipe or a socket), so it cannot be imported\n'
               '    import "blocks.cnn"\n'
               '           ^~~~~~~~~~~~\n')


@pytest.mark.parametrize("written, reason", [
    ("/etc/passwd", "an import names a .cnn file by its path relative to the importing file, not an absolute path"),
    ("~/blocks.cnn", "an import names a .cnn file by its path relative to the importing file, not an absolute path"),
    ("notes.txt", "only .cnn files can be imported"),
    ("../lib/blocks.cnn", "it is outside the directory of hw/spec.cnn, and a spec imports only files within its own "
                          "directory"),
    ("sub/../../lib/blocks.cnn", "it is outside the directory of hw/spec.cnn, and a spec imports only files within "
                                 "its own directory"),
])
def test_imports_stay_inside_the_specs_directory(written, reason, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.cnn").write_text("block b() { RELU }\n")
    (tmp_path / "hw").mkdir()
    (tmp_path / "hw" / "spec.cnn").write_text(f'import "{written}"\nINPUT(1, 8, 8) -> RELU\n')
    assert run(["analyze", "hw/spec.cnn"], capsys) == (
        1, "", f'hw/spec.cnn:1:8: error: cannot import "{written}": {reason}\n'
               f'    import "{written}"\n'
               f'           ^{"~" * (len(written) + 1)}\n')


def test_a_symlink_out_of_the_directory_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.cnn").write_text("let key = 42\n")
    (tmp_path / "hw").mkdir()
    os.symlink(tmp_path / "secret.cnn", tmp_path / "hw" / "blocks.cnn")
    (tmp_path / "hw" / "spec.cnn").write_text('import "blocks.cnn"\nINPUT(1, 8, 8) -> CONV(key, k=1)\n')
    assert run(["analyze", "hw/spec.cnn"], capsys)[2].startswith(
        'hw/spec.cnn:1:8: error: cannot import "blocks.cnn": it is outside the directory of hw/spec.cnn')


def test_imports_share_the_size_limit(spec, tmp_path, capsys):
    (tmp_path / "a.cnn").write_text("let a = 1\n" + "# " + "x" * 20_000 + "\n")
    (tmp_path / "b.cnn").write_text("let b = 1\n" + "# " + "x" * 20_000 + "\n")
    assert spec('import "a.cnn"\nimport "b.cnn"\nINPUT(1, 8, 8) -> RELU', capsys) == (
        1, "", 'spec.cnn:2:8: error: cannot import "b.cnn" (b.cnn): the file is larger than the 12,703 bytes left of '
               '32,768 bytes, the most a spec and the files it imports may hold together\n'
               '    import "b.cnn"\n'
               '           ^~~~~~~\n')


# --------------------------------------------------------------------------------- what users write


def test_an_input_with_a_batch_written_in_warns(spec, capsys):
    code, out, err = spec("INPUT(1, 3, 32, 32) -> CONV(8, k=3) -> GAP -> FLATTEN -> FC(10)", capsys)
    assert (code, err) == (0, "")
    assert out.endswith("\nspec.cnn:1:1: warning: INPUT has 4 sizes: is the first one a batch? INPUT takes one "
                        "sample: INPUT(3, 32, 32)\n"
                        "    INPUT(1, 3, 32, 32) -> CONV(8, k=3) -> GAP -> FLATTEN -> FC(10)\n"
                        "    ^~~~~~~~~~~~~~~~~~~\n")


@pytest.mark.parametrize("shape", ["1, 16, 112, 112", "2, 3, 32, 32", "1, 28, 28"])
def test_real_inputs_do_not_warn(shape, spec, capsys):
    code, out, err = spec(f"INPUT({shape}) -> CONV(8, k=3)", capsys)
    assert (code, err, "warning" in out) == (0, "", False)


def test_python_variables_are_keyword_arguments():
    program = cnnspec.parse("let N = 1\nINPUT(1, 8, 8) -> [RELU] * N")
    assert len(list(cnnspec.resolve(program, N=3).body[0].body)) == 1
    assert cnnspec.resolve(program, N=3) == cnnspec.resolve(program, {"N": 3})
    assert len(cnnspec.analyze(program, N=3).layers) == 3


def test_an_unknown_python_variable_is_not_called_an_option():
    with pytest.raises(cnnspec.CnnspecError) as error:
        cnnspec.analyze(cnnspec.parse("let N = 1\nINPUT(1, 8, 8) -> [RELU] * N"), NN=3)
    assert str(error.value) == "cnnspec: error: the spec has no variable `NN` to set; did you mean `N`?"
