"""cnnspec: describe a CNN in lecture notation and get every layer's shape, parameters, MACs, memory and
receptive field, exactly and without running it.

    >>> import cnnspec
    >>> report = cnnspec.analyze(cnnspec.parse("INPUT(1, 28, 28) -> CONV(6, k=5, p=2) -> FLATTEN -> FC(10)"))
    >>> report.totals.params
    47206

The pipeline: `parse` (text → syntax tree) → `resolve` (→ IR) → `analyze` (→ Report) → `render`.
torch is never imported here.
"""

from .analyze import analyze
from .errors import CnnspecError, Diagnostic
from .ir import Network
from .report import LayerReport, Report, Totals
from .resolve import resolve
from .sources import load, read_source
from .syntax import Program, parse

__all__ = ["CnnspecError", "Diagnostic", "LayerReport", "Network", "Program", "Report", "Totals", "analyze",
           "from_torch", "load", "parse", "read_source", "resolve"]
__version__ = "0.1.0"


def from_torch(module, input_shape) -> str:
    """The .cnn text of a torch.nn.Module, traced with torch.fx (importer.py, loaded only when used)."""
    from .importer import from_torch as convert

    return convert(module, input_shape)
