"""The traced graph as the flow of tensors: for every node that carries one, the layers its registry writer
gives, the nodes it reads, and whether it joins them (ADD, CONCAT, MUL) or chunks them for SPLITs.

Views and copies, chunks and sums are shapes of the graph, read here; what each layer kind writes and
refuses is its registry entry's (ops.FromTorch)."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, replace

from ... import ops
from ...lang.words import shape_text
from ...ops import CHANNELS_LAST, Unimportable
from ...ops.reshape import slice_text
from .kinds import call_key, kinds
from .layouts import layout_text, moved
from .trace import Trace, is_tensor, map_nodes, node_args

_FLATTEN = ops.get("flatten")


@dataclass(frozen=True, slots=True)
class FlowNode:
    """A node of the traced graph that carries a tensor, as the chain builder sees it."""

    items: tuple[str, ...] = ()  # the layers it writes (none for a no-op)
    inputs: tuple = ()  # the tensor nodes it reads, in order
    merge: str | None = None  # ADD / CONCAT / MUL: a join of its inputs
    chunk: int | None = None  # torch.chunk: the number of pieces (its getitems are the SPLITs)
    pieces: tuple = ()  # torch.chunk or torch.split: each piece's (start, stop) on the channels
    binary: bool = False  # a sum or product written with + or * (or torch.add, torch.mul): of two values
    layout: object = None  # how its axes are ordered, when a forward has moved them (see layouts)
    label: str | None = None  # its one layer's, when a later one `shares=` its weights


class ImportContext:
    """What a layer writer of the registry (ops.FromTorch) sees: the node, its concrete arguments, input and
    output shapes (no batch)."""

    def __init__(self, trace: Trace, node, notes: list[str], layout=None):
        self.trace, self.node, self.notes, self.layout = trace, node, notes, layout
        self.args = map_nodes(node.args, trace.value)
        self.kwargs = map_nodes(dict(node.kwargs), trace.value)
        value = trace.values[node]
        self.full_out = tuple(value.shape) if is_tensor(value) else None
        self.out = self.full_out[1:] if self.full_out is not None else None
        first = next((a for a in node_args(node) if a.op != "get_attr" and is_tensor(trace.value(a))), None)
        self.full_in = tuple(trace.values[first].shape) if first is not None else None
        self.inp = self.full_in[1:] if self.full_in else None

    def bind(self, names, defaults=None):
        """The arguments by name (`input` first), as the function's signature would bind them."""
        bound = dict(defaults or {})
        bound.update(zip(names, self.args))
        bound.update(self.kwargs)
        return bound

    def learned(self, *names) -> None:
        """Refuse a call whose named tensor arguments (`weight`, `bias`) are not parameters: a buffer is a fixed
        filter (timm's BlurPool convolves with one), not the learned weight of a layer."""
        bound = self.bind(("input", *names))
        positions = dict(zip(("input", *names), self.node.args))
        for name in names:
            node = positions.get(name, self.node.kwargs.get(name))
            if bound.get(name) is not None and getattr(node, "op", None) == "get_attr" and \
                    not self.trace.learned.get(node, True):
                raise Unimportable(f"its {name} is the buffer `{node.target}`, a fixed filter, not a learned "
                                   f"parameter; cnnspec's layers learn theirs")

    def caller(self):
        """The module whose forward made this call (None for the model's own forward)."""
        stack = list(self.node.meta.get("nn_module_stack", {}).values())
        if not stack or not stack[-1][0]:
            return None
        return self.trace.module.get_submodule(stack[-1][0])

    def note(self, text: str) -> None:
        self.notes.append(f"{self.trace.describe_short(self.node)}: {text}")

    def reshape(self) -> list[str]:
        """A view, reshape, flatten or squeeze: nothing when it keeps the shape, FLATTEN when it flattens every
        axis but the batch, refused otherwise."""
        before, after = self.full_in, self.full_out
        if before == after:
            return []
        if len(after) == 2 and after[0] == before[0] and len(before) > 2:
            return ["FLATTEN"]
        if (len(after) > 2 and after[0] == before[0] and [n for n in after if n != 1] == [n for n in before if n != 1]
                and self._only_views_follow()):
            return []  # the first of `x.squeeze(-1).squeeze(-1)`: the last one writes the FLATTEN
        if len(after) < 2 or after[0] != before[0]:
            raise Unimportable(f"it reshapes {shape_text(before)} to {shape_text(after)} (with the batch of "
                               f"{before[0]}), which does not keep the batch axis; cnnspec writes only a flatten "
                               f"that keeps it (torch.flatten(x, 1))")
        raise Unimportable(f"it reshapes {shape_text(before[1:])} to {shape_text(after[1:])}, which is not a "
                           f"flatten; cnnspec writes only that (torch.flatten(x, 1))")

    def _only_views_follow(self) -> bool:
        """Whether every reader of this node's value is a view, reshape, squeeze or flatten."""
        readers = [kinds().of_node(user, self.trace.module) for user in self.node.users]
        return bool(readers) and all(kind is not None and kind[0] is _FLATTEN for kind in readers)


