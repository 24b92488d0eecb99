"""What a worksheet can ask: its columns, its file formats and its kinds of extra question. Kept apart from
worksheet.py, which needs the analysis, because the command line reads them for its options on every call."""

# The columns a worksheet can ask for, with their headings (the notes' first four, then two more).
COLUMNS = {
    "output": "output size",
    "params": "# parameters",
    "products": "# products",
    "flops": "# FLOPs",
    "rf": "receptive field",
    "activations": "activations",
}
DEFAULT_COLUMNS = ("output", "params", "products")
FORMATS = ("md", "csv", "yaml", "tex")  # what sheets.py writes and reads
SUMMED = ("params", "products", "flops", "activations")  # the columns with a total row
QUESTION_KINDS = {
    "shape": "the output shape of one layer",
    "params": "the parameter count of one layer",
    "padding": "the padding that keeps the size (convolution or pooling)",
}
