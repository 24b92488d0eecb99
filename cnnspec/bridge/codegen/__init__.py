"""IR and Report to standalone PyTorch source: what `cnnspec lower FILE -o model.py` writes.

The generated file imports only torch and builds, with no argument, the same module as `lower.lower`: the
same parameter and buffer names (`layer1.0.conv1.weight`), in the same order, with the same shapes, and the
same forward. It reads as a student would write it:

- one main class (`Net`): `__init__` names each submodule, `forward` calls them in turn; when the spec's
  names are positions (LeNet's `0.weight`), it is an nn.Sequential whose forward loops over its layers;
- one helper class per block of the spec that holds layers of its own (`class Basic(nn.Module)`, its own
  forward), however often it is called: its constructor takes the block's parameters (`planes`, `s=1`),
  the layers are written with the spec's expressions (`nn.Conv2d(in_channels, 4 * planes, ...)`), and the
  parts that a repeat count of 0 leaves out in some calls are written under their condition (`if proj:`);
- blocks made only of blocks (`basic_layer`), labelled groups and repeats are nn.Sequential containers;
  repeats of one block become loops (`*[DenseLayer(64 + 32 * i) for i in range(6)]`,
  `for block in self.layer1: x = block(x)`);
- branches are written out in forward: `x = out + identity`, `torch.cat([...], dim=1)`, `x * scale`;
- a labelled output that `@label` reads again is a variable named after its label (`x1 = self.x1(x)` …
  `out = torch.cat([x, x1], dim=1)`, `x` the input `@input` reads); a layer off the path to the output (an
  auxiliary head left behind) is built in `__init__`, so that the parameters are the same, and in forward is
  a comment, as `lower` builds it and never runs it;
- every layer, block call and group carries a comment with its source line: `# line 4: CONV(6, k=5, p=2)`.

Nothing is trusted blindly: a spec expression gives a value only if, evaluated with the values of every call
of the class, it gives exactly the value `lower` uses; else the value is a number (when the same in every
call) or a new constructor parameter. torch is not imported here: generating is writing text.
"""

from __future__ import annotations

import keyword

from ...lang.ir import Network
from ...lang.syntax import Program
from .assembly import FileWriter
from .tree import ModelBuilder


def generate(net: Program | Network, *, class_name: str = "Net", **variables) -> str:
    """The source of a Python module defining `class_name`, an nn.Module equivalent to the spec."""
    from ...analysis.analyze import analyze
    from ...analysis.resolve import resolve

    if not class_name.isidentifier() or keyword.iskeyword(class_name):
        raise ValueError(f"class_name must be a Python identifier, not {class_name!r}")
    # A block becomes a class with the spec's parameters from the calls the IR records. They are read only
    # for a spec resolved here, with `variables`; a Network given is written with plain values.
    with_calls = isinstance(net, Program)
    if with_calls:
        net = resolve(net, variables)
    report = analyze(net)
    _refuse_shared(net.body)
    root = ModelBuilder(report, with_calls).network(net)
    return FileWriter(net, report, root, class_name, variables).source()


def _refuse_shared(nodes) -> None:
    """Generated source does not write a layer that `shares=` another's weights yet: a CnnspecError at it."""
    from ...lang.errors import CnnspecError
    from ...lang.ir import Block, Group, Layer, Merge, Repeat

    for node in nodes:
        if isinstance(node, Layer) and node.shares is not None:
            raise CnnspecError(f"`shares={node.shares}`: generated source does not write a layer that shares "
                               f"another's weights yet; `cnnspec.lower` builds the module, and `cnnspec verify` "
                               f"checks it", node.shares_span)
        if isinstance(node, (Block, Group, Repeat)):
            _refuse_shared(node.body)
        elif isinstance(node, Merge):
            for branch in node.branches:
                _refuse_shared(branch)