def dataflow(trace: Trace) -> tuple[dict, object, list[str]]:
    """The tensor nodes with their layers and inputs, by fx node; the node the model returns; the writers' notes."""
    result = trace.result
    if not isinstance(result, trace.torch.fx.Node) or not is_tensor(trace.value(result)):
        raise trace.fail(f"the forward of {trace.label} must return one tensor, not "
                         f"{type(trace.values.get(result, result)).__name__}")
    nodes: dict = {}
    params: dict = {}  # a parameter the forward reads, or a view of one (`self.gamma.view(1, -1, 1, 1)`): its get_attr
    notes: list[str] = []
    owners: dict = {}  # id of a parameter or buffer → the node whose layer holds it
    for node in trace.graph.nodes:
        if node not in trace.live or node.op == "output":
            continue
        if node.op == "get_attr":
            params[node] = node
            continue
        if node.op == "placeholder":
            if node is trace.input_node:
                nodes[node] = FlowNode()
            continue
        try:
            found = _flow_node(trace, nodes, params, node, notes)
        except Unimportable as reason:
            raise trace.unsupported(node, str(reason)) from None
        first = _own_weights(trace, node, params, owners) if found is not None and found.items else None
        if first is not None:
            found = _share(trace, nodes, node, found, first)
        if found is not None:
            nodes[node] = found
    if nodes[result].layout is not None:
        raise trace.fail(f"the forward of {trace.label} returns a tensor {layout_text(nodes[result].layout)}; "
                         f"cnnspec's networks end with their channels first")
    return _absorb(nodes), result, notes


_NOT_LABELS = frozenset(("input", "let", "default", "block", "import", "if", "else", "and", "or", "not"))


def _own_weights(trace: Trace, node, params: dict, owners: dict):
    """The earlier node whose weights this one's layer uses, or None when they are its own. A module called
    twice (or a weight two calls read) shares them: its second layer is written `shares=` the first, so that
    they are counted once, not twice (torchinfo's long-standing error). Refused when the two share only some
    of them, or are not the same layer."""
    if node.op == "call_module":
        module = trace.module.get_submodule(node.target)
        tensors = [*module.parameters(), *module.buffers()]
    else:
        tensors = [trace.value(params[a]) for a in node_args(node) if a in params]
    ids = frozenset(id(t) for t in tensors)
    firsts = {owners.setdefault(i, (node, ids))[0] for i in ids} - {node}
    if not firsts:
        return None
    first = min(firsts, key=trace.order.__getitem__)
    if len(firsts) > 1 or owners[next(i for i in ids if owners[i][0] is first)][1] != ids:
        raise trace.unsupported(node, f"it shares some of its weights with node `{first.name}`, but not all of "
                                      f"them, which cnnspec's `shares=` cannot say")
    return first


