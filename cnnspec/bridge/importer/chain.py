"""The flow of tensors as a cnnspec chain: layers one after the other, and where a value is read by several
nodes, branches that end where they join (`ADD { … | … }`); a graph that is no such nest of branches (DenseNet,
DLA, HRNet) as a list of layers whose reused outputs are labelled and read again by `@label`."""

from __future__ import annotations

from dataclasses import dataclass, field

from .trace import Trace, upstream


@dataclass(frozen=True, slots=True)
class Layer:
    text: str
    node: object = field(default=None, compare=False)  # the fx node that writes it (for `names`)


@dataclass(frozen=True, slots=True)
class Merge:
    name: str  # ADD, CONCAT, MUL
    branches: tuple[tuple, ...]
    node: object = field(default=None, compare=False)  # the fx node of the join


@dataclass(frozen=True, slots=True)
class Labelled:
    """An item whose output is read again later: `x3: CONV(…)`, `x3: [BN -> RELU]`."""

    label: str
    items: tuple
    group: bool = False  # a scope of its own (`layer1: [ADD {…}]`), not a labelled layer or merge (`x3: ADD {…}`)


@dataclass(frozen=True, slots=True)
class Ref:
    label: str  # `@x3`


class _NotNested(Exception):
    """The graph is no nest of branches; the error says where, for a graph that cannot be written otherwise."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


def chain(trace: Trace, nodes: dict, start, stop, unused=()) -> tuple:
    """The items from the value `start` to the node `stop`, both given by fx node: nested branches where the
    graph is a nest of them, else the graph with named outputs. `unused`: other outputs (auxiliary heads), whose
    layers are written too, and left behind."""
    walker = _Chain(trace, nodes, stop, unused)
    if unused:
        return walker.graph(start, stop, unused)
    try:
        return walker.walk(start, stop)
    except _NotNested:
        return walker.graph(start, stop)


def _layers(flow, node) -> list:
    """The items of a node's layers: labelled when a later layer `shares=` its weights."""
    layers = [Layer(text, node) for text in flow.items]
    return [Labelled(flow.label, tuple(layers))] if flow.label else layers


def post_dominators(nodes, users: dict, order: dict, stop) -> dict:
    """The immediate post-dominator of every node: the first node every path from it to the output
    passes through (Cooper, Harvey & Kennedy's intersection, on a DAG in reverse topological order)."""
    ipdom = {stop: stop}
    for n in sorted(nodes, key=order.__getitem__, reverse=True):
        if n is stop:
            continue
        found = None
        for s in users[n]:
            if found is None:
                found = s
                continue
            a, b = s, found
            while a is not b:
                while order[a] < order[b]:
                    a = ipdom[a]
                while order[b] < order[a]:
                    b = ipdom[b]
            found = a
        ipdom[n] = found
    return ipdom


