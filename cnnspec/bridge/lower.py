"""IR and Report to a torch.nn.Module, built from the registry's torch equivalents.

The module's structure follows the spec: the network, each block call and each labelled group or repeat
is a `Scope` whose children are named as the Report names the layers (`layer2.0.conv1`), so that a row of
the analysis and a module correspond one to one. Shapes and names are read from the Report, never worked
out again here. torch is imported only by this module (and `modules`, the classes torch.nn lacks).
"""

from __future__ import annotations

import warnings
from functools import lru_cache

from .. import ops
from ..analysis.analyze import DTYPE_BYTES
from ..lang.errors import CnnspecError
from ..lang.ir import Block, Group, Layer, Merge, Network, Ref, Repeat
from ..lang.syntax import Program

TORCH_MISSING = "this needs PyTorch: install cnnspec[torch] (pip install 'cnnspec[torch]')"


def require_torch():
    """torch, or a CnnspecError that says how to get it.

    torch works without NumPy, which cnnspec never uses, but warns at import when NumPy is missing; a user of
    cnnspec should not see that.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
        try:
            import torch
        except ImportError:
            raise CnnspecError(TORCH_MISSING) from None
    return torch


def torch_device(torch, device):
    """`device` as a torch.device this PyTorch can use, or a CnnspecError saying why not (`cuda` on a CPU build,
    a name that is no device)."""
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise CnnspecError(f"`{device}` is not a device PyTorch knows: write cpu, meta, cuda or another of "
                           "torch's device types") from None
    if chosen.type not in ("cpu", "meta"):
        try:
            torch.empty(0, device=chosen)  # a device type torch knows, but this build or this machine lacks it
        except (RuntimeError, AssertionError) as exc:
            said = str(exc).strip().split("\n")[0].split(". ")[0].rstrip(".")
            raise CnnspecError(f"the device `{device}` cannot be used: this PyTorch or this machine has no "
                               f"{chosen.type} (torch says: {said})") from None
    return chosen


def torch_dtype(torch, dtype):
    """A dtype given by name (`float16`) or as a torch.dtype."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPE_BYTES:
        raise ValueError(f"dtype must be a torch.dtype or one of {', '.join(DTYPE_BYTES)}, not {dtype!r}")
    return getattr(torch, dtype)


def lower(net: Program | Network, *, device=None, dtype=None, seed: int | None = None, **variables):
    """A torch.nn.Module equivalent to the spec, on `device` (the meta device allocates no weights)."""
    from ..analysis.analyze import analyze
    from ..analysis.resolve import resolve

    if isinstance(net, Program):
        net = resolve(net, variables)
    return lower_analyzed(net, analyze(net), device=device, dtype=dtype, seed=seed)


def lower_analyzed(net: Network, report, *, device=None, dtype=None, seed: int | None = None):
    """`lower` for a network already analyzed (its Report gives every shape and name)."""
    torch = require_torch()
    chosen = torch_device(torch, device if device is not None else "cpu")
    dtype = torch_dtype(torch, dtype) if dtype is not None else None
    if seed is not None:
        torch.manual_seed(seed)
    with chosen:
        module = _Builder(report).network(net)
    if dtype is not None:
        module = module.to(dtype)
    return module


class _Builder:
    """Walks the IR in the order the analysis did, taking each layer's and scope's report in turn."""

    def __init__(self, report):
        self.layers = iter(report.layers)
        self.scopes = iter(report.scopes)
        self.built: dict = {}  # each layer's module by its path, for a layer that `shares=` its weights

    def network(self, net: Network):
        from .modules import Scope

        root = Scope()
        root.finish(self.walk(net.body, root, 0, {}))
        return root

    def walk(self, nodes, scope, value: int, named: dict) -> int:
        """Add the nodes' modules to `scope` after its step `value`; the step that ends them. `named`: the step
        of each label of the scope so far, for `@label`."""
        named.setdefault("input", value)  # `@input`: what the scope takes
        for node in nodes:
            if isinstance(node, Ref):
                value = named[node.label]  # the analysis has checked it is there
                continue
            value = self.node(node, scope, value, named)
            if node.label:
                named[node.label] = value
        return value

    def node(self, node, scope, value: int, named: dict) -> int:
        from .modules import Scope

        if isinstance(node, Layer):
            from .modules import Shared

            report = next(self.layers)
            module = Shared(self.built[report.shares]) if report.shares else self.module(node, report)
            self.built[report.path] = module
            value = scope.add_step(_name(report.path, node), module, (value,))
        elif isinstance(node, Repeat):
            scope_report = next(self.scopes)
            if node.label:  # a named repeat is a module holding its passes, numbered as one sequence
                inner = Scope()
                end, inner_named = 0, {}
                for body in node.passes:
                    end = self.walk(body, inner, end, inner_named)
                inner.finish(end)
                value = scope.add_step(_name(scope_report.path, node), inner, (value,))
            else:
                for body in node.passes:
                    value = self.walk(body, scope, value, named)
        elif isinstance(node, (Block, Group)):
            scope_report = next(self.scopes)
            inner = Scope()
            inner.finish(self.walk(node.body, inner, 0, {}))
            value = scope.add_step(_name(scope_report.path, node), inner, (value,))
        elif isinstance(node, Merge):
            ends = tuple(self.walk(branch, scope, value, named) for branch in node.branches)
            report = next(self.layers)
            value = scope.add_step(_name(report.path, node), self.module(node, report), ends)
        else:
            raise AssertionError(f"unknown IR node {node!r}")
        return value

    @staticmethod
    def module(node, report):
        from . import modules

        op = ops.get(node.op)
        built = op.module(ops.fill_defaults(op, node), report.input_shape, report.output_shape)
        if isinstance(built, ops.OwnModule):
            return getattr(modules, built.cls)(*built.args, **built.kwargs)
        return built


@lru_cache(maxsize=1)
def _probe(scope_class):
    """An empty Scope, to ask which names a module already has (methods, and `plan`)."""
    return scope_class()


def _name(path: str, node) -> str:
    """The child's name in its module: the last part of its path, unless torch.nn.Module has it already."""
    from .modules import Scope

    name = path.rsplit(".", 1)[-1]
    if hasattr(_probe(Scope), name):
        raise CnnspecError(f"label `{name}` is already an attribute of the lowered torch module (`.{name}`), so it "
                           "cannot name a layer there; choose another label", node.span)
    return name
