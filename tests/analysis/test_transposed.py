"""Transposed convolution (CONVT), 1-D, 2-D and 3-D, against PyTorch's ConvTranspose1d/2d/3d, and U-Net
(specs/unet.cnn) against a hand-written PyTorch U-Net.

Every number is PyTorch's: shapes and parameters of hand-written modules, MACs from FlopCounterMode (total / 2),
the receptive field from autograd (the input positions one output's gradient reaches). The lowered module,
the generated source and the importer are checked against the same modules.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import math
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import cnnspec
from cnnspec.bridge.codegen import generate
from cnnspec.bridge.importer import from_torch
from cnnspec.homework.worksheet import build, exercise
from test_homework import _check_working
from torch_reference import measure

UNET = Path(__file__).resolve().parents[2] / "specs" / "unet.cnn"

# name: (the spec, written as the importer writes it; the torch module it means; the input shape)
CASES = {
    "1d_grouped": ("INPUT(4, 7) -> CONVT(6, k=3, s=2, p=1, output_padding=1, g=2)",
                   lambda: nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), (4, 7)),
    "1d_dilated": ("INPUT(3, 9) -> CONVT(5, k=4, s=3, p=2, output_padding=2, d=2, bias=false)",
                   lambda: nn.ConvTranspose1d(3, 5, 4, stride=3, padding=2, output_padding=2, dilation=2, bias=False),
                   (3, 9)),
    # output_padding 2 is not below the stride 1 but below the dilation 3, which PyTorch accepts
    "1d_padding_under_the_dilation": ("INPUT(2, 6) -> CONVT(2, k=3, output_padding=2, d=3)",
                                      lambda: nn.ConvTranspose1d(2, 2, 3, output_padding=2, dilation=3), (2, 6)),
    "2d_unet": ("INPUT(16, 8, 8) -> CONVT(8, k=2, s=2)", lambda: nn.ConvTranspose2d(16, 8, 2, stride=2), (16, 8, 8)),
    "2d_per_axis": ("INPUT(6, 5, 4) -> CONVT(9, k=(3, 2), s=(2, 3), p=(1, 0), output_padding=(1, 2), d=(2, 1), g=3)",
                    lambda: nn.ConvTranspose2d(6, 9, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                                               groups=3, dilation=(2, 1)), (6, 5, 4)),
    "2d_depthwise": ("INPUT(4, 5, 5) -> CONVT(4, k=3, s=2, p=1, g=4)",
                     lambda: nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, groups=4), (4, 5, 5)),
    "3d": ("INPUT(2, 3, 5, 6) -> CONVT(4, k=(2, 3, 3), s=(1, 2, 2), p=(0, 1, 1), output_padding=(0, 1, 1))",
           lambda: nn.ConvTranspose3d(2, 4, (2, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), output_padding=(0, 1, 1)),
           (2, 3, 5, 6)),
    "3d_grouped_dilated": ("INPUT(4, 3, 3, 3) -> CONVT(6, k=2, s=3, p=1, output_padding=1, d=2, g=2, bias=false)",
                           lambda: nn.ConvTranspose3d(4, 6, 2, stride=3, padding=1, output_padding=1, dilation=2,
                                                      groups=2, bias=False), (4, 3, 3, 3)),
}


def _torch_macs(module, shape) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.empty((1, *shape), device=next(module.parameters()).device))
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


def _hyperparameters(m):
    return (type(m), m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.output_padding,
            m.dilation, m.groups, m.bias is None, m.padding_mode)


# ------------------------------------------------------------------------------------- the counts


@pytest.mark.parametrize("name", CASES)
def test_counts_match_torch(name):
    text, build_module, shape = CASES[name]
    (layer,) = cnnspec.analyze(cnnspec.parse(text)).layers
    with torch.device("meta"):
        (record,) = measure(build_module(), shape)
    assert (layer.op, layer.output_shape, layer.params, layer.buffers, layer.macs) == \
        ("convt", record.output_shape, record.params, record.buffers, record.macs)
    # The meta device does not check output_padding against the stride and dilation; the CPU does.
    assert tuple(build_module()(torch.randn(1, *shape)).shape[1:]) == layer.output_shape


@pytest.mark.parametrize("name", CASES)
def test_macs_are_flop_counter_mode_halved_on_the_cpu_too(name):
    text, build_module, shape = CASES[name]
    report = cnnspec.analyze(cnnspec.parse(text))
    assert report.totals.macs == _torch_macs(build_module(), shape)


def test_names_and_aliases():
    """DECONV and CONVTRANSPOSE are CONVT; PyTorch's argument names and `op` are accepted; `g=in` is depthwise."""
    spellings = ["CONVT(6, k=3, s=2, p=1, output_padding=1, g=2)",
                 "DECONV(out_channels=6, kernel_size=3, stride=2, padding=1, op=1, groups=2)",
                 "convtranspose(6, kernel=3, s=2, pad=1, op=1, g=2, in=4)"]
    reports = [cnnspec.analyze(cnnspec.parse(f"INPUT(4, 7) -> {s}")) for s in spellings]
    rows = [[(l.op, l.output_shape, l.params, l.macs, l.receptive_field, l.jump) for l in r.layers] for r in reports]
    assert rows[0] == rows[1] == rows[2]
    with torch.device("meta"):
        (record,) = measure(nn.ConvTranspose1d(4, 6, 3, 2, 1, 1, 2), (4, 7))
    assert rows[0][0][1:4] == (record.output_shape, record.params, record.macs)
    depthwise = cnnspec.analyze(cnnspec.parse("INPUT(4, 5, 5) -> CONVT(in, k=3, s=2, p=1, g=in)")).layers[0]
    assert depthwise.resolved == "CONVT(in, k=3, s=2, p=1, g=in)"
    with torch.device("meta"):
        (record,) = measure(nn.ConvTranspose2d(4, 4, 3, 2, 1, groups=4), (4, 5, 5))
    assert (depthwise.output_shape, depthwise.params, depthwise.macs) == (record.output_shape, record.params,
                                                                          record.macs)


