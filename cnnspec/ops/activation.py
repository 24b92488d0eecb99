"""Activations: element-wise functions that keep their input's shape and have no parameters (and SCALE, a
product with a constant)."""

from __future__ import annotations

from .entry import (FromTorch, OpSpec, OwnModule, SourceArg, TorchSource, Unimportable, layer_text, nn_class,
                    plain_from_call, plain_from_module, plain_module, same_shape, unless)
from .params import REQUIRED, Param


def _activation(name: str, doc: str, torch_name: str, *params: Param, positional=(), aliases=None, module=None,
                source=None, from_module=None, functions=(), from_call=None, **more) -> OpSpec:
    """A layer that keeps its input's shape; by default torch.nn's `torch_name`, built with no argument and
    written as the bare name, as are the `functions` that compute it."""
    from_module = from_module or plain_from_module(name.upper())
    from_call = from_call or plain_from_call(name.upper())
    more.setdefault("elementwise", True)
    return OpSpec(name, doc, same_shape, params, positional, aliases=aliases or {}, example=name.upper(),
                  module=module or plain_module(torch_name), source=source or TorchSource(f"nn.{torch_name}"),
                  from_modules=(FromTorch((f"torch.nn.{torch_name}",), from_module),),
                  from_functions=(FromTorch(functions, from_call),) if functions else (), **more)


def _leakyrelu_from_module(m, ctx):
    return [layer_text("LEAKYRELU", unless(m.negative_slope, 0.01))]


def _leakyrelu_from_call(ctx):
    a = ctx.bind(("input", "negative_slope"), {"negative_slope": 0.01})
    return [layer_text("LEAKYRELU", unless(a["negative_slope"], 0.01))]


def _gelu_from_module(m, ctx):
    if getattr(m, "approximate", "none") != "none":
        ctx.note(f"approximate={m.approximate!r}; cnnspec writes GELU (shapes and counts are the same)")
    return ["GELU"]


def _gelu_from_call(ctx):
    if ctx.bind(("input", "approximate"), {"approximate": "none"})["approximate"] != "none":
        ctx.note("approximate='tanh'; cnnspec writes GELU (shapes and counts are the same)")
    return ["GELU"]


def _softmax_text(dim, ctx):
    rank = len(ctx.full_in)
    if dim is None:
        dim = 0 if rank in (0, 1, 3) else 1  # torch's legacy implicit choice
    if dim % rank != 1:
        raise Unimportable(f"it works on axis {dim} of the {rank}-axis input; cnnspec's SOFTMAX works on the "
                           f"channels (dim=1)")
    return ["SOFTMAX"]


def _softmax_from_module(m, ctx):
    return _softmax_text(m.dim, ctx)


def _softmax_from_call(ctx):
    return _softmax_text(ctx.bind(("input", "dim"), {"dim": None})["dim"], ctx)


ENTRIES = (
    _activation("relu", "rectified linear unit", "ReLU",
                functions=("torch.nn.functional.relu", "torch.nn.functional.relu_", "torch.relu", "torch.relu_",
                           "Tensor.relu", "Tensor.relu_")),
    _activation("sigmoid", "logistic sigmoid", "Sigmoid",
                functions=("torch.sigmoid", "torch.nn.functional.sigmoid", "Tensor.sigmoid", "Tensor.sigmoid_")),
    _activation("tanh", "hyperbolic tangent", "Tanh",
                functions=("torch.tanh", "torch.nn.functional.tanh", "Tensor.tanh", "Tensor.tanh_")),
    _activation("leakyrelu", "leaky ReLU", "LeakyReLU",
                Param("slope", "float", "negative slope", 0.01, aliases=("negative_slope",)),
                positional=("slope",), module=lambda args, shape, out: nn_class("LeakyReLU")(args["slope"]),
                source=TorchSource("nn.LeakyReLU", (SourceArg("negative_slope", "slope", positional=True,
                                                              default=0.01),), attribute="leaky_relu"),
                from_module=_leakyrelu_from_module,
                functions=("torch.nn.functional.leaky_relu", "Tensor.leaky_relu"), from_call=_leakyrelu_from_call),
    _activation("gelu", "Gaussian error linear unit", "GELU", from_module=_gelu_from_module,
                functions=("torch.nn.functional.gelu",), from_call=_gelu_from_call),
    _activation("softmax", "softmax over the channels", "Softmax", module=plain_module("Softmax", dim=1),
                source=TorchSource("nn.Softmax", (SourceArg("dim", value=lambda args, shape, out: 1),)),
                from_module=_softmax_from_module,
                functions=("torch.nn.functional.softmax", "torch.softmax", "Tensor.softmax"),
                from_call=_softmax_from_call, elementwise=False),
    _activation("identity", "passes its input through", "Identity", passes_through=True),
    _activation("relu6", "ReLU capped at 6", "ReLU6", functions=("torch.nn.functional.relu6",)),
    _activation("hardswish", "hard swish", "Hardswish", functions=("torch.nn.functional.hardswish",)),
    _activation("hardsigmoid", "hard sigmoid", "Hardsigmoid", functions=("torch.nn.functional.hardsigmoid",)),
    _activation("silu", "sigmoid linear unit (swish)", "SiLU", aliases={"swish": {}},
                functions=("torch.nn.functional.silu",)),
    # `x * 0.17` (Inception-ResNet's residual scale, NFNet's α and β): the importer writes it from a product of
    # a tensor and a number, which the MUL entry's functions are.
    OpSpec("scale", "multiplies by a constant", same_shape,
           (Param("factor", "float", "the constant", REQUIRED, aliases=("by",)),), positional=("factor",),
           example="SCALE(0.17)", module=lambda args, shape, out: OwnModule("Scale", (args["factor"],)),
           source=TorchSource("Scale", (SourceArg("factor", "factor", positional=True),), inline="{x} * {0}"),
           from_modules=(FromTorch(("cnnspec.bridge.modules.Scale",), lambda m, ctx: [layer_text("SCALE", m.factor)]),),
           elementwise=True, code_word="product"),
)
