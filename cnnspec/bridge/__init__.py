"""The bridge to PyTorch: lowering the IR to a torch.nn.Module, verifying it against the Report,
writing it as source, and importing a torch.nn.Module back as a spec. torch is imported only here."""