def _share(trace: Trace, nodes: dict, node, found: FlowNode, first) -> FlowNode:
    """`found`, the second layer of the weights of node `first`, written `shares=` the first, which is
    labelled after its module (or weight)."""
    earlier = nodes[first]
    if len(found.items) != 1 or found.items != earlier.items:
        what = f"module `{node.target}` is called" if node.op == "call_module" and node.target == first.target \
            else "its weights are used"
        raise trace.unsupported(node, f"{what} a second time here (first as node `{first.name}`) as "
                                      f"{' -> '.join(found.items) or 'no layer'}, not as the same one layer "
                                      f"({' -> '.join(earlier.items)}), so cnnspec's `shares=` cannot say it")
    label = earlier.label
    if label is None:
        taken = {n.label for n in nodes.values() if n.label}
        base = str(first.target if first.op == "call_module" else first.name).replace(".", "_")
        base = base if base.isidentifier() and base not in _NOT_LABELS else f"m_{base}"
        label, k = base, 1
        while label in taken:
            k += 1
            label = f"{base}_{k}"
        nodes[first] = replace(earlier, label=label)
    text = found.items[0]
    shared = f"{text[:-1]}, shares={label})" if text.endswith(")") else f"{text}(shares={label})"
    return replace(found, items=(shared,))


def _flow_node(trace: Trace, nodes: dict, params: dict, node, notes: list[str]) -> FlowNode | None:
    """The flow node of one live node, given those before it; None for a size or another number."""
    is_chunk = node.op != "call_module" and call_key(node) in kinds().chunks
    inputs = tuple(a for a in node_args(node) if a in nodes)
    if node.op == "call_function" and node.target is operator.getitem and node.args[0] in nodes:
        return _piece(trace, nodes, node)
    if not (is_tensor(trace.value(node)) or is_chunk):
        return None  # read by the layers that use it
    if not inputs:
        read = [params[a].target for a in node_args(node) if a in params]
        if read and call_key(node) in _PARAMETER_VIEWS:
            params[node] = params[node_args(node)[0]]
            return None
        if read:
            raise trace.unsupported(node, f"it computes with the parameter `{read[0]}` in the forward (a weight "
                                          f"standardised or scaled as it is used), which no layer of cnnspec does")
        raise trace.unsupported(node, "it makes a tensor that does not come from the input")
    layouts = {nodes[a].layout for a in inputs}
    if len(layouts) > 1:
        raise Unimportable("it joins tensors whose axes are in different orders (one of them permuted)")
    layout = layouts.pop()
    ctx = ImportContext(trace, node, notes, layout)
    found = moved(ctx, layout)
    if found is not None:
        _need_one_input(inputs)
        return FlowNode(found[0], inputs, layout=found[1])
    if is_chunk and layout is not None:
        raise Unimportable(f"it splits a tensor {layout_text(layout)}, which cnnspec cannot follow")
    if is_chunk:
        _need_one_input(inputs)
        return _chunk(trace, node, ctx, inputs)
    kind = kinds().of_node(node, trace.module)
    if kind is None:
        raise trace.unsupported(node)
    op, form = kind
    if op is not None and op.name == "mul" and node.op != "call_module":
        scale = _layer_scale(trace, node, nodes, params, layout)
        if scale is not None:
            return scale
    _check_parameters(trace, node, form, params)
    if layout is not None and not (op is None or op.elementwise or layout in form.layouts):
        raise Unimportable(f"it reads a tensor {layout_text(layout)}, which cnnspec reads only in element-wise "
                           f"layers, layer norms and linear layers")
    return replace(_written(trace, node, ctx, inputs, op, form), layout=layout)  # the layout it was read in


def _chunk(trace: Trace, node, ctx, inputs) -> FlowNode:
    """torch.chunk or torch.split of the channels: where each piece lies, for the getitems that take them."""
    chunks = getattr(node.target, "__name__", node.target) == "chunk"  # torch.chunk or Tensor.chunk
    bound = ctx.bind(("input", "chunks" if chunks else "split_size_or_sections", "dim"), {"dim": 0})
    if bound["dim"] % len(ctx.full_in) != 1:
        raise Unimportable(f"it splits axis {bound['dim']}; cnnspec splits the channels (dim=1)")
    starts, pieces = 0, []
    for piece in trace.values[node]:
        pieces.append((starts, starts + piece.shape[1]))
        starts += piece.shape[1]
    return FlowNode(inputs=inputs, chunk=bound["chunks"] if chunks else None, pieces=tuple(pieces))


