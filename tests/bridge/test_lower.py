"""Lowering to PyTorch and verifying at runtime: every spec builds on the meta device with the analysis's
counts and names, and `cnnspec verify` finds every layer in agreement (and says so when one is not)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import cnnspec
from cnnspec.cli import main
from cnnspec import lower
from cnnspec import verify

SPECS = Path(__file__).resolve().parents[2] / "specs"
NETWORKS = sorted(p.stem for p in SPECS.glob("*.cnn") if p.stem != "resnet_blocks")


@pytest.mark.parametrize("name", NETWORKS)
def test_every_spec_verifies_on_meta(name):
    result = verify(cnnspec.load(SPECS / f"{name}.cnn"))
    bad = [(c.index, c.path, c.mismatches(), c.expected, c.measured) for c in result.layers if not c.ok]
    assert not bad
    assert result.ok and result.output_shape == result.expected_output_shape


def test_lowered_module_follows_the_spec_names_and_counts():
    program = cnnspec.load(SPECS / "resnet18.cnn")
    report = cnnspec.analyze(program)
    module = lower(program, device="meta")
    names = dict(module.named_modules())
    assert all(layer.path in names for layer in report.layers)
    assert isinstance(names["layer2.0.downsample.0"], torch.nn.Conv2d)
    assert isinstance(names["layer1.0.conv1"], torch.nn.Conv2d) and names["layer1.0.conv1"].weight.is_meta
    assert sum(p.numel() for p in module.parameters()) == 11_689_512
    assert sum(b.numel() for b in module.buffers()) == 9_620


def test_seed_makes_initialisation_reproducible():
    program = cnnspec.load(SPECS / "lenet.cnn")
    a, b, c = (lower(program, seed=seed) for seed in (7, 7, 8))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.state_dict()["0.weight"], c.state_dict()["0.weight"])


def test_dtype_and_variables():
    module = lower(cnnspec.load(SPECS / "template.cnn"), dtype=torch.float64, N=1, M=2)
    assert all(p.dtype == torch.float64 for p in module.parameters())
    assert sum(isinstance(m, torch.nn.Conv2d) for m in module.modules()) == 1 * 2


def test_verify_on_cpu_runs_a_random_input():
    result = verify(cnnspec.load(SPECS / "lenet.cnn"), device="cpu", batch=3)
    assert result.ok and result.finite is True and result.batch == 3


def test_verify_reports_a_wrong_count(capsys):
    """A registry rule that miscounts (here: the bias of FC forgotten) is caught, cell by cell, exit 1."""
    from cnnspec import ops

    fc = ops.get("fc")
    original = fc.rule

    def forgets_the_bias(ctx):
        result = original(ctx)
        return ops.LayerResult(result.shape, params=result.params - ctx.args["out"], macs=result.macs,
                               window=result.window, extent=result.extent)

    object.__setattr__(fc, "rule", forgets_the_bias)  # the registry entry is frozen; the test patches it
    try:
        code = main(["verify", str(SPECS / "lenet.cnn")])
        out = capsys.readouterr().out
    finally:
        object.__setattr__(fc, "rule", original)
    assert code == 1
    assert "✗ 48,120 (analysis: 48,000)" in out
    assert out.rstrip().endswith("9 of 12 layers agree: 8 (params), 10 (params), 12 (params)")


def test_torch_missing_is_a_clear_error(tmp_path):
    """Without torch, verify says how to install it; analyze does not need it."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from cnnspec.cli import main\n"
            f"sys.exit(main(['verify', {str(SPECS / 'lenet.cnn')!r}]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr == "cnnspec: error: this needs PyTorch: install cnnspec[torch] (pip install 'cnnspec[torch]')\n"


# ------------------------------------------------------------------ random specs through `verify`

from hypothesis import HealthCheck, given, note, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from profiles import examples  # noqa: E402

from test_properties import networks  # noqa: E402  (random valid chains of every layer kind)
from test_properties_blocks import network as branchy_networks  # noqa: E402  (blocks, residuals, concats)


