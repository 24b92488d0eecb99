"""Normalisation: batch normalisation (BN) and local response normalisation (LRN)."""

from __future__ import annotations

from types import SimpleNamespace

from ..lang.words import shape_text
from .entry import (FromTorch, LayerContext, LayerResult, OpSpec, Slip, SourceArg, TorchSource, Unimportable, Working,
                    in_channels, layer_text, nn_class, ranked, unless)
from .params import REQUIRED, Param


def _batchnorm(ctx: LayerContext) -> LayerResult:
    c = ctx.channels
    return LayerResult(ctx.shape, params=2 * c, buffers=2 * c + 1, int64_buffers=1)  # mean, var, step count


def _lrn(ctx: LayerContext) -> LayerResult:
    ctx.need_spatial()
    return LayerResult(ctx.shape)


def _batchnorm_working(ctx: LayerContext, result: LayerResult) -> Working:
    return Working(params=f"2·{ctx.channels}")


def _batchnorm_slips(ctx: LayerContext, result: LayerResult, others) -> list[Slip]:
    c = ctx.channels
    return [Slip("params", 4 * c, f"BatchNorm counted as 4·C = 4·{c}: its running mean and variance are buffers, "
                                  f"not parameters; only γ and β are learned, 2·{c}")]


def _batchnorm_from_module(m, ctx):
    if not m.affine:
        raise Unimportable("it has affine=False (no weight and bias), but cnnspec's BN always learns them")
    if not m.track_running_stats:
        raise Unimportable("it has track_running_stats=False (no running statistics), but cnnspec's BN keeps them")
    if m.momentum is None:
        raise Unimportable("its momentum is None (a cumulative average), which cnnspec's BN cannot write")
    return [layer_text("BN", eps=unless(m.eps, 1e-5), momentum=unless(m.momentum, 0.1))]


def _batchnorm_from_call(ctx):
    """`F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, training, momentum, eps)`, as
    timm's BatchNormAct2d calls it: the layer a BatchNorm module of those parameters would be."""
    bound = ctx.bind(("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps"),
                     {"running_mean": None, "running_var": None, "weight": None, "bias": None, "training": False,
                      "momentum": 0.1, "eps": 1e-5})
    return _batchnorm_from_module(SimpleNamespace(
        affine=bound["weight"] is not None and bound["bias"] is not None,
        track_running_stats=bound["running_mean"] is not None and bound["running_var"] is not None,
        momentum=bound["momentum"], eps=bound["eps"]), ctx)


def _batchnorm_check_input(m, shape):
    if shape[0] != m.num_features:
        raise Unimportable(f"expects {m.num_features} channels but receives {shape_text(shape)}")


def _lrn_from_module(m, ctx):
    return [layer_text("LRN", m.size, alpha=unless(m.alpha, 1e-4), beta=unless(m.beta, 0.75),
                       k=unless(m.k, 1.0))]


ENTRIES = (
    OpSpec("bn", "batch normalisation: 2·C parameters, 2·C + 1 buffers", _batchnorm,
           (Param("eps", "float", "added to the variance", 1e-5, minimum=0),
            Param("momentum", "float", "of the running statistics", 0.1, minimum=0, maximum=1)),
           aliases={"batchnorm": {}}, example="BN",
           module=lambda args, shape, out: nn_class("BatchNorm", len(shape) - 1)(shape[0], args["eps"],
                                                                                 args["momentum"]),
           source=TorchSource("nn.BatchNorm{rank}d", (
               SourceArg("num_features", value=in_channels, positional=True, channels=True),
               SourceArg("eps", "eps", default=1e-5), SourceArg("momentum", "momentum", default=0.1))),
           from_modules=(FromTorch(ranked("torch.nn.BatchNorm"), _batchnorm_from_module,
                                   check_input=_batchnorm_check_input),),
           from_functions=(FromTorch(("torch.nn.functional.batch_norm",), _batchnorm_from_call,
                                     reads_parameters=True),),
           import_default=True, derive=_batchnorm_working, slips=_batchnorm_slips),
    OpSpec("lrn", "local response normalisation", _lrn,
           (Param("size", "int", "neighbouring channels", REQUIRED, minimum=1),
            Param("alpha", "float", "scale", 1e-4), Param("beta", "float", "exponent", 0.75),
            Param("k", "float", "additive constant", 1.0)),
           positional=("size",), example="LRN(5)",
           module=lambda args, shape, out: nn_class("LocalResponseNorm")(args["size"], args["alpha"], args["beta"],
                                                                         args["k"]),
           source=TorchSource("nn.LocalResponseNorm", (
               SourceArg("size", "size", positional=True), SourceArg("alpha", "alpha", default=1e-4),
               SourceArg("beta", "beta", default=0.75), SourceArg("k", "k", default=1.0))),
           from_modules=(FromTorch(("torch.nn.LocalResponseNorm",), _lrn_from_module),)),
)