def _piece(trace: Trace, nodes: dict, node) -> FlowNode:
    """`pieces[i]` of a chunk (SPLIT) or split (SLICE), or `x[:, a:b]` of a tensor (SLICE): one range of the
    channels. A piece reads what was chunked, so that the pieces are branches from it."""
    source, index = nodes[node.args[0]], map_nodes(node.args[1], trace.value)
    if source.pieces:
        if not isinstance(index, int):
            raise trace.unsupported(node, "only a piece of torch.chunk or torch.split by a whole-number index is "
                                          "a layer cnnspec knows")
        if source.chunk is not None:
            return FlowNode((ops.layer_text("SPLIT", source.chunk, i=index % len(source.pieces)),), source.inputs)
        start, stop = source.pieces[index]
        return FlowNode((slice_text(start, stop, source.pieces[-1][1]),), source.inputs)
    if source.layout is not None:
        raise trace.unsupported(node, f"it indexes a tensor {layout_text(source.layout)}, which cnnspec cannot "
                                      f"follow")
    shape = tuple(trace.values[node.args[0]].shape)
    channel = _channel_range(index, len(shape))
    if channel is None:
        raise trace.unsupported(node, "indexing a tensor other than by a range of its channels (`x[:, a:b]`) is "
                                      "no layer cnnspec knows")
    start, stop, step = channel.indices(shape[1])
    if step != 1 or start >= stop:
        raise trace.unsupported(node, f"it takes channels {channel.start}:{channel.stop}:{channel.step} of "
                                      f"{shape[1]}, which is not a range of them cnnspec's SLICE takes")
    return FlowNode(() if (start, stop) == (0, shape[1]) else (slice_text(start, stop, shape[1]),), node.args[:1])


def _channel_range(index, rank: int) -> slice | None:
    """The slice of the channels that an index of a tensor of `rank` axes takes (`[:, a:b]`, `[:, a:b, :, :]`,
    `[:, a:b, ...]`); None for an index that takes anything else."""
    if not isinstance(index, tuple):
        return None
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (rank - len(index) + 1) + index[at + 1:]
    everything = slice(None)
    if len(index) < 2 or len(index) > rank or not isinstance(index[1], slice) or \
            any(not isinstance(i, slice) or i != everything for i in index[:1] + index[2:]):
        return None
    return index[1]


def _written(trace: Trace, node, ctx, inputs, op, form) -> FlowNode:
    """The flow node of a call of a layer kind (or a copy)."""
    if op is not None and op.name == "identity":
        return FlowNode((), inputs)  # a placeholder (timm's `nn.Identity()` where a block has no norm): no layer
    module = trace.module.get_submodule(node.target) if node.op == "call_module" else None
    if op is not None and op.merge:
        if module is not None:  # cnnspec's own Add, Concat and Mul: their arguments are what they join
            return FlowNode(inputs=inputs, merge=op.name.upper())
        if form.write is not None:
            form.write(ctx)
        return _join(trace, node, op.name.upper())
    _need_one_input(inputs)
    return FlowNode(tuple(form.write(ctx) if module is None else form.write(module, ctx)), inputs)


_PARAMETER_VIEWS = frozenset((".view", ".reshape", ".unsqueeze", ".squeeze", ".flatten", ".contiguous"))


def _layer_scale(trace: Trace, node, nodes: dict, params: dict, layout) -> FlowNode | None:
    """`x * self.gamma` (or `x.mul(self.gamma.view(1, -1, 1, 1))`), a parameter with one factor per channel of x
    that broadcasts over the positions: LAYERSCALE; one factor for all (`out.mul_(self.skipinit_gain)`):
    LAYERSCALE(shared=true). None for any other product."""
    operands = [a for a in node.args[:2]]
    if len(operands) != 2:
        return None
    tensors = [a for a in operands if a in nodes]
    factors = [a for a in operands if a in params]
    if len(tensors) != 1 or len(factors) != 1 or not trace.learned.get(params[factors[0]], True):
        return None  # (a buffer is no learned factor)
    x, factor = trace.value(tensors[0]).shape, trace.value(factors[0]).shape
    channel = len(x) - 1 if layout == CHANNELS_LAST else 1
    if math.prod(factor) == 1 and len(factor) <= len(x):
        return FlowNode(("LAYERSCALE(shared=true)",), (tensors[0],), layout=layout)  # one learned factor for all
    aligned = (1,) * (len(x) - len(factor)) + tuple(factor)
    if len(aligned) != len(x) or any(n != (x[channel] if axis == channel else 1) for axis, n in enumerate(aligned)):
        return None
    return FlowNode(("LAYERSCALE",), (tensors[0],), layout=layout)


