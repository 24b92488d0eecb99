"""A module traced with torch.fx: lazy modules sized first, every node's value found on the meta device as it
is traced (no weights touched, no arithmetic done, sizes known), the graph refused for what cnnspec cannot
write, and the words that name a node in a message."""

from __future__ import annotations

import operator

from ...lang.errors import CnnspecError
from ...lang.words import shape_text
from ...ops import Unimportable
from .kinds import kinds
from .loading import exception_text, source_file

# The batch of the traced input (shapes in messages are written without it). 2, not 1, so that the batch
# axis is told from the others: `x.squeeze()` keeps it, `x.view(1, -1)` is seen to fix it.
BATCH = 2


def is_tensor(value) -> bool:
    import torch

    return isinstance(value, torch.Tensor)


def map_nodes(value, function):
    """A (nested) argument with `function` applied to every fx Node in it, in order."""
    from torch.fx import Node

    if isinstance(value, Node):
        return function(value)
    if isinstance(value, (list, tuple)):
        return type(value)(map_nodes(v, function) for v in value)
    if isinstance(value, dict):
        return {k: map_nodes(v, function) for k, v in value.items()}
    return value


def node_args(node) -> list:
    """Every fx Node among a node's arguments, in order (a node given twice is listed twice)."""
    found = []
    map_nodes((node.args, node.kwargs), found.append)
    return found


def upstream(stop, inputs_of, start=None) -> set:
    """`stop` and every node it depends on through `inputs_of`, back to `start` (which is left out)."""
    found, stack = set(), [stop]
    while stack:
        node = stack.pop()
        if node is start or node in found:
            continue
        found.add(node)
        stack.extend(inputs_of(node))
    return found


class _Raised(Exception):
    """A node's value could not be found while tracing: the node, and what was raised."""

    def __init__(self, node, exc):
        super().__init__(node.name)
        self.node, self.exc = node, exc


