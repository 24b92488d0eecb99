"""The classes of cnnspec's own that a TorchSource may name, written into the generated file."""

from __future__ import annotations

HELPERS = {  # the classes of cnnspec's own that a TorchSource may name, written into the generated file
    "StochasticDepth": '''
class StochasticDepth(nn.Module):
    """Stochastic depth, as torchvision.ops.StochasticDepth: in training, zeroes the whole input
    of a sample ("row") or of the batch ("batch") with probability p and scales the rest by
    1 / (1 - p); the identity at inference."""

    def __init__(self, p, mode="row"):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        if self.mode == "row":
            shape = [x.shape[0]] + [1] * (x.dim() - 1)
        else:
            shape = [1] * x.dim()
        keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1.0 - self.p)
        if self.p < 1.0:
            return x * keep / (1.0 - self.p)
        return x * keep
''',
    "Split": '''
class Split(nn.Module):
    """One piece of the channels: torch.chunk(x, parts, dim=1)[index]."""

    def __init__(self, parts, index):
        super().__init__()
        self.parts = parts
        self.index = index

    def forward(self, x):
        return torch.chunk(x, self.parts, dim=1)[self.index]
''',
    "FlattenLinear": '''
class FlattenLinear(nn.Linear):
    """nn.Linear on a feature map: flattens it first."""

    def forward(self, x):
        return super().forward(torch.flatten(x, 1))
''',
}