def _check_parameters(trace: Trace, node, form, params: dict) -> None:
    """A parameter or buffer the forward reads (a get_attr node) is an argument only of a call on the module's
    own parameters (`F.batch_norm(x, self.running_mean, …)`), and there every tensor after the input is one."""
    arguments = node_args(node)
    read = [params[a] for a in arguments if a in params and is_tensor(trace.value(a))]
    if not form.reads_parameters:
        if read:
            raise trace.unsupported(read[0], "a parameter or buffer used directly in the forward is no layer "
                                             "cnnspec knows")
        return
    for argument in arguments[1:]:
        if argument.op != "get_attr" and is_tensor(trace.value(argument)):
            raise Unimportable(f"its argument `{argument.name}` is computed in the forward, not a parameter of the "
                               f"module; cnnspec writes {_function_word(node)} only on the module's own parameters")


def _function_word(node) -> str:
    return getattr(node.target, "__name__", str(node.target))


def _need_one_input(inputs) -> None:
    if len(inputs) != 1:
        raise Unimportable(f"it reads {len(inputs)} tensors; cnnspec joins tensors only by ADD, CONCAT or MUL")


def _join(trace: Trace, node, name: str) -> FlowNode:
    """A merge written as a call: of a list of tensors (torch.cat), or of two operands (+, *, torch.add)."""
    Node = trace.torch.fx.Node
    if name == "CONCAT":
        tensors = node.args[0] if node.args else node.kwargs.get("tensors")
        if not all(isinstance(t, Node) and t in trace.values for t in tensors):
            raise Unimportable("it concatenates something that is not a layer's output")
        return FlowNode(inputs=tuple(tensors), merge=name)
    operands = tuple(node.args[:2])
    tensors = [o for o in operands if isinstance(o, Node) and is_tensor(trace.value(o))]
    if len(operands) == 2 and len(tensors) == 1:
        return _with_constant(trace, name, tensors[0], map_nodes(operands[operands[0] is tensors[0]], trace.value))
    if len(operands) != 2 or len(tensors) != 2:
        raise Unimportable(f"it is no {'sum' if name == 'ADD' else 'product'} of two tensors; {name} joins the "
                           f"outputs of branches")
    return FlowNode(inputs=operands, merge=name, binary=True)


def _with_constant(trace: Trace, name: str, tensor, constant) -> FlowNode:
    """A tensor plus or times a number: nothing for `x + 0` (MobileOne's missing branches) and `x * 1`, SCALE for
    `x * 0.17`; refused otherwise."""
    if not isinstance(constant, (int, float)) or isinstance(constant, bool):
        raise Unimportable(f"it {'adds' if name == 'ADD' else 'multiplies by'} a {type(constant).__name__} that "
                           f"is not a layer's output, which cnnspec cannot write")
    if constant == (0 if name == "ADD" else 1):
        return FlowNode((), (tensor,))
    if name == "MUL":
        return FlowNode((ops.layer_text("SCALE", float(constant)),), (tensor,))
    raise Unimportable(f"it adds the constant {constant} to a tensor, which no layer of cnnspec does; ADD joins "
                       f"the outputs of branches")


def _absorb(nodes: dict) -> dict:
    """`a + b + c` as one ADD of three: a sum (product) written with + whose only reader is another is
    merged into it. (cnnspec's own Add modules are n-ary already and are left as they are, so that a
    spec's nested ADDs come back nested.)"""
    readers: dict = {}
    for node in nodes.values():
        for source in node.inputs:
            readers[source] = readers.get(source, 0) + 1
    absorbed = dict(nodes)
    for key, node in nodes.items():
        if node.merge not in ("ADD", "MUL") or not node.binary:
            continue
        inputs, pending = [], list(node.inputs)
        while pending:
            source = pending.pop(0)
            inner = absorbed.get(source)
            if inner is not None and inner.binary and inner.merge == node.merge and readers[source] == 1:
                pending = list(inner.inputs) + pending
            else:
                inputs.append(source)
        absorbed[key] = replace(node, inputs=tuple(inputs))
    return absorbed
