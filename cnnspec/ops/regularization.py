"""Regularisation: DROPOUT and STOCHASTICDEPTH, the identity at inference."""

from __future__ import annotations

from .entry import (FromTorch, OpSpec, SourceArg, TorchSource, layer_text, nn_class, own_module, ranked, same_shape,
                    unless)
from .params import Param


def _dropout_from_module(m, ctx):
    return [layer_text("DROPOUT", unless(float(m.p), 0.5))]


def _dropout_from_call(ctx):
    return [layer_text("DROPOUT", unless(float(ctx.bind(("input", "p"), {"p": 0.5})["p"]), 0.5))]


def _stochastic_depth_from_module(m, ctx):
    return [layer_text("STOCHASTICDEPTH", unless(float(m.p), 0.0), mode=unless(m.mode, "row"))]


ENTRIES = (
    OpSpec("dropout", "dropout (identity at inference)", same_shape,
           (Param("p", "float", "drop probability", 0.5, minimum=0, maximum=1),),
           positional=("p",), example="DROPOUT(0.5)", module=lambda args, shape, out: nn_class("Dropout")(args["p"]),
           source=TorchSource("nn.Dropout", (SourceArg("p", "p", positional=True),)),
           from_modules=(FromTorch(("torch.nn.Dropout", *ranked("torch.nn.Dropout"), "torch.nn.AlphaDropout"),
                                   _dropout_from_module),),
           from_functions=(FromTorch(("torch.nn.functional.dropout", *ranked("torch.nn.functional.dropout"),
                                      "torch.nn.functional.alpha_dropout"), _dropout_from_call),),
           elementwise=True),
    OpSpec("stochasticdepth", "stochastic depth: drops the whole residual branch in training, identity at inference",
           same_shape, (Param("p", "float", "drop probability", 0.0, minimum=0, maximum=1),
                        Param("mode", "word", "what is dropped", "row", choices=("row", "batch"))),
           positional=("p",), aliases={"droppath": {}}, example="STOCHASTICDEPTH(0.2)",
           module=own_module("StochasticDepth", "p", "mode"),
           source=TorchSource("StochasticDepth", (SourceArg("p", "p", positional=True),
                                                  SourceArg("mode", "mode", default="row")),
                              attribute="stochastic_depth"),
           from_modules=(FromTorch(("cnnspec.bridge.modules.StochasticDepth",), _stochastic_depth_from_module),
                         FromTorch(("torchvision.ops.StochasticDepth",), _stochastic_depth_from_module,
                                   by_name=True)), elementwise=True),
)