@settings(max_examples=examples(150),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(st.one_of(networks().map(lambda net: net.text), branchy_networks().map(lambda case: case[0])))
def test_random_specs_verify(text):
    """Random valid specs, chains and branches, lowered and run: every layer agrees with the analysis."""
    note(text)
    result = verify(cnnspec.parse(text))
    assert [(c.index, c.mismatches()) for c in result.layers if not c.ok] == []
    assert result.ok


# ------------------------------------------------------------------ the import command


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"


def test_import_command_writes_a_spec(tmp_path, capsys):
    out = tmp_path / "lenet.cnn"
    assert main(["import", str(FIXTURES / "d2l_lenet.py") + ":LeNet", "--input", "1,28,28", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""  # the spec went to the file
    report = cnnspec.analyze(cnnspec.load(out))
    assert report.totals.params == 61_706 and report.output_shape == (10,)


def test_import_command_error_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.py"
    assert main(["import", str(missing), "--input", "1,28,28"]) == 1
    assert capsys.readouterr() == ("", f"{missing}: error: no such file\n")


def test_import_help_warns_that_it_runs_code(capsys):
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    assert "which runs its code" in " ".join(capsys.readouterr().out.split())


def test_lower_command_writes_importable_source(tmp_path, capsys):
    import importlib.util

    out = tmp_path / "model.py"
    assert main(["lower", str(SPECS / "template.cnn"), "--set", "N=1", "-o", str(out)]) == 0
    spec = importlib.util.spec_from_file_location("generated_template", out)
    generated = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generated)
    with torch.device("meta"):
        model = generated.Net()
    expected = lower(cnnspec.load(SPECS / "template.cnn"), device="meta", N=1)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in expected.state_dict().items()}
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.modules()) == 1 * 3


@pytest.mark.parametrize("label", ["train", "forward", "plan"])
def test_a_label_torch_modules_already_use_is_refused(label, tmp_path, capsys):
    path = tmp_path / "net.cnn"
    path.write_text(f"INPUT(3, 8, 8) -> {label}: BN -> RELU")
    assert main(["verify", str(path)]) == 1
    column = 19 + len(label) + 2
    assert capsys.readouterr().err == (
        f"{path}:1:{column}: error: label `{label}` is already an attribute of the lowered torch module "
        f"(`.{label}`), so it cannot name a layer there; choose another label\n"
        f"    INPUT(3, 8, 8) -> {label}: BN -> RELU\n"
        f"    {' ' * (column - 1)}^~\n")


def test_verify_switches_the_garbage_collector_back_on():
    """verify pauses the cyclic collector while torch runs the network; it must be back on afterwards,
    after a failure too."""
    import gc

    assert gc.isenabled()
    assert verify(cnnspec.parse("INPUT(1, 8, 8) -> CONV(2, k=3) -> FLATTEN -> FC(3)")).ok
    assert gc.isenabled()
    with pytest.raises(cnnspec.CnnspecError):
        verify(cnnspec.parse("INPUT(1, 8, 8) -> tr: CONV(2, k=3) -> train: FC(3)"))
    assert gc.isenabled()


def test_package_functions_lower_and_verify():
    """`cnnspec.lower(net, ...)` and `cnnspec.verify(net)` as the issue writes them: functions of the package,
    not its modules (lowering.py and verification.py), and torch-free until called."""
    import cnnspec.bridge.lower  # noqa: F401 (importing the modules must not replace the functions)
    import cnnspec.bridge.verify  # noqa: F401

    program = cnnspec.load(SPECS / "lenet.cnn")
    model = cnnspec.lower(program, device="meta", seed=0)
    assert sum(p.numel() for p in model.parameters()) == 61706  # LeNet-5, d2l: the lecture's total
    result = cnnspec.verify(program)
    assert result.ok and len(result.layers) == 12 and result.device == "meta"


def test_a_dtype_by_name():
    module = lower(cnnspec.load(SPECS / "lenet.cnn"), dtype="float16")
    assert {p.dtype for p in module.parameters()} == {torch.float16}
    with pytest.raises(ValueError) as error:
        lower(cnnspec.load(SPECS / "lenet.cnn"), dtype="int7")
    assert str(error.value) == "dtype must be a torch.dtype or one of float32, float16, bfloat16, float64, not 'int7'"


@pytest.mark.parametrize("device", ["foo", "", "cuda:x"])
def test_a_device_pytorch_does_not_know(device, capsys):
    assert main(["verify", str(SPECS / "lenet.cnn"), "--device", device]) == 1
    assert capsys.readouterr() == ("", f"cnnspec: error: `{device}` is not a device PyTorch knows: write cpu, meta, "
                                       "cuda or another of torch's device types\n")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_device_this_pytorch_cannot_use(capsys):
    assert main(["verify", str(SPECS / "lenet.cnn"), "--device", "cuda"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("cnnspec: error: the device `cuda` cannot be used: this PyTorch or this "
                                        "machine has no cuda (torch says: ") and err.endswith(")\n")
    assert err.count("\n") == 1


def test_torch_without_numpy_says_nothing_about_it():
    """torch warns at import when NumPy is missing; cnnspec, which does not use it, keeps that from its users."""
    code = ("import sys, runpy; sys.modules['numpy'] = None; sys.argv = ['cnnspec', 'verify', sys.argv[1]]; "
            "runpy.run_module('cnnspec', run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code, str(SPECS / "lenet.cnn")], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.endswith("12 of 12 layers agree\n")
