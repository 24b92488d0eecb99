"""The flow of tensors as a cnnspec chain: layers one after the other, and where a value is read by several
nodes, branches that end where they join (`ADD { … | … }`)."""

from __future__ import annotations

from dataclasses import dataclass

from .trace import Trace, upstream


@dataclass(frozen=True, slots=True)
class Layer:
    text: str


@dataclass(frozen=True, slots=True)
class Merge:
    name: str  # ADD, CONCAT, MUL
    branches: tuple[tuple, ...]


def chain(trace: Trace, nodes: dict, start, stop) -> tuple:
    """The items from the value `start` to the node `stop`, both given by fx node."""
    return _Chain(trace, nodes, stop).walk(start, stop)


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
    def __init__(self, trace: Trace, nodes: dict, stop):
        self.trace, self.nodes, self.order = trace, nodes, trace.order
        live = sorted(upstream(stop, self.inputs), key=self.order.__getitem__)
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

    def structure(self, start, stop, region=()):
        """The error for a graph that is no chain of branches: it names a node whose output is used in two
        branches (or in a branch and after it) when there is one to name."""
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
                items += [Layer(text) for text in self.nodes[current].items]
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
            items.append(Merge(self.nodes[join].merge, tuple(branches)))
            current = join
        return tuple(items)
