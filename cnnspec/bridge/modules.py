"""The few module classes PyTorch lacks, for lowered networks: joins of branches, resize, split, and the
container that runs a scope's layers in the order the spec gives. Imported only when torch is wanted."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Scope(nn.Module):
    """A block, a labelled group or the network: named children run by a fixed plan.

    `plan` lists, for each child in execution order, the values it takes: 0 is the scope's input, k the
    output of the k-th step. Most steps take the previous value; a join takes the ends of its branches.
    """

    def __init__(self):
        super().__init__()
        self.plan: list[tuple[str, tuple[int, ...]]] = []
        self.output = None  # the step the scope returns (None: its last), and the steps that leads to
        self.needed: set[int] | None = None

    def add_step(self, name: str, module: nn.Module, inputs: tuple[int, ...]) -> int:
        self.add_module(name, module)
        self.plan.append((name, inputs))
        return len(self.plan)

    def finish(self, output: int) -> None:
        """Return step `output`, and run only the steps it depends on (an auxiliary head left behind by
        `@name` is built, as its parameters are the network's, but not run)."""
        needed, pending = set(), [output]
        while pending:
            step = pending.pop()
            if step and step not in needed:
                needed.add(step)
                pending.extend(self.plan[step - 1][1])
        self.output, self.needed = output, needed

    def forward(self, x):
        values = [x]
        for step, (name, inputs) in enumerate(self.plan, 1):
            run = self.needed is None or step in self.needed
            values.append(self._modules[name](*(values[i] for i in inputs)) if run else None)
        return values[-1] if self.output is None else values[self.output]

    def extra_repr(self) -> str:
        joins = [f"{name} <- {', '.join(str(i) for i in inputs)}" for name, inputs in self.plan if len(inputs) > 1]
        return "; ".join(joins)


class Shared(nn.Module):
    """A second call of another layer (`shares=`): it runs that layer's module, whose weights stay that
    layer's only (held outside this module's children, so that parameters() and the state dict list them
    once, and called by its forward so that hooks and FlopCounterMode count the call here)."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = [layer]  # a list: not a child

    def forward(self, x):
        return self.layer[0].forward(x)

    def extra_repr(self) -> str:
        return f"shares the weights of {type(self.layer[0]).__name__}"


class Pad(nn.Module):
    """F.pad with fixed sides (last axis first, as F.pad takes them), a mode and a value."""

    def __init__(self, pads, mode="constant", value=0.0):
        super().__init__()
        self.pads, self.mode, self.value = tuple(pads), mode, value

    def forward(self, x):
        return F.pad(x, self.pads, self.mode, self.value if self.mode == "constant" else None)

    def extra_repr(self) -> str:
        return f"{self.pads}, mode={self.mode!r}" + (f", value={self.value}" if self.value else "")


class ChannelLayerNorm(nn.LayerNorm):
    """Layer norm over the channels of each position (ConvNeXt's LayerNorm2d): nn.LayerNorm with the channels
    moved last and back; on a vector, nn.LayerNorm itself."""

    def __init__(self, channels, eps=1e-5):
        super().__init__(channels, eps=eps)

    def forward(self, x):
        if x.dim() == 2:
            return super().forward(x)
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)


class LayerScale(nn.Module):
    """A learned factor per channel, `weight` broadcast over the positions."""

    def __init__(self, shape, init=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.full(tuple(shape), float(init)))

    def forward(self, x):
        return x * self.weight


class Scale(nn.Module):
    """A product with a constant: `x * factor`."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor}"


class Affine(nn.Module):
    """A learned scale and bias, one number each: `scale * x + bias` (HGNetV2's LearnableAffineBlock)."""

    def __init__(self, scale: float = 1.0, bias: float = 0.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([float(scale)]))
        self.bias = nn.Parameter(torch.tensor([float(bias)]))

    def forward(self, x):
        return self.scale * x + self.bias


class GlobalResponseNorm(nn.Module):
    """ConvNeXt V2's global response normalisation, channels first: each channel's L2 norm over the
    positions, divided by the mean of those norms over the channels, scales the input (learned `weight`,
    `bias`; both start at 0, so that the layer starts as the identity)."""

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.eps, self.channel_dim = eps, 1
        self.weight = nn.Parameter(torch.zeros(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        spatial = tuple(range(2, x.dim()))
        norms = x.norm(p=2, dim=spatial, keepdim=True)
        scale = norms / (norms.mean(dim=1, keepdim=True) + self.eps)
        shape = (1, -1) + (1,) * len(spatial)
        return x + torch.addcmul(self.bias.view(shape), self.weight.view(shape), x * scale)


class BlurPool(nn.Module):
    """Anti-aliased downsampling as timm's BlurPool2d: padding ⌊(s − 1 + k − 1) / 2⌋ on each side, then a
    depthwise convolution with the fixed binomial filter, one copy per channel (`channels` given) or one
    expanded to them (`channels` None)."""

    def __init__(self, channels, filt_size: int = 3, stride: int = 2, pad_mode: str = "reflect"):
        super().__init__()
        import math

        self.channels, self.filt_size, self.stride, self.pad_mode = channels, filt_size, stride, pad_mode
        self.padding = [(stride - 1 + filt_size - 1) // 2] * 4
        coeffs = torch.tensor([math.comb(filt_size - 1, k) for k in range(filt_size)], dtype=torch.float32)
        coeffs = coeffs / 2 ** (filt_size - 1)
        blur = (coeffs[:, None] * coeffs[None, :])[None, None].repeat(channels or 1, 1, 1, 1)
        self.register_buffer("filt", blur, persistent=False)

    def forward(self, x):
        x = F.pad(x, self.padding, mode=self.pad_mode)
        weight = self.filt if self.channels is not None else self.filt.expand(x.shape[1], 1, *self.filt.shape[2:])
        return F.conv2d(x, weight, stride=self.stride, groups=x.shape[1])


class StdConv2d(nn.Conv2d):
    """A 2-D convolution whose weight is standardised per output channel as it is used (timm's StdConv2d), and
    with `gain` scaled by a learned gain per output channel times gamma / √fan-in (timm's ScaledStdConv2d)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, gain=False, gamma=1.0, eps=1e-6):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        self.eps = eps
        self.scale = gamma * self.weight[0].numel() ** -0.5
        self.gain = nn.Parameter(torch.ones(out_channels, 1, 1, 1)) if gain else None

    def forward(self, x):
        scale = None if self.gain is None else (self.gain * self.scale).view(-1)
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, weight=scale,
                              training=True, momentum=0.0, eps=self.eps).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ChannelConv(nn.Module):
    """ECA's 1-D convolution across the channels of an N×C×1×1 map: the channels as the positions of one row."""

    def __init__(self, k: int = 3, bias: bool = False):
        super().__init__()
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=bias)

    def forward(self, x):
        return self.conv(x.view(x.shape[0], 1, -1)).view(x.shape)


class AttentionPool(nn.Module):
    """GCNet's context modelling: a 1×1 conv to one map, its softmax over the positions, and the positions'
    sum weighted by it, to N×C×1×…×1."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv_attn = nn.Conv2d(channels, 1, kernel_size=1)

    def forward(self, x):
        n, c = x.shape[:2]
        attn = F.softmax(self.conv_attn(x).reshape(n, 1, -1), dim=-1).unsqueeze(3)
        context = x.reshape(n, c, -1).unsqueeze(1) @ attn
        return context.view(n, c, *(1 for _ in x.shape[2:]))


class SpaceToDepth(nn.Module):
    """Each block×block patch of positions as block² times the channels, in timm's order (TResNet's stem):
    the channel of (row i, column j, channel c) of a patch is (i·block + j)·C + c."""

    def __init__(self, block: int):
        super().__init__()
        self.block = block

    def forward(self, x):
        n, c, h, w = x.shape
        b = self.block
        x = x.view(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
        return x.reshape(n, c * b * b, h // b, w // b)

    def extra_repr(self) -> str:
        return f"block={self.block}"


class PositionLinear(nn.Linear):
    """nn.Linear applied to the channels at every position (channels moved last and back)."""

    def forward(self, x):
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)


class Add(nn.Module):
    """The sum of its inputs (a residual connection)."""

    def forward(self, *inputs):
        result = inputs[0]
        for x in inputs[1:]:
            result = result + x
        return result


class Concat(nn.Module):
    """Its inputs concatenated on the channels."""

    def forward(self, *inputs):
        return torch.cat(inputs, dim=1)


class Mul(nn.Module):
    """The element-wise product of its inputs, broadcast (a gate)."""

    def forward(self, *inputs):
        result = inputs[0]
        for x in inputs[1:]:
            result = result * x
        return result


class FlattenLinear(nn.Linear):
    """nn.Linear that flattens a spatial input first (cnnspec's FC on a feature map)."""

    def forward(self, x):
        return super().forward(x.flatten(1))


class Resize(nn.Module):
    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None):
        super().__init__()
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, align_corners

    def forward(self, x):
        return F.interpolate(x, size=self.size, scale_factor=self.scale_factor, mode=self.mode,
                             align_corners=self.align_corners)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class Split(nn.Module):
    """One piece of `torch.chunk(x, parts, dim=1)`."""

    def __init__(self, parts: int, index: int):
        super().__init__()
        self.parts, self.index = parts, index

    def forward(self, x):
        return x.chunk(self.parts, dim=1)[self.index]

    def extra_repr(self) -> str:
        return f"parts={self.parts}, index={self.index}"


class Slice(nn.Module):
    """Channels start … stop − 1: `x[:, start:stop]`."""

    def __init__(self, start: int, stop: int):
        super().__init__()
        self.start, self.stop = start, stop

    def forward(self, x):
        return x[:, self.start:self.stop]

    def extra_repr(self) -> str:
        return f"start={self.start}, stop={self.stop}"


class StochasticDepth(nn.Module):
    """Drops the whole input, per sample ("row") or per batch, with probability p in training (as
    torchvision.ops.StochasticDepth); the identity at inference."""

    def __init__(self, p: float, mode: str = "row"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        shape = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p) if self.p < 1.0 else x * keep

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle, written with view and transpose so that it runs on every device."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, *spatial = x.shape
        return x.view(n, self.groups, c // self.groups, *spatial).transpose(1, 2).reshape(n, c, *spatial)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