class _Chain:
    def __init__(self, trace: Trace, nodes: dict, stop, unused=()):
        self.trace, self.nodes, self.order = trace, nodes, trace.order
        live = sorted(set().union(*(upstream(s, self.inputs) for s in (stop, *unused))), key=self.order.__getitem__)
        self.users: dict = {n: [] for n in live}
        for n in live:
            for source in nodes[n].inputs:
                if n not in self.users[source]:
                    self.users[source].append(n)

    def inputs(self, node) -> tuple:
        return self.nodes[node].inputs

    def region(self, start, stop) -> set:
        """The nodes between the value `start` (excluded) and `stop` (included); every path back from `stop`
        must reach `start`."""
        found = upstream(stop, self.inputs, start)
        if any(not self.nodes[n].inputs for n in found):
            raise self.structure(start, stop)
        return found

    def graph(self, start, stop, unused=()) -> tuple:
        """Every node from `start` to `stop` in the traced order, each reading the one before it unless it says
        otherwise (`@x3 -> …`, `CONCAT { @x1 | @x2 }`); an output read other than right after it is labelled.
        A node that writes no layer (a copy, a chunk) stands for the value it reads."""
        order = sorted(set().union(*(upstream(s, self.inputs, start) for s in (stop, *unused))),
                       key=self.order.__getitem__)
        same = {}  # a node that writes nothing → the node whose value it is

        def value(node):
            while node in same:
                node = same[node]
            return node

        for node in order:
            flow = self.nodes[node]
            if not flow.items and flow.merge is None and len(set(flow.inputs)) == 1:
                same[node] = flow.inputs[0]
        written = [n for n in order if n not in same]
        after = dict(zip(written, [start, *written]))  # each written node → the one written before it
        final = written[-1] if written else start
        read_later = set()  # the values read other than right after they are written: they get labels
        for node in written:
            flow = self.nodes[node]
            sources = [value(s) for s in flow.inputs] if flow.merge is not None else [value(flow.inputs[0])]
            read_later.update(s for s in sources if s is not after[node])
        if value(stop) is not final:
            read_later.add(value(stop))
        taken = {self.nodes[n].label for n in written if self.nodes[n].label}
        numbers = (f"x{k}" for k in range(1, 2 * len(written) + 2) if f"x{k}" not in taken)
        labels = {node: "input" if node is start else self.nodes[node].label or next(numbers)
                  for node in [start, *written] if node in read_later or self.nodes[node].label}

        def reference(source, previous) -> tuple:
            source = value(source)
            return () if source is previous else (Ref(labels[source]),)

        items: list = []
        for node in written:
            flow = self.nodes[node]
            if flow.merge is not None:
                refs, layers = (), (Merge(flow.merge, tuple(reference(s, after[node]) for s in flow.inputs), node),)
            else:
                refs, layers = reference(flow.inputs[0], after[node]), tuple(Layer(t, node) for t in flow.items)
            items += refs
            items += [Labelled(labels[node], layers)] if node in labels else layers
        if value(stop) is not final:
            items.append(Ref(labels[value(stop)]))
        return tuple(items)

    def structure(self, start, stop, region=()):
        """The error for a graph that is no chain of branches (raised as _NotNested, which `chain` answers by
        writing the graph with named outputs): it names a node whose output is used in two branches (or in a
        branch and after it) when there is one to name."""
        return _NotNested(self._structure(start, stop, region))

    def _structure(self, start, stop, region=()):
        label = self.trace.label
        for node in sorted(region, key=self.order.__getitem__):
            readers = self.users.get(node, [])
            if node is not stop and any(r not in region for r in readers):
                names = " and ".join(f"`{r.name}`" for r in sorted(readers, key=self.order.__getitem__))
                return self.trace.fail(f"the graph of {label} is not a chain of branches that join again: the "
                                       f"output of node `{node.name}` is used by nodes {names} in different "
                                       f"branches, which cnnspec cannot write (its branches share no layers)")
        return self.trace.fail(f"the graph of {label} between node `{start.name}` and node `{stop.name}` is not a "
                               f"chain of branches that join again: a value is used across branches, which "
                               f"cnnspec cannot write")

    def walk(self, start, stop) -> tuple:
        """The chain from `start` to `stop`: layers one after the other until a value is read by several
        nodes; there branches start, and they end where every path from that value meets again (its
        immediate post-dominator within the stretch), which must be a join (ADD, CONCAT, MUL) of exactly
        those branches."""
        region = self.region(start, stop)
        following = {n: [u for u in self.users[n] if u in region] for n in (*region, start)}
        ipdom = post_dominators(following.keys(), following, self.order, stop)
        items: list = []
        current = start
        while current is not stop:
            after = following[current]
            if len(after) == 1 and self.nodes[after[0]].merge is None:
                current = after[0]
                items += _layers(self.nodes[current], current)
                continue
            join = ipdom.get(current)
            if join is None or join not in region or self.nodes[join].merge is None:
                raise self.structure(current, stop, region)
            branches, seen = [], set()
            for source in self.nodes[join].inputs:
                if source is current:
                    branches.append(())
                    continue
                if source not in region:
                    raise self.structure(current, join, region)
                inside = self.region(current, source)
                if inside & seen:
                    raise self.structure(current, join, inside)
                seen |= inside
                branches.append(self.walk(current, source))
            items.append(Merge(self.nodes[join].merge, tuple(branches), join))
            current = join
        return tuple(items)
