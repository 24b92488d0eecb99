"""Rendering: the Report as a table, Markdown, CSV or JSON, and the runtime check as a table. Reads only
the Report; computes nothing.

Importing this package gives the Report its displays (the table in rich, Markdown in Jupyter), so that the
Report, plain data, never imports a renderer; `import cnnspec` imports it.
"""

from ..analysis.report import Report
from .text import markdown, table

Report.__rich__ = lambda report: table(report)
Report._repr_markdown_ = lambda report: markdown(report)