@pytest.mark.parametrize("text, call", [
    ("INPUT(1, 8, 8) -> CONVT(4, k=3, op=1)", lambda x: nn.ConvTranspose2d(1, 4, 3, output_padding=1)(x)),
    ("INPUT(1, 8, 8) -> CONVT(4, k=3, s=(1, 2), op=(1, 1))",
     lambda x: nn.ConvTranspose2d(1, 4, 3, stride=(1, 2), output_padding=1)(x)),
    ("INPUT(1, 8, 8) -> CONVT(4, k=3, s=2, d=2, op=2)",
     lambda x: nn.ConvTranspose2d(1, 4, 3, stride=2, dilation=2, output_padding=2)(x)),
    ("INPUT(1, 1, 1) -> CONVT(4, k=1, p=1)", lambda x: nn.ConvTranspose2d(1, 4, 1, padding=1)(x)),
    ("INPUT(1, 1, 1) -> CONVT(4, k=1, s=2, p=1, op=1)",
     lambda x: nn.ConvTranspose2d(1, 4, 1, stride=2, padding=1, output_padding=1)(x)),
    ("INPUT(1, 8, 8) -> CONVT(3, k=2, g=2)", lambda x: nn.ConvTranspose2d(1, 3, 2, groups=2)(x)),
    ("INPUT(4, 8, 8) -> CONVT(3, k=2, g=2)", lambda x: nn.ConvTranspose2d(4, 3, 2, groups=2)(x)),
])
def test_refuses_what_torch_refuses(text, call):
    given = tuple(int(n) for n in text.split("INPUT(")[1].split(")")[0].split(", "))
    with pytest.raises((RuntimeError, ValueError)):
        call(torch.zeros(1, *given))
    with pytest.raises(cnnspec.CnnspecError):
        cnnspec.analyze(cnnspec.parse(text))


# ------------------------------------------------------------------------- lowered and generated


@pytest.mark.parametrize("name", CASES)
def test_lowered_module_is_the_torch_module(name):
    text, build_module, shape = CASES[name]
    lowered = cnnspec.lower(cnnspec.parse(text), seed=0)
    (conv,) = [m for m in lowered.modules() if isinstance(m, nn.modules.conv._ConvTransposeNd)]
    reference = build_module()
    assert _hyperparameters(conv) == _hyperparameters(reference)
    reference.load_state_dict(conv.state_dict())
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(lowered(x), reference(x))


def _load_generated(tmp_path, name: str, source: str):
    path = tmp_path / f"{name}_model.py"
    path.write_text(source, encoding="utf-8")
    module_name = f"cnnspec_generated_transposed_{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[module_name]
    return module