class Trace:
    """The traced graph of a module for one input shape, with every live node's value."""

    def __init__(self, module, shape, label: str, path: str | None):
        from ..lower import require_torch

        self.torch = require_torch()
        if not isinstance(module, self.torch.nn.Module):
            raise CnnspecError(f"from_torch needs a torch.nn.Module, not {type(module).__name__}", path=path)
        self.module, self.shape, self.label, self.path = module, shape, label, path
        self.values: dict = {}
        self.learned: dict = {}  # for each parameter or buffer the forward reads (get_attr): is it a parameter

    def run(self) -> Trace:
        """The inference graph: traced in eval mode (the mode the model is in is given back after), then again in
        training mode if that leaves parameters unread (see trace_training)."""
        self.materialize_lazy()
        self.extra_outputs = ()
        training = self.module.training
        self.module.eval()
        try:
            self.trace()
            if self.unread():
                self.trace_training()
        finally:
            self.module.train(training)
        self.check_support()
        return self

    def unread(self) -> set[str]:
        """The parameters of the model that the traced forward never reads (an auxiliary head that runs only in
        training, a module built and not used)."""
        read = set()  # by identity: a parameter shared by two modules (tied weights) is read through either
        for node in self.graph.nodes:
            if node.op == "call_module":
                read.update(id(p) for p in self.module.get_submodule(node.target).parameters())
            elif node.op == "get_attr":
                owner, _, name = node.target.rpartition(".")
                read.add(id(getattr(self.module.get_submodule(owner), name)))
        return {name for name, p in self.module.named_parameters() if id(p) not in read}

    def trace_training(self) -> None:
        """Trace the forward in training mode, where GoogLeNet and Inception v3 run their auxiliary heads too, when
        that reads every parameter and the main output comes first: the heads' outputs are the extra ones, whose
        layers are then written as unused (their parameters counted, their MACs not)."""
        eval_graph = (self.graph, self.order, self.input_node, self.output_node, self.live, dict(self.values),
                      self.result)
        self.module.train()
        try:
            self.trace(outputs=True)
        except CnnspecError:
            self.graph = None
        finally:
            self.module.eval()
        if self.graph is None or self.unread() or not self.extra_outputs:
            (self.graph, self.order, self.input_node, self.output_node, self.live, self.values,
             self.result) = eval_graph
            self.extra_outputs = ()

    def fail(self, message: str) -> CnnspecError:
        return CnnspecError(message, path=self.path)

    def materialize_lazy(self):
        """A dry forward that gives lazy modules (LazyConv2d, LazyLinear) their sizes: on the module's own
        device, in eval mode and without gradients."""
        from torch.nn.modules.lazy import LazyModuleMixin

        torch = self.torch
        lazy = [m for m in self.module.modules() if isinstance(m, LazyModuleMixin) and m.has_uninitialized_params()]
        if not lazy:
            return
        device = next((t.device for t in self.module.parameters()
                       if not isinstance(t, torch.nn.parameter.UninitializedParameter)), torch.device("cpu"))
        training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                self.module(torch.zeros((BATCH, *self.shape), device=device))
        except Exception as exc:
            raise self.fail(f"input {shape_text(self.shape)} does not fit {self.label}: the forward that sizes its "
                            f"lazy modules raised {exception_text(exc, self.path)}") from None
        finally:
            self.module.train(training)

    def trace(self, outputs: bool = False):
        """torch.fx's symbolic trace with every value found as it is traced, on the meta device: a size read in
        the forward (`x.shape[-2:]`, `x.size(1)`, `x.ndim`) is the number itself, so Python control flow on
        shapes (TF "SAME" padding, input-size checks) takes its branch for this input, and the graph holds
        what this input runs."""
        import torch.fx as fx

        from ..modules import Scope

        torch = self.torch
        trace = self
        self.values = values = {}  # a fresh trace (in training mode, after one in eval mode) finds them again

        class Shaped(fx.Proxy):
            """A traced value whose shape is known: its sizes are numbers, not graph nodes."""

            def _value(self):
                return values[self.node]

            def size(self, dim=None):
                value = self._value()
                return value.size() if dim is None else value.size(dim)

            def dim(self):
                return self._value().dim()

            def numel(self):
                return self._value().numel()

            def __len__(self):
                return len(self._value())

            def __iter__(self):
                value = self._value()
                if isinstance(value, (tuple, list)):
                    return iter([self[i] for i in range(len(value))])
                return super().__iter__()

            shape = property(lambda self: self._value().shape)
            ndim = property(lambda self: self._value().dim())
            dtype = property(lambda self: self._value().dtype)
            device = property(lambda self: self._value().device)

        class Tracer(fx.Tracer):
            # While a node's value is computed the patches torch.fx makes while it traces (of nn.Module's
            # `__call__` and `__getattr__`) pass through: the real thing runs, and is not traced again.
            evaluating = False

            def is_leaf_module(self, m, qualified_name):
                if isinstance(m, Scope):
                    return False
                return kinds().of_module(m) is not None or super().is_leaf_module(m, qualified_name)

            def call_module(self, m, forward, args, kwargs):
                if self.evaluating:
                    return forward(*args, **kwargs)
                return super().call_module(m, forward, args, kwargs)

            def getattr(self, attr, attr_val, parameter_proxy_cache):
                if self.evaluating:
                    return attr_val
                return super().getattr(attr, attr_val, parameter_proxy_cache)

            def proxy(self, node):
                return Shaped(node, self)

            def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, proxy_factory_fn=None):
                proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
                node = proxy.node
                if kind == "placeholder":  # the input, then the arguments given their defaults (fx checks them)
                    index = sum(n.op == "placeholder" for n in values)  # in the order of the signature
                    name = arguments[index] if index < len(arguments) else None
                    values[node] = (torch.empty((BATCH, *trace.shape), device="meta") if index == 0 else
                                    defaults.get(name))
                    if index > 0 and name in defaults:
                        given.add(node)
                    return proxy
                self.evaluating = True
                try:
                    values[node] = trace.evaluate(node)
                except Exception as exc:
                    raise _Raised(node, exc) from None
                finally:
                    self.evaluating = False
                return proxy

        tracer = Tracer()
        arguments, defaults = self.arguments()
        given = set()  # the placeholders of arguments given their defaults
        try:
            graph = tracer.trace(self.module, concrete_args=defaults or None)
        except _Raised as raised:
            raise self.no_fit(raised.node, raised.exc) from None
        except Exception as exc:
            where = self.path or source_file(type(self.module))
            if isinstance(exc, fx.proxy.TraceError):
                raise self.fail(f"torch.fx cannot trace the forward of {self.label}: "
                                f"{exception_text(exc, where)}") from None
            raise self.fail(f"the forward of {self.label} raised {exception_text(exc, where)} while torch.fx "
                            f"traced it") from None
        self.graph = graph
        self.order = {n: i for i, n in enumerate(self.graph.nodes)}
        _follow_in_place(self.graph, self.order)
        placeholders = [n for n in self.graph.nodes if n.op == "placeholder"]
        if not placeholders:
            raise self.fail(f"the forward of {self.label} takes no input")
        self.input_node = placeholders[0]
        extra = [n.target for n in placeholders[1:] if n.users and n not in given]
        if extra:
            raise self.fail(f"the forward of {self.label} uses more than one input ({', '.join(extra)}); "
                            f"cnnspec imports networks of one input")
        self.output_node = next(n for n in self.graph.nodes if n.op == "output")
        self.live = upstream(self.output_node, node_args)  # a computed but unused value is left out
        returned = self.output_node.args[0]
        parts = returned
        if isinstance(returned, fx.Node) and returned.op == "call_function" and isinstance(returned.target, type) \
                and issubclass(returned.target, tuple):  # a named tuple of outputs (GoogLeNet's, Inception's)
            parts = (*returned.args, *returned.kwargs.values())
        if outputs and isinstance(parts, (tuple, list)) and parts:  # (main, aux, …), in training
            tensors = [n for n in parts if isinstance(n, fx.Node) and is_tensor(self.values.get(n))]
            if tensors and tensors[0] is parts[0]:
                self.result, self.extra_outputs = tensors[0], tuple(tensors[1:])
                self.live = set().union(*(upstream(n, node_args) for n in tensors))
                return
        self.result = returned

    def arguments(self) -> tuple[list[str], dict]:
        """The forward's argument names, and those after the input that have defaults, with them
        (`pre_logits=False`): the trace takes the path of a plain call."""
        import inspect

        try:
            parameters = list(inspect.signature(self.module.forward).parameters.values())
        except (TypeError, ValueError):
            return [], {}
        named = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        return [p.name for p in named], {p.name: p.default for p in named[1:] if p.default is not p.empty}

    def value(self, node):
        """The meta value of a traced node (None for one that has none: an input the model does not use); a
        parameter, buffer or constant the tracer read (get_attr) as it would be on the meta device."""
        if node in self.values or node.op != "get_attr":
            return self.values.get(node)
        found = self.module
        for part in node.target.split("."):
            found = getattr(found, part)
        self.learned[node] = isinstance(found, self.torch.nn.Parameter)
        if is_tensor(found) and not found.is_meta:
            found = self.torch.empty_like(found, device="meta")
        self.values[node] = found
        return found

    def evaluate(self, node):
        """What one node computes, on the meta values of its arguments."""
        import itertools

        torch = self.torch
        if node.op == "get_attr":
            return self.value(node)
        args = map_nodes(node.args, self.value)
        kwargs = map_nodes(dict(node.kwargs), self.value)
        if node.op == "call_function":
            return node.target(*args, **kwargs)
        if node.op == "call_method":
            return getattr(args[0], node.target)(*args[1:], **kwargs)
        sub = self.module.get_submodule(node.target)
        kind = kinds().of_module(sub)  # None for a module whose value no layer reads
        x = args[0] if args else None
        if kind and kind[1].check_input and is_tensor(x) and x.dim() >= 2:
            kind[1].check_input(sub, tuple(x.shape[1:]))  # in cnnspec's words: the meta device's are terse
        state = {name: (t if t.is_meta else torch.empty_like(t, device="meta"))
                 for name, t in itertools.chain(sub.named_parameters(), sub.named_buffers())}
        return torch.func.functional_call(sub, state, tuple(args), kwargs, strict=False)

    def no_fit(self, node, exc) -> CnnspecError:
        """The error for a node whose value could not be found: an input that does not fit it, or, for a call
        cnnspec has no layer for, that call."""
        if not kinds().known(node, self.module):
            return self.unsupported(node)
        reason = str(exc) if isinstance(exc, Unimportable) else f"raised {exception_text(exc, self.path)}"
        return self.fail(f"input {shape_text(self.shape)} does not fit {self.label}: "
                         f"{self.describe_short(node)} {reason}")

    def check_support(self):
        """Refuse what cnnspec cannot write (so an LSTM is named as such)."""
        for node in self.graph.nodes:
            if node not in self.live or node.op in ("placeholder", "output"):
                continue
            if node.op == "get_attr":
                continue  # read by the call it is an argument of (dataflow: a layer on its own parameters, or none)
            if not kinds().known(node, self.module):
                raise self.unsupported(node)

    # --- naming nodes in messages

    def where(self, node) -> str:
        """`in the forward of `layer1.0` (BasicBlock)` (or of the model itself)."""
        stack = list(node.meta.get("nn_module_stack", {}).values())
        if node.op == "call_module" and stack:
            stack = stack[:-1]
        if not stack:
            return f"in the forward of {self.label}"
        path, cls = stack[-1]
        return f"in the forward of `{path}` ({getattr(cls, '__name__', cls)})"

    def describe(self, node) -> str:
        if node.op == "call_module":
            module = self.module.get_submodule(node.target)
            return (f"module `{node.target}` ({self._type_name(type(module))}), called {self.where(node)} "
                    f"as node `{node.name}`")
        if node.op == "get_attr":
            return f"attribute `{node.target}`, read {self.where(node)} as node `{node.name}`"
        return f"function {_function_name(node)}, called {self.where(node)} as node `{node.name}`"

    def describe_short(self, node) -> str:
        if node.op == "call_module":
            return f"`{node.target}` ({type(self.module.get_submodule(node.target)).__name__})"
        return f"node `{node.name}` ({_function_name(node)})"

    def unsupported(self, node, reason: str | None = None) -> CnnspecError:
        what = self.describe(node)
        if reason is None:
            return self.fail(f"unsupported {what}: cnnspec has no layer for it")
        return self.fail(f"cannot import {what}: {reason}")

    def _type_name(self, cls) -> str:
        if getattr(self.torch.nn, cls.__name__, None) is cls:
            return f"torch.nn.{cls.__name__}"
        return f"{cls.__module__}.{cls.__qualname__}"


# Where torch and Python define a function, as the user imports it.
_PUBLIC_MODULES = {None: "torch", "torch._C._VariableFunctions": "torch", "torch._C": "torch", "_operator": "operator"}


def _function_name(node) -> str:
    """`torch.nn.functional.relu`, `Tensor.view` or `operator.add`: a called function as the user knows it."""
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    name = getattr(node.target, "__name__", repr(node.target))
    module = getattr(node.target, "__module__", None)
    if module in (None, "builtins") and name in vars(operator):
        module = "operator"
    module = _PUBLIC_MODULES.get(module, module)
    return f"{module}.{name}" if module else name


def _follow_in_place(graph, order: dict) -> None:
    """`out.mul_(g)` changes `out` and its value is often dropped (NFNet's skip-init gain): the nodes after it
    that read `out` read the call's value instead, so that it is on the path to the output."""
    for node in graph.nodes:
        if node.op == "call_method" and node.target.endswith("_") and not node.target.endswith("__") and \
                node.args and isinstance(node.args[0], type(node)):
            node.args[0].replace_all_uses_with(node, delete_user_cb=lambda user: order[user] > order[node])
