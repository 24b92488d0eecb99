"""cnnspec: describe a CNN in lecture notation and get every layer's shape, parameters, MACs, memory and
receptive field, exactly and without running it.

    >>> import cnnspec
    >>> report = cnnspec.analyze(cnnspec.parse("INPUT(1, 28, 28) -> CONV(6, k=5, p=2) -> FLATTEN -> FC(10)"))
    >>> report.totals.params
    47206

The pipeline: `parse` (text → syntax tree) → `resolve` (→ IR) → `analyze` (→ Report) → `render`.
torch is never imported here: `lower`, `verify` and `from_torch` import it when called.
"""

from .analysis.analyze import analyze
from .lang.errors import CnnspecError, Diagnostic
from .lang.ir import Network
from .analysis.report import LayerReport, Report, Totals
from .analysis.resolve import resolve
from .lang.sources import load, read_source
from .lang.syntax import Program, parse
from . import render  # noqa: F401 (gives the Report its rich and Jupyter displays)

__all__ = ["CnnspecError", "Diagnostic", "LayerReport", "Network", "Program", "Report", "Totals", "analyze",
           "from_torch", "load", "lower", "parse", "read_source", "resolve", "verify"]
__version__ = "0.1.0"


def lower(net, *, device=None, dtype=None, seed: int | None = None, **variables):
    """A torch.nn.Module equivalent to the spec (bridge/lower.py; torch is imported only when called)."""
    from .bridge.lower import lower as build

    return build(net, device=device, dtype=dtype, seed=seed, **variables)


def verify(net, *, device: str = "meta", batch: int = 1, seed: int = 0, **variables):
    """Lower the spec, run it once and compare every layer with the analysis (bridge/verify.py)."""
    from .bridge.verify import verify as run

    return run(net, device=device, batch=batch, seed=seed, **variables)


def from_torch(module, input_shape, names: bool = False) -> str:
    """The .cnn text of a torch.nn.Module, traced with torch.fx (bridge/importer/, loaded only when used); with
    `names`, labelled and grouped after the module's paths, so that the lowered spec loads its state dict."""
    from .bridge.importer import from_torch as convert

    return convert(module, input_shape, names=names)
