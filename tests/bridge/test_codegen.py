"""Generated PyTorch source (`cnnspec.bridge.codegen.generate`, what `cnnspec lower -o model.py` writes).

Every spec's file is imported on its own (only torch installed) and must build what `cnnspec.lower` builds:
the same state_dict keys, in the same order, with the same shapes, the analysis's parameter and buffer
counts, and the analysis's output shape. LeNet's file is compared whole with a golden file and, with the
same weights, computes the same outputs as the lowered module. Small specs written here cover what the
specs directory does not: branches in unlabelled blocks, parts that a condition leaves out, every layer kind.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import cnnspec
from cnnspec.bridge.codegen import generate
from cnnspec import lower

SPECS = Path(__file__).resolve().parents[2] / "specs"
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
NETWORKS = sorted(p.stem for p in SPECS.glob("*.cnn") if p.stem != "resnet_blocks")


@functools.cache
def spec_source(name: str) -> str:
    return generate(cnnspec.load(SPECS / f"{name}.cnn"))


def load_module(path: Path):
    """Import a generated file as a module of its own (its name: the file's, made unique)."""
    name = f"cnnspec_generated_{path.stem}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def write_and_load(tmp_path: Path, name: str, source: str):
    path = tmp_path / f"{name}_model.py"
    path.write_text(source, encoding="utf-8")
    return load_module(path)


def shapes(module) -> list[tuple[str, tuple[int, ...]]]:
    return [(key, tuple(value.shape)) for key, value in module.state_dict().items()]


def imported_modules(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module)
    return names


@contextlib.contextmanager
def one_thread():
    """Small tensors run faster on one thread than they wait for two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def pep8_errors(paths: list[str]) -> int:
    """pycodestyle's count of errors at 99 columns (a test dependency). Beside its default exceptions, E203:
    black writes a slice of expressions as `x[:, self.start : self.stop]`, which PEP 8 itself gives as right
    ("ham[lower+offset : upper+offset]"), the colon spaced as the operator of lowest priority."""
    import pycodestyle

    ignore = [*pycodestyle.DEFAULT_IGNORE.split(","), "E203"]
    return pycodestyle.StyleGuide(max_line_length=99, quiet=True, ignore=ignore).check_files(paths).total_errors


def comments(source: str) -> str:
    """The text of every comment, continuation lines joined, spaces normalised."""
    text = " ".join(line.split("#", 1)[1].strip() for line in source.splitlines() if "  # " in line
                    or line.lstrip().startswith("#"))
    return re.sub(r"\s+", " ", text)


# ------------------------------------------------------------------------------------- every spec


@pytest.mark.parametrize("name", NETWORKS)
def test_generated_file_builds_what_lower_builds(name, tmp_path):
    program = cnnspec.load(SPECS / f"{name}.cnn")
    report = cnnspec.analyze(program)
    source = spec_source(name)
    assert imported_modules(source) <= {"torch", "torch.nn", "torch.nn.functional"}
    module = write_and_load(tmp_path, name, source)
    with torch.device("meta"):
        model = module.Net()
    assert shapes(model) == shapes(lower(program, device="meta"))  # names, order and shapes
    assert sum(p.numel() for p in model.parameters()) == report.totals.params
    assert sum(b.numel() for b in model.buffers()) == report.totals.buffers
    out = model.eval()(torch.empty(2, *report.input_shape, device="meta"))
    assert tuple(out.shape) == (2, *report.output_shape)
    # laid out within 99 columns, no trailing spaces, no tabs; every layer's source text in a comment
    assert all(len(line) <= 99 and line == line.rstrip() and "\t" not in line for line in source.splitlines())
    said = comments(source)
    missing = {layer.text for layer in report.layers if re.sub(r"\s+", " ", layer.text) not in said}
    assert not missing


def test_generated_files_follow_pep8(tmp_path):
    """The generated files pass pycodestyle (a test dependency) at 99 columns."""
    paths = []
    for name in NETWORKS:
        path = tmp_path / f"{name}_model.py"
        path.write_text(spec_source(name), encoding="utf-8")
        paths.append(str(path))
    assert pep8_errors(paths) == 0


# ------------------------------------------------------------------------------------- LeNet, whole


def test_lenet_source_is_the_golden_file():
    expected = (GOLDEN / "lenet_model.py").read_text(encoding="utf-8")
    assert spec_source("lenet") == expected


def test_lenet_computes_what_lower_computes(tmp_path):
    program = cnnspec.load(SPECS / "lenet.cnn")
    reference = lower(program, seed=0).eval()
    model = write_and_load(tmp_path, "lenet", generate(program)).Net().eval()
    model.load_state_dict(reference.state_dict())
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), one_thread():
        assert torch.equal(model(x), reference(x))


# ------------------------------------------------------------------------------------- how it reads


def test_resnet18_reads_as_torchvision_writes_it():
    source = spec_source("resnet18")
    for line in [
        "class Basic(nn.Module):",  # one class for every call of `basic`, with or without projection
        "def __init__(self, in_channels, planes, s=1, proj=False):",
        "self.conv1 = nn.Conv2d(in_channels, planes, kernel_size=3, stride=s, padding=1, bias=False)",
        "if proj:",
        "self.downsample = None",
        "if self.downsample is not None:",
        "x = out + identity  # line 16: ADD {…}",
        "The line numbers in the comments are those of resnet_blocks.cnn.",  # the class's own file
        "Basic(64, 128, s=2, proj=True),",
        "for block in self.layer1:",
        "self.fc = nn.Linear(512, 1000)  # line 10: fc: FC(1000)",
    ]:
        assert line in source, line
    assert re.findall(r"^class (\w+)", source, re.M) == ["Basic", "Net"]


def test_block_expressions_and_defaults_become_python():
    efficientnet = spec_source("efficientnet_b0")
    assert "padding=(k - 1) // 2" in efficientnet
    assert "SqueezeExcitation(inp * t, inp * t, max(1, inp // 4))" in efficientnet
    assert "StochasticDepth(0.2 * i / 16)" in efficientnet  # the spec's variables, by value
    assert "if res is None:\n            res = s == 1 and inp == oup" in efficientnet
    densenet = spec_source("densenet121")
    assert "*[DenseLayer(64 + 32 * i) for i in range(6)]" in densenet
    assert "x = torch.cat([x, out], dim=1)" in densenet
    googlenet = spec_source("googlenet")
    assert "x = torch.cat([branch1, branch2, branch3, branch4], dim=1)" in googlenet


def test_variables_and_class_name():
    source = generate(cnnspec.load(SPECS / "template.cnn"), class_name="SimpleCNN", N=1, M=2)
    assert "class SimpleCNN(nn.Sequential):" in source and "with N=1, M=2." in source
    assert source.count("nn.Conv2d(") == 2
    with pytest.raises(ValueError):
        generate(cnnspec.load(SPECS / "lenet.cnn"), class_name="not a name")
    with pytest.raises(cnnspec.CnnspecError):
        generate(cnnspec.load(SPECS / "lenet.cnn"), N=1)


# ------------------------------------------------------------------------- small specs, same outputs

SMALL = {
    "quoted_labels": """
        INPUT(3, 16, 16) -> trunk: ["block1-0": [CONV(8, k=3, p=1) -> BN -> RELU]
        -> "block1-1": [ADD { "conv-a": CONV(8, k=3, p=1) -> BN | [] } -> RELU]] -> GAP -> FLATTEN -> FC(4)
    """,
    "root_branches": """
        INPUT(3, 16, 16) -> CONV(8, k=3, p=1)
        -> ADD { CONV(8, k=3, p=1) -> BN -> RELU -> CONV(8, k=3, p=1) | [] } -> RELU
        -> CONCAT { CONV(4, k=1) | MAXPOOL(3, s=1, p=1) -> CONV(4, k=1) } -> FC(10)
    """,
    "unlabelled_blocks": """
        block res(c) { ADD { CONV(c, k=3, p=1) -> BN -> RELU -> CONV(c, k=3, p=1) -> BN | [] } -> RELU }
        block down(c) { ADD { CONV(c, k=3, s=2, p=1) -> BN | CONV(c, k=1, s=2) } }
        INPUT(3, 32, 32) -> CONV(16, k=3, p=1) -> res(16) * 3 -> down(32) -> res(32) * 2
        -> GAP -> FLATTEN -> FC(10)
    """,
    "every_layer": """
        let W = 8
        INPUT(3, 16, 16) -> CONV(W, k=(3, 5), p=(1, 2), d=1) -> LEAKYRELU(0.2) -> LRN(3)
        -> RESIZE(scale=2, mode=bilinear, align_corners=true) -> SPLIT(2, i=1) -> CHANNELSHUFFLE(2)
        -> STOCHASTICDEPTH(0.1) -> GELU -> TANH -> SILU -> HARDSWISH -> HARDSIGMOID -> RELU6 -> SIGMOID
        -> AVGPOOL(2, ceil=true) -> ADAPTIVEMAXPOOL((2, 3)) -> DROPOUT(0.3) -> IDENTITY
        -> FC(7, bias=false) -> SOFTMAX
    """,
    "slices": """
        block mixed(c) { CONCAT { SLICE(c // 2) -> CONV(in, k=3, p=1, g=in) | SLICE(start=c // 2) -> CONV(in, k=5, p=2) } }
        INPUT(3, 16, 16) -> CONV(12, k=3) -> mixed(12) -> CONCAT { SLICE(5, start=1) | mixed(6) } -> GAP
    """,
    "labels_and_gates": """
        block se(c) { MUL { [] | GAP -> CONV(c // 2, k=1) -> RELU -> CONV(c, k=1) -> SIGMOID } }
        INPUT(3, 16, 16) -> stem: CONV(8, k=3, p=1) -> for: BN -> CONV(8, k=1) -> se(8)
        -> head: [ADD { conv: CONV(8, k=3, p=1) | [] } -> RELU] -> tail: [CONV(4, k=1) -> RELU] * 2
        -> FLATTEN -> out: FC(3)
    """,
    "vector": "INPUT(784) -> FC(128) -> BN -> RELU -> DROPOUT(0.1) -> FC(10)",
    "optional_parts": """
        block unit(c, s=1, t=1) {
          [CONV(c * t, k=1) -> BN -> RELU] * (t != 1) -> CONV(c * t, k=3, s=s, p=1, g=in) -> BN
          -> CONV(c, k=1) -> BN
        }
        block skip(c, s=1, t=1) { [ADD { body: unit(c, s, t) | [] }] * (s == 1) -> [body: unit(c, s, t)] * (s != 1) }
        INPUT(4, 16, 16) -> skip(4) -> skip(8, s=2, t=2) -> skip(8, t=3) -> skip(8, t=3) -> skip(16, s=2)
        -> GAP -> FLATTEN -> FC(2)
    """,
    # `conv_bn` is left out of unit's first call (a count of 0), so its class is first met in the second one;
    # Unit calls it, so ConvBn must be written first (it was written after, and called with no arguments)
    "block_first_met_in_a_later_call": """
        block conv_bn(c) { CONV(c, k=1, bias=false) -> BN }
        block unit(c, t=1) { [conv_bn(c * t)] * (t != 1) -> CONV(c, k=3, p=1) -> RELU }
        INPUT(4, 8, 8) -> unit(4) -> unit(8, t=2) -> GAP -> FLATTEN -> FC(2)
    """,
    # named outputs: DenseNet's dense block (`@input`, the block's input, and every earlier output), its block
    # called in a repeat (labels inside a repeated block)
    "dense_block": """
        block dense_layer(growth) {
          BN -> RELU -> CONV(2 * growth, k=1, bias=false) -> BN -> RELU -> CONV(growth, k=3, p=1, bias=false)
        }
        block dense_block(growth) {
             x1: dense_layer(growth)
          -> CONCAT { @input | @x1 } -> x2: dense_layer(growth)
          -> CONCAT { @input | @x1 | @x2 } -> x3: dense_layer(growth)
          -> CONCAT { @input | @x1 | @x2 | @x3 }
        }
        block transition(c) { BN -> RELU -> CONV(c, k=1, bias=false) -> AVGPOOL(2) }
        INPUT(3, 16, 16) -> CONV(8, k=3, p=1) -> [dense_block(4) -> transition(10)] * 2 -> dense_block(4)
        -> GAP -> FLATTEN -> FC(5)
    """,
    # U-Net's long skips, in the network and inside a block
    "long_skips": """
        block double_conv(c) { CONV(c, k=3, p=1) -> BN -> RELU -> CONV(c, k=3, p=1) -> BN -> RELU }
        block level(c) {
          skip: double_conv(c) -> MAXPOOL(2) -> double_conv(2 * c) -> CONVT(c, k=2, s=2)
          -> CONCAT { @skip | [] } -> double_conv(c)
        }
        INPUT(3, 16, 16) -> down1: double_conv(4) -> MAXPOOL(2) -> level(8)
        -> CONVT(4, k=2, s=2) -> CONCAT { @down1 | [] } -> double_conv(4) -> head: CONV(2, k=1)
    """,
    # auxiliary heads left behind, in the network and in a block; a BN and a RELU off the path too
    "auxiliary_heads": """
        block trunk_with_aux(c) {
          trunk: [CONV(c, k=3, p=1) -> BN -> RELU] -> aux: [GAP -> FLATTEN -> FC(10)] -> @trunk -> CONV(c, k=1)
        }
        INPUT(3, 16, 16) -> stem: [CONV(8, k=3, p=1) -> RELU] -> aux: [GAP -> FLATTEN -> FC(10)]
        -> @stem -> a: CONV(8, k=1) -> BN -> RELU -> @a -> trunk_with_aux(8) -> GAP -> FLATTEN -> FC(10)
    """,
    # `@input` in a group that is itself off the path, and in the network (tests/analysis/test_graphs.py)
    "input_of_a_group": "INPUT(4, 6, 6) -> g: [CONV(4, k=3, p=1) -> RELU -> ADD { @input | [] }] -> @input -> CONV(2, k=1)",
    # a labelled output that only some calls have, read where they have it
    "optional_named_output": """
        block unit(c, proj=false) { [p: CONV(c, k=1) -> BN] * proj -> CONV(c, k=3, p=1) -> RELU -> [ADD { @p | [] }] * proj }
        INPUT(4, 8, 8) -> unit(4) -> unit(8, proj=true) -> unit(8) -> GAP -> FLATTEN -> FC(2)
    """,
    # labels that are Python's or the generated code's own names; `input` labelled, so `@input` reads it
    "labels_as_python_names": """
        INPUT(3, 8, 8) -> x: CONV(4, k=1) -> for: CONV(4, k=1) -> out: CONV(4, k=3, p=1) -> self: CONV(4, k=1)
        -> torch: CONV(4, k=1) -> parts: CONV(4, k=1) -> block: CONV(4, k=1)
        -> CONCAT { @x | @for | @out | @self | @torch | @parts | @block | @input | @x | @for | @out | @self }
        -> input: CONV(4, k=1) -> CONV(4, k=1) -> ADD { @input | [] }
    """,
    # graphs as the importer writes them (tests/bridge/test_importer.py): DenseNet-like, a cross, Res2Net's
    # slices of the input, an auxiliary head
    "imported_dense": """
        INPUT(3, 6, 6) -> x1: CONV(4, k=3, p=1) -> CONCAT { [] } -> BN -> RELU -> x2: CONV(2, k=3, p=1)
        -> CONCAT { @x1 | [] } -> BN -> RELU -> x3: CONV(2, k=3, p=1) -> CONCAT { @x1 | @x2 | [] } -> BN
        -> RELU -> CONV(2, k=3, p=1) -> CONCAT { @x1 | @x2 | @x3 | [] }
    """,
    "imported_cross": """
        INPUT(8, 4, 4) -> x1: CONV(8, k=1) -> @input -> CONV(8, k=1) -> ADD { @x1 | [] }
        -> CONCAT { [] | @x1 }
    """,
    "imported_res2": """
        INPUT(6, 5, 5) -> SLICE(2) -> x1: CONV(2, k=3, p=1) -> @input -> SLICE(4, start=2)
        -> ADD { @x1 | [] } -> x2: CONV(2, k=3, p=1) -> @input -> SLICE(start=4)
        -> CONCAT { @x1 | @x2 | [] }
    """,
    "imported_aux": """
        INPUT(3, 8, 8) -> CONV(8, k=3, p=1) -> x1: RELU -> GAP -> FLATTEN -> FC(10) -> @x1 -> CONV(4, k=1)
        -> GAP -> FLATTEN -> FC(10)
    """,
    "one_dimensional": "INPUT(1, 9) -> CONV(2, k=3) -> RESIZE(size=11, mode=linear) -> RESIZE(scale=1.5) -> FC(2)",
    "fc_on_a_map": "INPUT(3, 8, 8) -> stem: CONV(4, k=3) -> act: RELU -> head: FC(5)",
    # a repeat's index: blocks that differ in a rate, a stage that continues another's count, widths that grow
    "repeat_index": """
        block sd(c, p) { ADD { CONV(c, k=3, p=1) -> BN -> STOCHASTICDEPTH(p) | [] } }
        block stage(c, n, first=0) { [sd(c, p=0.2 * (first + i) / 6)] * n by i }
        INPUT(3, 8, 8) -> CONV(8, k=1) -> stage(8, 3) -> s2: stage(8, 3, first=3)
        -> widen: [CONV(4 * (j + 1), k=1) -> RELU] * 3 by j -> [ADD { CONV(12, k=1) * k | [] }] * 2 by k
    """,
}


@pytest.mark.parametrize("resolved", [False, True], ids=["program", "network"])
@pytest.mark.parametrize("name", sorted(SMALL))
def test_small_spec_computes_what_lower_computes(name, resolved, tmp_path):
    """A resolved Network (no block parameters known) gives plainer classes, but the same module."""
    program = cnnspec.parse(SMALL[name])
    report = cnnspec.analyze(program)
    source = generate(cnnspec.resolve(program) if resolved else program)
    reference = lower(program, seed=0).eval()
    model = write_and_load(tmp_path, name, source).Net().eval()
    assert shapes(model) == shapes(reference)
    model.load_state_dict(reference.state_dict())
    x = torch.randn(3, *report.input_shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad(), one_thread():
        assert torch.equal(model(x), reference(x))
        # the same layers run: those off the path to the output (an auxiliary head) in neither
        assert called_layers(model, x, reference) == called_layers(reference, x, model)


def called_layers(model, x, other) -> dict[str, bool]:
    """Whether each layer of `model` that `other` has too, under the same name and class, runs on `x`
    (the joins, nn.Identity in generated source and modules.Concat in the lowered one, aside)."""
    theirs = dict(other.named_modules())
    layers = {name: m for name, m in model.named_modules()
              if not list(m.children()) and type(theirs.get(name)) is type(m)}
    ran = set()
    hooks = [m.register_forward_hook(lambda module, args, out, name=name: ran.add(name))
             for name, m in layers.items()]
    try:
        model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return {name: name in ran for name in layers}


def test_unused_layers_are_built_but_not_run(tmp_path):
    """The auxiliary heads' layers are the report's unused ones: in the state_dict, never called."""
    program = cnnspec.parse(SMALL["auxiliary_heads"])
    report = cnnspec.analyze(program)
    model = write_and_load(tmp_path, "aux", generate(program)).Net().eval()
    reference = lower(program, seed=0).eval()
    model.load_state_dict(reference.state_dict())
    with torch.no_grad():
        ran = called_layers(model, torch.randn(1, 3, 16, 16), reference)
    unused = {layer.path for layer in report.layers if layer.unused}
    assert unused == {"aux.0", "aux.1", "aux.2", "3", "4", "5.aux.0", "5.aux.1", "5.aux.2"}
    assert {name for name, run in ran.items() if not run} == unused
    assert {"aux.2.weight", "5.aux.2.weight", "3.running_mean"} <= set(model.state_dict())
    # What is off the network's path is on its own scope's: the group g, never run, computes its output when
    # called, as lower's Scope does (the report marks g's layers unused for the network only).
    program = cnnspec.parse(SMALL["input_of_a_group"])
    model = write_and_load(tmp_path, "group", generate(program)).Net().eval()
    reference = lower(program, seed=0).eval()
    model.load_state_dict(reference.state_dict())
    x = torch.randn(2, 4, 6, 6, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(model.g(x), reference.g(x)) and not torch.equal(model.g(x), x)


def test_named_outputs_are_variables_named_after_their_labels():
    """A labelled output read again is kept in its label's variable; `@input` is forward's x, not written
    over; a layer off the path to the output is a comment in forward."""
    densenet = spec_source("densenet121_torchvision")
    for line in [
        "        x1 = self.x1(x)\n"
        "        out = torch.cat([x, x1], dim=1)  # line 32: CONCAT {…}\n"
        "        x2 = self.x2(out)\n"
        "        out = torch.cat([x, x1, x2], dim=1)  # line 33: CONCAT {…}\n",
        "self.x3 = DenseLayer(in_channels + 64)  # line 33: x3: dense_layer",  # 32 + 32 added up
        # a list too long for a line is built in lines that fit, not one name a line
        "        parts = [x, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15, x16, x17]\n"
        "        parts += [x18, x19, x20, x21, x22, x23, x24]\n"
        "        out = torch.cat(parts, dim=1)  # line 95: CONCAT {…}\n"
        "        return out\n",
    ]:
        assert line in densenet, line
    unet = spec_source("unet")
    for line in ["down4 = self.down4(x)\n        x = self[7](down4)\n",
                 "x = torch.cat([down4, x], dim=1)  # line 15: CONCAT {…}"]:
        assert line in unet, line
    aux = generate(cnnspec.parse(SMALL["auxiliary_heads"]))
    assert ("        stem = self.stem(x)\n"
            "        # line 5: aux: [GAP -> FLATTEN -> FC(10)] (not run: off the path to the output)\n"
            "        a = self.a(stem)\n"
            "        # line 6: BN (not run: off the path to the output)\n"
            "        # line 6: RELU (not run: off the path to the output)\n"
            "        x = self[5](a)\n") in aux
    names = generate(cnnspec.parse(SMALL["labels_as_python_names"]))
    assert ("parts2 = [x_, for_, out, self_, torch_, parts, block, x, x_, for_, out, self_]\n"
            "        out2 = torch.cat(parts2, dim=1)") in names
    assert "input = self.input(out2)\n        out2 = self[9](input)\n        out2 = input + out2" in names


def test_fc_on_a_feature_map_flattens_first():
    source = generate(cnnspec.parse(SMALL["fc_on_a_map"]))
    assert "x = torch.flatten(x, 1)\n        x = self.head(x)" in source
    assert "self.head = nn.Linear(144, 5)" in source


def test_optional_parts_are_written_under_their_conditions():
    source = generate(cnnspec.parse(SMALL["optional_parts"]))
    assert re.findall(r"^class (\w+)", source, re.M) == ["Unit", "Skip", "Net"]  # one class per block
    assert "if t != 1:" in source and "if self.s == 1:" in source and "if self.s != 1:" in source
    assert "c * t if t != 1 else in_channels" in source  # the channels after a part that may be absent


# ------------------------------------------------------------------------------------- what it needs


def test_without_black_it_says_how_to_install_it(monkeypatch, capsys):
    """black lays out the file: without it, `generate` and `cnnspec lower` say how to install it."""
    from cnnspec.cli import main

    message = "writing PyTorch source needs black: install cnnspec[torch] (pip install 'cnnspec[torch]')"
    monkeypatch.setitem(sys.modules, "black", None)  # `import black` fails as if it were not installed
    with pytest.raises(cnnspec.CnnspecError) as caught:
        generate(cnnspec.load(SPECS / "lenet.cnn"))
    assert str(caught.value) == f"cnnspec: error: {message}"
    assert main(["lower", str(SPECS / "lenet.cnn")]) == 1
    assert capsys.readouterr().err == f"cnnspec: error: {message}\n"


def test_generating_never_imports_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "import cnnspec\n"
            "from cnnspec.bridge.codegen import generate\n"
            f"assert 'class Basic(nn.Module):' in generate(cnnspec.load({str(SPECS / 'resnet18.cnn')!r}))\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_merge_is_joined_by_its_registry_entry():
    """Forward writes a merge from its entry's Join alone (ops/merge.py): a new merge kind needs nothing here."""
    merges = [op for op in cnnspec.ops.OPS if op.merge]
    assert merges and all(op.join is not None for op in merges)


def test_helper_classes_are_written_from_modules_py():
    """The classes torch.nn lacks are bridge/modules.py's own, read as text (not a copy kept in codegen)."""
    from cnnspec.bridge import modules

    def classes(source: str) -> dict[str, str]:
        return {node.name: ast.dump(node) for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}

    written = classes(generate(cnnspec.parse(SMALL["every_layer"])))
    own = classes(Path(modules.__file__).read_text(encoding="utf-8"))
    for name in ("FlattenLinear", "Split", "StochasticDepth"):
        assert written[name] == own[name], name


def test_helper_classes_follow_pep8(tmp_path):
    """Every class a TorchSource names, as the generated file writes it: modules.py has longer lines, and black
    shortens code but never a docstring."""
    from cnnspec.bridge.codegen.formatting import formatted
    from cnnspec.bridge.codegen.helpers import helper_names, helper_sources

    path = tmp_path / "helpers.py"
    code = "\n\n\n".join(helper_sources(helper_names()))
    path.write_text(formatted("import torch\nfrom torch import nn\nimport torch.nn.functional as F\n\n\n" + code + "\n"),
                    encoding="utf-8")
    assert pep8_errors([str(path)]) == 0


def test_a_comment_follows_its_code_when_the_line_fits_else_goes_above():
    source = spec_source("resnet50")
    assert "        self.bn1 = nn.BatchNorm2d(planes * base_width // 64 * groups)  # line 28: bn1: BN\n" in source
    assert ("        # line 28: conv1: CONV(planes * base_width // 64 * groups, k=1, bias=false)\n"
            "        self.conv1 = nn.Conv2d(\n") in source  # black breaks the call; the comment stays above


def test_generated_source_says_it_does_not_write_shared_layers_yet():
    text = "INPUT(2, 6, 6) -> c: CONV(2, k=3, p=1) -> RELU -> CONV(2, k=3, p=1, shares=c)\n"
    with pytest.raises(cnnspec.CnnspecError) as info:
        generate(cnnspec.parse(text, path="spec.cnn"))
    assert info.value.format() + "\n" == (
        "spec.cnn:1:76: error: `shares=c`: generated source does not write a layer that shares another's weights "
        "yet; `cnnspec.lower` builds the module, and `cnnspec verify` checks it\n"
        "    INPUT(2, 6, 6) -> c: CONV(2, k=3, p=1) -> RELU -> CONV(2, k=3, p=1, shares=c)\n"
        "                                                                               ^\n")