@pytest.mark.parametrize("name", CASES)
def test_generated_source_builds_and_computes_the_torch_module(name, tmp_path):
    text, build_module, shape = CASES[name]
    program = cnnspec.parse(text)
    source = generate(program)
    net = _load_generated(tmp_path, name, source).Net()
    (conv,) = [m for m in net.modules() if isinstance(m, nn.modules.conv._ConvTransposeNd)]
    assert _hyperparameters(conv) == _hyperparameters(build_module())
    lowered = cnnspec.lower(program, seed=0)
    net.load_state_dict(lowered.state_dict())
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(net(x), lowered(x))


def test_generated_source_writes_torch_arguments():
    source = generate(cnnspec.parse(CASES["2d_per_axis"][0]))
    calls = [ast.unparse(node) for node in ast.walk(ast.parse(source))
             if isinstance(node, ast.Call) and ast.unparse(node.func) == "nn.ConvTranspose2d"]
    assert calls == ["nn.ConvTranspose2d(6, 9, kernel_size=(3, 2), stride=(2, 3), padding=(1, 0), "
                     "output_padding=(1, 2), groups=3, dilation=(2, 1))"]


def test_generated_block_writes_channels_as_expressions(tmp_path):
    """A block of CONV and CONVT written once as a class with parameters, as U-Net's decoder steps are."""
    text = """
    block up(c) { CONVT(c, k=2, s=2) -> CONV(c, k=3, p=1) -> RELU }
    INPUT(8, 4, 4) -> up(6) -> up(3)
    """
    program = cnnspec.parse(text)
    net = _load_generated(tmp_path, "blocks", generate(program)).Net()
    reference = nn.Sequential(nn.ConvTranspose2d(8, 6, 2, 2), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(),
                              nn.ConvTranspose2d(6, 3, 2, 2), nn.Conv2d(3, 3, 3, padding=1), nn.ReLU())
    assert [tuple(v.shape) for v in net.state_dict().values()] == \
        [tuple(v.shape) for v in reference.state_dict().values()]
    reference.load_state_dict(dict(zip(reference.state_dict(), net.state_dict().values())))
    x = torch.randn(1, 8, 4, 4)
    with torch.no_grad():
        assert torch.equal(net(x), reference(x))


# ---------------------------------------------------------------------------------------- imported


@pytest.mark.parametrize("name", CASES)
def test_import_round_trips_the_spec_text(name):
    """spec → lower → import gives the spec back, and so does the hand-written module."""
    text, build_module, shape = CASES[name]
    lowered = cnnspec.lower(cnnspec.parse(text), device="meta")
    assert from_torch(lowered, shape).splitlines()[1:] == [text]
    with torch.device("meta"):
        handwritten = nn.Sequential(build_module())
    assert from_torch(handwritten, shape).splitlines()[1:] == [text]


def test_import_round_trips_a_chain():
    text = ("INPUT(3, 8, 8) -> CONV(8, k=3, s=2, p=1) -> RELU -> CONVT(3, k=3, s=2, p=1, output_padding=1)"
            " -> CONVT(3, k=2, s=2, bias=false)")
    lowered = cnnspec.lower(cnnspec.parse(text), device="meta")
    assert " ".join(from_torch(lowered, (3, 8, 8)).splitlines()[1:]) == text


