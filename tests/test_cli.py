"""The command line and the Python API: output formats, the JSON contract, warnings, variables, no torch.

Expected numbers here are worked out by hand in the test (the seeds' formulas), never taken from cnnspec.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import cnnspec
from cnnspec.cli import main

ROOT = Path(__file__).resolve().parent.parent
LENET = ROOT / "specs" / "lenet.cnn"
GOLDEN = Path(__file__).resolve().parent / "golden"


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(tmp_path, text, name="net.cnn"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ JSON


def test_json_contract_lenet(capsys):
    code, out, err = run(["analyze", LENET, "--format", "json"], capsys)
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert {"input_shape", "output_shape", "layers", "totals", "warnings"} <= set(data)
    assert data["input_shape"] == [1, 28, 28] and data["output_shape"] == [10]
    first = data["layers"][0]
    # CONV(6, k=5, p=2) on 1×28×28: 6·(1·5²+1) params, 6·28²·1·5² MACs, 6·28·28 outputs.
    expected_first = {
        "index": 1, "op": "conv", "text": "CONV(6, k=5, p=2)", "line": 4, "column": 4,
        "input_shape": [1, 28, 28], "output_shape": [6, 28, 28], "params": 6 * (1 * 5**2 + 1), "buffers": 0,
        "macs": 6 * 28**2 * 5**2, "flops": 2 * 6 * 28**2 * 5**2, "activations": 6 * 28 * 28,
        "receptive_field": [5, 5], "jump": [1, 1],
    }
    assert {k: first[k] for k in expected_first} == expected_first
    assert [layer["op"] for layer in data["layers"]] == [
        "conv", "sigmoid", "avgpool", "conv", "sigmoid", "avgpool", "flatten", "fc", "sigmoid", "fc", "sigmoid", "fc"]
    assert [layer["index"] for layer in data["layers"]] == list(range(1, 13))
    macs = 6 * 28**2 * 25 + 16 * 10**2 * 6 * 25 + 400 * 120 + 120 * 84 + 84 * 10
    outputs = (6 * 28 * 28) * 2 + 6 * 14 * 14 + (16 * 10 * 10) * 2 + 16 * 5 * 5 + 400 + 120 * 2 + 84 * 2 + 10
    assert data["totals"] == {
        "params": 61706, "buffers": 0, "macs": macs, "flops": 2 * macs, "activations": outputs,
        "param_bytes": 61706 * 4, "buffer_bytes": 0, "input_bytes": 28 * 28 * 4, "activation_bytes": outputs * 4,
        "total_bytes": 61706 * 4 + 28 * 28 * 4 + outputs * 4, "unused_params": 0,
    }
    assert data["warnings"] == []


def test_json_batch_and_dtype(capsys):
    code, out, _ = run(["analyze", LENET, "-f", "json", "--batch", "8", "--dtype", "float16"], capsys)
    totals = json.loads(out)["totals"]
    assert code == 0
    assert totals["param_bytes"] == 61706 * 2
    assert totals["activation_bytes"] == 8 * totals["activations"] * 2
    assert totals["input_bytes"] == 8 * 28 * 28 * 2


def test_buffer_bytes_count_the_int64_step_counter(tmp_path, capsys):
    # BatchNorm2d(16): running mean and var in the dtype, num_batches_tracked as int64.
    path = write(tmp_path, "INPUT(3, 8, 8) -> CONV(16, k=3) -> BN")
    totals = json.loads(run(["analyze", path, "-f", "json", "--dtype", "bfloat16"], capsys)[1])["totals"]
    assert totals["buffers"] == 2 * 16 + 1
    assert totals["buffer_bytes"] == 2 * 16 * 2 + 8


# ------------------------------------------------------------------------------------- warnings


WARNING_CASES = {
    "untiled stride": (
        "INPUT(1, 25, 25) -> CONV(6, k=2, s=2)",
        "CONV(6, k=2, s=2): stride 2 does not tile the 25×25 input: its last row and last column are never used",
        21),
    "untiled pool with padding": (
        "INPUT(1, 28) -> MAXPOOL(4, s=3, p=1)",
        # 28 + 2·1 padded, windows of 4 every 3: the last window ends at 28, so only the last input
        # element (29th of 30) is unread; the padding after it does not count.
        "MAXPOOL(4, s=3, p=1): stride 3 does not tile the 28 input: its last element is never used", 17),
    "even kernel with same": (
        "INPUT(1, 28, 28) -> CONV(6, k=4, p=same)",
        "CONV(6, k=4, p=same): `p=same` with the even kernel 4×4 pads unevenly: PyTorch puts the extra padding "
        "after, not before", 34),
    "implicit flatten": (
        "INPUT(1, 28, 28) -> CONV(4, k=5) -> FC(10)",
        "FC(10): its 4×24×24 input is flattened to 2304 features first; write FLATTEN before it to say so", 37),
}


@pytest.mark.parametrize("name", WARNING_CASES)
def test_warnings_in_json(name, tmp_path, capsys):
    text, message, column = WARNING_CASES[name]
    code, out, err = run(["analyze", write(tmp_path, text), "-f", "json"], capsys)
    assert (code, err) == (0, "")
    assert json.loads(out)["warnings"] == [{"line": 1, "column": column, "message": message}]


def test_warning_is_reported_once_under_repeats(tmp_path, capsys):
    path = write(tmp_path, "INPUT(1, 99, 99) -> [MAXPOOL(2)] * 3")
    warnings = json.loads(run(["analyze", path, "-f", "json"], capsys)[1])["warnings"]
    # 99 → 49 drops one row and column; 49 → 24 drops one again (same message, same place): once.
    assert warnings == [{"line": 1, "column": 22, "message":
                         "MAXPOOL(2): stride 2 does not tile the 99×99 input: its last row and last column are "
                         "never used"},
                        {"line": 1, "column": 22, "message":
                         "MAXPOOL(2): stride 2 does not tile the 49×49 input: its last row and last column are "
                         "never used"}]


def test_warnings_follow_the_table(tmp_path, capsys):
    path = write(tmp_path, "INPUT(1, 28, 28) -> CONV(4, k=5) -> FC(10)")
    code, out, err = run(["analyze", path], capsys)
    assert (code, err) == (0, "")
    assert out.endswith(
        f"{path}:1:37: warning: FC(10): its 4×24×24 input is flattened to 2304 features first; write FLATTEN "
        "before it to say so\n"
        "    INPUT(1, 28, 28) -> CONV(4, k=5) -> FC(10)\n"
        "                                        ^~~~~~\n")


# ------------------------------------------------------------------------------- other formats


def test_csv(capsys):
    code, out, _ = run(["analyze", LENET, "-f", "csv"], capsys)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 13
    assert lines[0] == ("index,op,text,line,column,path,input_shape,output_shape,params,buffers,macs,flops,"
                        "activations,receptive_field,jump,inputs")
    assert lines[1] == '1,conv,"CONV(6, k=5, p=2)",4,4,0,1x28x28,6x28x28,156,0,117600,235200,4704,5x5,1x1,'
    # AVGPOOL(2, s=2) after a 5×5 window with jump 1: 5 + (2−1)·1 = 6, jump 2.
    assert lines[3] == '3,avgpool,"AVGPOOL(2, s=2)",4,36,2,6x28x28,6x14x14,0,0,0,0,1176,6x6,2x2,'


def test_markdown(capsys):
    code, out, _ = run(["analyze", LENET, "-f", "markdown"], capsys)
    assert code == 0
    assert "| 1 | `CONV(6, k=5, p=2)` | 6×28×28 | 156 | 117,600 | 4,704 | 5×5 /1×1 |" in out.splitlines()
    assert "|  | **total** |  | **61,706** | **416,520** | **15,002** |  |" in out.splitlines()


def test_table_golden(capsys):
    """The rich table, whole, at a fixed width (regenerate by hand after a deliberate change)."""
    from rich.console import Console

    report = cnnspec.analyze(cnnspec.load("specs/template.cnn" if Path("specs").exists() else
                                          ROOT / "specs" / "template.cnn"))
    console = Console(width=200, record=True, file=open("/dev/null", "w"), color_system=None)
    from cnnspec.render import text as render

    console.print(render.table(report))
    text = console.export_text()
    assert text == (GOLDEN / "template_table.txt").read_text(encoding="utf-8")


def test_table_shows_repeats_and_totals(capsys):
    code, out, _ = run(["analyze", ROOT / "specs" / "template.cnn"], capsys)
    assert code == 0
    assert "▸ [[CONV -> RELU] * N -> POOL] * M" in out.splitlines()[5]
    assert "52,376" in out  # total params: 896 + 5·9,248 + 5,130 + 110


# -------------------------------------------------------------------------------- variables, API


def test_set_overrides_let(capsys):
    code, out, _ = run(["analyze", ROOT / "specs" / "template.cnn", "-f", "json", "--set", "N=3", "--set", "M=2"],
                       capsys)
    layers = json.loads(out)["layers"]
    assert code == 0
    assert [layer["op"] for layer in layers].count("conv") == 3 * 2
    # 32×32 → 16 → 8 after two pools; the first FC sees 32·8·8 features.
    fc = [layer for layer in layers if layer["op"] == "fc"][0]
    assert fc["input_shape"] == [32 * 8 * 8] and fc["params"] == 32 * 8 * 8 * 10 + 10


def test_repeat_count_zero_leaves_group_out():
    report = cnnspec.analyze(cnnspec.parse("INPUT(3, 8, 8) -> [CONV(4, k=3) -> RELU] * 0 -> FLATTEN -> FC(2)"))
    assert [layer.op for layer in report.layers] == ["flatten", "fc"]
    assert report.layers[1].params == 3 * 8 * 8 * 2 + 2


def test_python_api_variables_and_defaults():
    program = cnnspec.parse("let C = 8\ndefault CONV(C, k=3, p=1)\nINPUT(3, 16, 16) -> [CONV -> RELU] * N -> GAP")
    report = cnnspec.analyze(program, N=2, C=4)
    convs = [layer for layer in report.layers if layer.op == "conv"]
    assert [c.params for c in convs] == [4 * 3 * 9 + 4, 4 * 4 * 9 + 4]
    assert report.output_shape == (4, 1, 1)
    assert report.totals.params == sum(c.params for c in convs)
    assert json.loads(report.to_json())["output_shape"] == [4, 1, 1]


def test_case_insensitive_names_and_unicode_arrows():
    a = cnnspec.analyze(cnnspec.parse("input(1, 12, 12) → Conv(4, K=3) → relu → [maxpool(2)] × 2"))
    b = cnnspec.analyze(cnnspec.parse("INPUT(1, 12, 12) -> CONV(4, k=3) -> RELU -> [POOL(2)] * 2"))
    assert [l.output_shape for l in a.layers] == [l.output_shape for l in b.layers] == [
        (4, 10, 10), (4, 10, 10), (4, 5, 5), (4, 2, 2)]


def test_resolved_ir_ignores_how_it_was_written():
    a = cnnspec.resolve(cnnspec.parse("let K = 3\nINPUT(1, 8, 8) -> CONV(4, k=K)"))
    b = cnnspec.resolve(cnnspec.parse("default CONV(k=3)\nINPUT(1, 8, 8)\n  -> CONV(4)"))
    assert a == b


def test_expression_arithmetic():
    report = cnnspec.analyze(cnnspec.parse("let W = 64\nINPUT(3, 32, 32) -> CONV(W * 2 + (W // 2) - 6 / 3, k=(5 - 2))"))
    assert report.layers[0].output_shape == (64 * 2 + 32 - 2, 30, 30)


def test_report_renders_in_rich_and_jupyter():
    report = cnnspec.analyze(cnnspec.load(LENET))
    assert "| 12 | `FC(10)` | 10 | 850 | 840 | 10 |" in report._repr_markdown_()
    from rich.console import Console

    console = Console(width=120, record=True, file=open("/dev/null", "w"))
    console.print(report)
    assert "61,706" in console.export_text()


# ------------------------------------------------------------------------------ receptive field


def test_receptive_field_follows_araujo():
    # r_out = r_in + (k − 1)·j_in, j_out = j_in·s (Araujo et al., Distill 2019), k dilated: d·(k − 1) + 1.
    report = cnnspec.analyze(cnnspec.parse(
        "INPUT(1, 64, 64) -> CONV(4, k=3) -> MAXPOOL(2) -> CONV(4, k=3, d=2) -> CONV(4, k=(3, 1), s=2)"))
    fields = [(l.receptive_field, l.jump) for l in report.layers]
    assert fields == [
        ((3, 3), (1, 1)),
        ((3 + 1 * 1, 3 + 1 * 1), (2, 2)),
        ((4 + (5 - 1) * 2, 4 + (5 - 1) * 2), (2, 2)),
        ((12 + 2 * 2, 12 + 0), (4, 4)),
    ]


def test_vector_network_has_no_receptive_field():
    report = cnnspec.analyze(cnnspec.parse("INPUT(784) -> FC(10)"))
    assert report.layers[0].receptive_field == () and report.layers[0].jump == ()


# --------------------------------------------------------------------------------- no torch here


def test_analyze_never_imports_torch_or_black():
    code = ("import sys\n"
            "from cnnspec.cli import main\n"
            "for fmt in ('table', 'json', 'csv', 'markdown'):\n"
            "    assert main(['analyze', 'specs/vgg16.cnn', '-f', fmt]) == 0\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'black'))\n"
            "sys.stderr.write(repr(loaded))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stderr == "[]"


def test_python_dash_m(tmp_path):
    path = write(tmp_path, "INPUT(1, 28, 28) -> CONV(32, k=5)")
    result = subprocess.run([sys.executable, "-m", "cnnspec", "analyze", str(path), "-f", "csv"],
                            capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.splitlines()[1] == \
        '1,conv,"CONV(32, k=5)",1,21,0,1x28x28,32x24x24,832,0,460800,921600,18432,5x5,1x1,'


def test_readme_documents_every_layer_kind():
    from cnnspec import ops

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for op in ops.OPS:
        assert f"`{op.name.upper()}" in readme, op.name
        for alias in op.aliases:
            assert f"`{alias.upper()}`" in readme or f"`{alias.upper()}" in readme, alias


def test_plain_table_golden(capsys, monkeypatch):
    """Piped output is the plain drawing of the table, whole (regenerate by hand after a deliberate change)."""
    monkeypatch.chdir(ROOT)
    code, out, err = run(["analyze", "specs/template.cnn"], capsys)
    assert (code, err) == (0, "")
    assert out == (GOLDEN / "template_plain.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("size, kernel, stride", [(1, 2, 2), (3, 4, 2), (5, 4, 4), (2, 3, 3)])
def test_ceil_mode_window_larger_than_input(size, kernel, stride):
    """In ceil mode PyTorch gives one output where the window is larger than the (padded) input."""
    import torch

    expected = torch.nn.functional.max_pool1d(torch.empty(1, 1, size, device="meta"), kernel, stride,
                                              ceil_mode=True).shape[-1]
    report = cnnspec.analyze(cnnspec.parse(f"INPUT(1, {size}) -> MAXPOOL({kernel}, s={stride}, ceil=true)"))
    assert report.output_shape == (1, expected)


def test_terminal_table_colours_scope_rows():
    import io

    from rich.console import Console

    from cnnspec.render import text as render

    report = cnnspec.analyze(cnnspec.load(ROOT / "specs" / "template.cnn"))
    out = io.StringIO()
    Console(file=out, width=200, force_terminal=True, color_system="standard").print(render.table(report))
    scope_line = next(line for line in out.getvalue().splitlines() if "[[CONV -> RELU] * N -> POOL] * M" in line)
    assert scope_line.startswith("\x1b[36m")  # cyan
    assert "\x1b[36m" not in next(line for line in out.getvalue().splitlines() if "FLATTEN" in line)


def test_functions_in_expressions():
    # Python's own rules: round() rounds half to even (as torchvision's int(round(inp * t)) does).
    report = cnnspec.analyze(cnnspec.parse(
        "block se(c) { MUL { [] | GAP -> CONV(max(8, c // 4), k=1) -> RELU -> CONV(c, k=1) -> SIGMOID } }\n"
        "INPUT(16, 4, 4) -> se(16) -> CONV(round(2.5) + round(3.5) + ceil(7 / 2.0) + floor(1.9) + abs(-2)"
        " + min(3, 1, 2), k=1)"))
    assert [l.output_shape[0] for l in report.layers if l.op == "conv"] == [8, 16, 2 + 4 + 4 + 1 + 2 + 1]


def test_sources_compile_without_warnings():
    """An invalid escape in a docstring only warns once, when the byte-code is first written: compile all."""
    import warnings

    for path in sorted((ROOT / "cnnspec").glob("*.py")):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
