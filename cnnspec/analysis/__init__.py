"""The analysis: resolving a syntax tree against the op registry into the IR, and running each layer's
rule to get the Report (shapes, parameters, MACs, memory, receptive field)."""