class FunctionalTransposed(nn.Module):
    """F.conv_transpose{1,2,3}d on the module's own parameters (weight: in × out/groups × kernel)."""

    def __init__(self, rank, c_in, c_out, kernel, groups, bias, **options):
        super().__init__()
        self.rank, self.groups, self.options = rank, groups, options
        self.weight = nn.Parameter(torch.empty(c_in, c_out // groups, *(kernel,) * rank))
        self.bias = nn.Parameter(torch.empty(c_out)) if bias else None

    def forward(self, x):
        function = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self.rank - 1]
        return function(x, self.weight, self.bias, groups=self.groups, **self.options)


@pytest.mark.parametrize("module, shape, text", [
    (lambda: FunctionalTransposed(1, 4, 6, 3, 2, True, stride=2, padding=1, output_padding=1), (4, 7),
     "INPUT(4, 7) -> CONVT(6, k=3, s=2, p=1, output_padding=1, g=2)"),
    (lambda: FunctionalTransposed(2, 3, 5, 2, 1, False, stride=2), (3, 6, 6),
     "INPUT(3, 6, 6) -> CONVT(5, k=2, s=2, bias=false)"),
    (lambda: FunctionalTransposed(3, 2, 4, 3, 2, True, stride=(1, 2, 2), padding=1, dilation=2), (2, 4, 4, 4),
     "INPUT(2, 4, 4, 4) -> CONVT(4, k=3, s=(1, 2, 2), p=1, d=2, g=2)"),
])
def test_functional_call_on_own_parameters_imports(module, shape, text):
    with torch.device("meta"):
        model = module()
    written = from_torch(model, shape)
    assert written.splitlines()[1:] == [text]
    report = cnnspec.analyze(cnnspec.parse(written))
    (record,) = measure(model, shape)
    assert (report.output_shape, report.totals.params, report.totals.macs) == \
        (record.output_shape, record.params, record.macs)


class UpToTheSkip(nn.Module):
    """A decoder step that asks its ConvTranspose for the skip's size (`output_size=`), as some U-Nets do."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1)

    def forward(self, x):
        return self.up(self.down(x), output_size=x.shape[2:])


@pytest.mark.parametrize("size", [8, 7])
def test_output_size_in_the_forward_is_written_as_output_padding(size):
    """8 → 4 → 7 without output_padding: output_size=8 needs 1 more, output_size=7 none."""
    with torch.device("meta"):
        model = UpToTheSkip()
    written = from_torch(model, (3, size, size))
    padding = size - 7
    expected = "CONVT(3, k=3, s=2, p=1" + (f", output_padding={padding})" if padding else ")")
    assert written.splitlines()[-1] == f"INPUT(3, {size}, {size}) -> CONV(8, k=3, s=2, p=1) -> {expected}"
    if padding:
        assert written.splitlines()[1] == (f"# note: `up` (ConvTranspose2d): output_size=({size}, {size}) is written "
                                           f"as output_padding={padding}, what it comes to for this input")
    report = cnnspec.analyze(cnnspec.parse(written))
    assert report.output_shape == tuple(model(torch.empty(1, 3, size, size, device="meta")).shape[1:]) == \
        (3, size, size)


def test_a_padding_mode_torch_refuses_is_refused_in_one_line():
    conv = nn.ConvTranspose2d(3, 4, 2)
    conv.padding_mode = "reflect"  # the constructor refuses it; set afterwards, the forward does
    with pytest.raises(cnnspec.CnnspecError) as info:
        from_torch(nn.Sequential(conv), (3, 5, 5))
    assert str(info.value) == ("cnnspec: error: input 3×5×5 does not fit Sequential: `0` (ConvTranspose2d) raised "
                               "ValueError: Only `zeros` padding mode is supported for ConvTranspose2d")


def test_wrong_input_channels_are_refused_in_one_line():
    with pytest.raises(cnnspec.CnnspecError) as info:
        from_torch(nn.Sequential(nn.ConvTranspose2d(4, 4, 2)), (3, 5, 5))
    assert str(info.value) == ("cnnspec: error: input 3×5×5 does not fit Sequential: `0` (ConvTranspose2d) expects "
                               "4 input channels but receives 3×5×5")


# ------------------------------------------------------------------------------- receptive field
#
# By brute force: with every weight 1 (no cancellation), the input positions on which the gradient of one
# output is not zero are those it reads. The receptive field is the most positions an output reads, from
# the first to the last, along each axis (the input is large enough that some outputs are not cut off by
# its border); the jump is how far the first one moves from output to output, on average. Max pooling
# sends its gradient to one position only, so the chains here pool by averaging (the same windows).


def _reach(text: str):
    """(receptive field, jump) along each spatial axis, from autograd; along one axis the outputs on the line
    through the middle of the others. The jump is A/P for the shortest period P of outputs after which the
    first input read moves A (outputs that read nothing included in the pattern)."""
    program = cnnspec.parse(text)
    model = cnnspec.lower(program, dtype=torch.float64).eval()
    for p in model.parameters():
        with torch.no_grad():
            p.fill_(1.0)
    shape = cnnspec.analyze(program).input_shape
    x = torch.ones(1, *shape, dtype=torch.float64, requires_grad=True)
    y = model(x)
    # The lines go through an output near the middle that reads some input (of a stride-2, 1×1 transposed
    # convolution every other row reads none).
    middle = min(itertools.product(*(range(n) for n in y.shape[2:])),
                 key=lambda q: (not torch.autograd.grad(y[(0, 0, *q)], x, retain_graph=True)[0].any(),
                                sum(abs(a - n // 2) for a, n in zip(q, y.shape[2:]))))
    extents, jumps = [], []
    for axis, (size, outputs) in enumerate(zip(shape[1:], y.shape[2:])):
        reads = {}  # output position → (first, last) input position read; absent: it reads nothing (only a bias)
        for o in range(outputs):
            position = list(middle)
            position[axis] = o
            (grad,) = torch.autograd.grad(y[(0, 0, *position)], x, retain_graph=True)
            read = grad[0].abs().sum(0).nonzero()[:, axis]
            if len(read):
                reads[o] = (int(read.min()), int(read.max()))
        extent = max(last - first + 1 for first, last in reads.values())
        # An output the border cuts off reads only positions within extent − 1 of it (a dilated window may
        # still start after position 0): those that read farther in are whole.
        whole = {o: first for o, (first, last) in reads.items() if first >= extent and last < size - extent}
        span = range(min(whole), max(whole) + 1)
        for period in range(1, len(span)):
            pairs = [(o, o + period) for o in span if o + period in span]
            if all((a in reads) == (b in reads) for a, b in pairs):
                moves = {whole[b] - whole[a] for a, b in pairs if a in whole and b in whole}
                if len(moves) == 1:
                    break
        extents.append(extent)
        jumps.append(Fraction(moves.pop(), period))
    return tuple(extents), tuple(jumps)


def _analysed(text: str):
    last = cnnspec.analyze(cnnspec.parse(text)).layers[-1]
    return tuple(last.receptive_field), tuple(Fraction(j) for j in last.jump)


SINGLE = [f"INPUT(1, 40) -> CONVT(1, k={k}, s={s}, p={p}, d={d})"
          for k, s, d, p in itertools.product((1, 2, 3, 4, 5), (1, 2, 3), (1, 2, 3), (0, 1)) if p < d * (k - 1) + 1]


@pytest.mark.parametrize("text", SINGLE + [
    "INPUT(1, 40) -> CONVT(1, k=3, s=2, p=1, op=1)",
    "INPUT(1, 40) -> CONVT(1, k=5, s=3, d=2, op=2)",
    "INPUT(1, 10, 12) -> CONVT(1, k=(3, 2), s=(2, 3), d=(1, 2), p=(1, 0))",
    "INPUT(1, 6, 16, 8) -> CONVT(1, k=(1, 3, 4), s=(2, 1, 3), d=(1, 2, 1))",
])
def test_a_transposed_convolution_reads_what_autograd_says(text):
    """Its receptive field is what its most-reading output reads; its stride divides the jump."""
    assert _analysed(text) == _reach(text)


@pytest.mark.parametrize("text", [
    # before it, any convolution or pooling: the inputs it reads are whole windows of theirs
    "INPUT(1, 60) -> CONV(1, k=3, s=2) -> CONVT(1, k=3, s=2)",
    "INPUT(1, 60) -> AVGPOOL(2) -> CONV(1, k=3, p=1) -> CONVT(1, k=4, s=2, p=1)",
    "INPUT(1, 60) -> CONV(1, k=4, s=2, p=1) -> CONV(1, k=4, s=2, p=1) -> CONVT(1, k=4, s=2, p=1)",
    # after it, windows that span whole strides of it: U-Net's 3×3 convolutions after a 2× up-convolution
    "INPUT(1, 40) -> CONVT(1, k=2, s=2) -> CONV(1, k=3) -> CONV(1, k=3)",
    "INPUT(1, 40) -> CONVT(1, k=3, s=3) -> CONV(1, k=4)",
    "INPUT(1, 40) -> CONVT(1, k=3, s=2, p=1, op=1) -> CONVT(1, k=3, s=2, p=1, op=1) -> CONV(1, k=3)",
    "INPUT(1, 128) -> CONV(1, k=3, p=1) -> AVGPOOL(2) -> CONV(1, k=3, p=1) -> AVGPOOL(2) -> CONV(1, k=3, p=1)"
    " -> CONVT(1, k=2, s=2) -> CONV(1, k=3, p=1) -> CONV(1, k=3, p=1) -> CONVT(1, k=2, s=2) -> CONV(1, k=3, p=1)"
    " -> CONV(1, k=3, p=1)",
    "INPUT(1, 48, 48) -> CONV(1, k=3, p=1) -> AVGPOOL(2) -> CONV(1, k=3, p=1) -> CONVT(1, k=2, s=2)"
    " -> CONV(1, k=(3, 5), p=(1, 2))",
])
def test_through_a_chain_the_receptive_field_is_exact_where_windows_line_up(text):
    assert _analysed(text) == _reach(text)


@pytest.mark.parametrize("text, coarse", [
    ("INPUT(1, 40) -> CONVT(1, k=2, s=2) -> CONV(1, k=2)", 1),
    ("INPUT(1, 40) -> CONVT(1, k=2, s=3) -> CONV(1, k=2)", 1),
    ("INPUT(1, 40) -> CONVT(1, k=4, s=3) -> CONV(1, k=3)", 1),
    ("INPUT(1, 40) -> CONVT(1, k=2, s=2) -> CONV(1, k=2) -> CONVT(1, k=3, s=2) -> CONV(1, k=2)", 1),
    ("INPUT(1, 60) -> CONV(1, k=4, s=2, p=1) -> CONV(1, k=4, s=2, p=1) -> CONVT(1, k=4, s=2, p=1)"
     " -> CONVT(1, k=4, s=2, p=1)", 4),
    ("INPUT(1, 400) -> " + " -> ".join(["CONV(1, k=3, p=1) -> AVGPOOL(2)"] * 3) + " -> CONV(1, k=3, p=1) -> "
     + " -> ".join(["CONVT(1, k=2, s=2) -> CONV(1, k=3, p=1) -> CONV(1, k=3, p=1)"] * 3), 8),
])
def test_elsewhere_after_an_upsampling_it_is_an_estimate(text, coarse):
    """Outputs of a transposed convolution are not all alike (of k=3, s=2 every other reads two inputs, the
    rest one), which one receptive field and jump per axis cannot say: a later window that does not span whole
    strides, or a second upsampling, gets Araujo's recurrence with the fractional jump, as after a RESIZE. It
    stays within one step of the coarsest grid (the jump before the first upsampling) of the truth."""
    (ours,), (our_jump,) = _analysed(text)
    (largest,), (jump,) = _reach(text)
    assert our_jump == jump
    assert ours != largest and abs(ours - largest) < coarse


# ------------------------------------------------------------------------------------- homework


@pytest.mark.parametrize("name", CASES)
def test_the_key_works_out_the_numbers(name, tmp_path):
    text, build_module, shape = CASES[name]
    ex = exercise(cnnspec.parse(text, "<spec>"), {}, None)
    ws = build(ex, ("output", "params", "products", "rf"), ())
    with torch.device("meta"):
        (record,) = measure(build_module(), shape)
    (row,) = ws.rows
    assert [cell.answer for cell in row.cells[:3]] == [record.output_shape, record.params, record.macs]
    assert sum(_check_working(cell.working, cell.answer) for cell in row.cells) >= 3


def test_slips_are_the_usual_wrong_ways():
    """The convolution's size rule, output_padding or the bias forgotten, MACs per output position: each
    gives the number that way of working gives, here computed with torch."""
    text, build_module, shape = CASES["2d_per_axis"]
    ex = exercise(cnnspec.parse(text, "<spec>"), {}, None)
    step = ex.steps[0]
    slips = {slip.message.split(":")[0]: slip.value
             for slip in step.context.op.slips(step.context, step.result, ())}
    as_conv = nn.Conv2d(6, 9, (3, 2), stride=(2, 3), padding=(1, 0), dilation=(2, 1), groups=3)
    unpadded = nn.ConvTranspose2d(6, 9, (3, 2), stride=(2, 3), padding=(1, 0), dilation=(2, 1), groups=3)
    no_bias = nn.ConvTranspose2d(6, 9, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(2, 1),
                                 groups=3, bias=False)
    x = torch.empty(1, *shape, device="meta")
    output = tuple(build_module().to("meta")(x).shape[2:])
    assert slips == {
        "the convolution's size rule": (9, *as_conv.to("meta")(x).shape[2:]),
        "output_padding forgotten": (9, *unpadded.to("meta")(x).shape[2:]),
        "bias forgotten": sum(p.numel() for p in no_bias.parameters()),
        "counted per output position, as for a convolution": 9 * (6 // 3) * 3 * 2 * math.prod(output),
    }


# ------------------------------------------------------------------------------------------ U-Net


class DoubleConv(nn.Sequential):
    def __init__(self, c_in, c):
        super().__init__(nn.Conv2d(c_in, c, 3, padding=1), nn.ReLU(), nn.Conv2d(c, c, 3, padding=1), nn.ReLU())


class UNet(nn.Module):
    """Ronneberger et al.'s U-Net (Fig. 1) with padded 3×3 convolutions, written by hand: the skip of each
    level concatenated before the up-convolution's output, as torch.cat([skip, up], 1)."""

    def __init__(self, channels=1, classes=2, widths=(64, 128, 256, 512, 1024)):
        super().__init__()
        self.downs = nn.ModuleList()
        c_in = channels
        for c in widths[:-1]:
            self.downs.append(DoubleConv(c_in, c))
            c_in = c
        self.pool = nn.MaxPool2d(2)
        self.bottom = DoubleConv(widths[-2], widths[-1])
        self.ups = nn.ModuleList(nn.ConvTranspose2d(c, c // 2, 2, stride=2) for c in reversed(widths[1:]))
        self.convs = nn.ModuleList(DoubleConv(c, c // 2) for c in reversed(widths[1:]))
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x):
        skips = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for up, conv, skip in zip(self.ups, self.convs, reversed(skips)):
            x = conv(torch.cat([skip, up(x)], 1))
        return self.head(x)


def _counts(model, shape):
    model = model.to("meta").eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.empty(1, *shape, device="meta"))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2, tuple(out.shape[1:])


def _unet():
    return cnnspec.load(UNET)


def test_unet_is_the_papers_unet():
    report = cnnspec.analyze(_unet())
    with torch.device("meta"):
        reference = UNet()
    assert report.input_shape == (1, 512, 512)
    assert (report.totals.params, report.totals.macs, report.output_shape) == _counts(reference, (1, 512, 512))
    assert report.totals.buffers == 0 == sum(b.numel() for b in reference.buffers())
    # the layers that count, in the reference's forward order
    with torch.device("meta"):
        records = [r for r in measure(reference, (1, 512, 512)) if r.kind in ("Conv2d", "ConvTranspose2d")]
    ours = [l for l in report.layers if l.op in ("conv", "convt")]
    assert [(l.op, l.output_shape, l.params, l.macs) for l in ours] == \
        [({"Conv2d": "conv", "ConvTranspose2d": "convt"}[r.kind], r.output_shape, r.params, r.macs) for r in records]


def test_unet_lowers_to_the_same_counts():
    with torch.device("meta"):
        reference = UNet()
    assert _counts(cnnspec.lower(_unet(), device="meta"), (1, 512, 512)) == _counts(reference, (1, 512, 512))
    assert cnnspec.verify(_unet()).ok


def test_unet_generated_source_builds_the_reference(tmp_path):
    """Generated source writes the long skips as variables (`down4 = ...`, `torch.cat([down4, x], dim=1)`);
    the nest of branches the importer writes is the same network and generates source that builds the
    reference's parameters too."""
    generated = _load_generated(tmp_path, "unet_named", generate(_unet()))
    with torch.device("meta"):
        net, reference = generated.Net(), UNet()
    assert _counts(net, (1, 512, 512)) == _counts(reference, (1, 512, 512))
    report = cnnspec.analyze(_unet())
    nested = from_torch(cnnspec.lower(_unet(), device="meta"), report.input_shape)
    assert "@" not in nested
    again = cnnspec.analyze(cnnspec.parse(nested))
    assert [(l.op, l.output_shape, l.params, l.macs, l.receptive_field) for l in again.layers] == \
        [(l.op, l.output_shape, l.params, l.macs, l.receptive_field) for l in report.layers]
    generated = _load_generated(tmp_path, "unet", generate(cnnspec.parse(nested)))
    with torch.device("meta"):
        net, reference = generated.Net(), UNet()
    assert _counts(net, (1, 512, 512)) == _counts(reference, (1, 512, 512))
