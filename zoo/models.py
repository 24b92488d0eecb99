"""The real model zoos the zoo tier checks cnnspec against: every torchvision classification CNN and a sample
of timm's CNN families (`timm_sample.txt`), each built with random weights on the meta device, and what makes
an import exact: the analysis of the imported spec equals the model itself, counted by PyTorch.

Run where torchvision and timm are installed (see the README's "Zoo tier"); nothing in `cnnspec` imports this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

HERE = Path(__file__).parent
# The transformers of torchvision's classification models: the attention issue covers them.
TRANSFORMERS = ("vit_", "swin_", "maxvit_")


def torchvision_cnns() -> list[str]:
    import torchvision

    names = torchvision.models.list_models(module=torchvision.models)
    return [n for n in names if not n.startswith(TRANSFORMERS)]


def timm_sample() -> list[str]:
    return [line.strip() for line in (HERE / "timm_sample.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def build(source: str, name: str, device="meta"):
    """The model (eval mode, random weights) and the input shape it is imported with (its own default size)."""
    try:
        return _build(source, name, device)
    except NotImplementedError:  # torchvision's RegNets compute their widths with tensors: on the meta device
        model, shape = _build(source, name, "cpu")  # they cannot, so they are built on the CPU and moved
        return model.to(device), shape


def _build(source: str, name: str, device):
    with torch.device(device):
        if source == "torchvision":
            import torchvision

            model = torchvision.models.get_model(name, weights=None)
            shape = (3, 299, 299) if name == "inception_v3" else (3, 224, 224)
        else:
            import timm

            model = timm.create_model(name, pretrained=False)
            shape = tuple(model.pretrained_cfg.get("input_size", (3, 224, 224)))
    return model.eval(), shape


@dataclass(frozen=True)
class Counts:
    params: int
    buffers: int
    macs: int
    output_shape: tuple[int, ...]


def truth(model, shape) -> Counts:
    """What PyTorch says: every parameter and buffer once, FlopCounterMode's total / 2, the output's shape."""
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers())
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.empty((1, *shape), device="meta"))
    return Counts(params, buffers, counter.get_total_flops() // 2, tuple(out.shape[1:]))


def analysis(text: str) -> Counts:
    import cnnspec

    report = cnnspec.analyze(cnnspec.parse(text))
    t = report.totals
    return Counts(t.params, t.buffers, t.macs, tuple(report.output_shape))


@dataclass
class Outcome:
    source: str
    name: str
    shape: tuple[int, ...] = ()
    text: str | None = None
    error: str | None = None
    import_cpu: float | None = None  # seconds of CPU time of from_torch, after torch and the model are built
    model: Counts | None = None
    spec: Counts | None = None

    @property
    def exact(self) -> bool:
        return self.spec is not None and self.spec == self.model


def check(source: str, name: str) -> Outcome:
    import cnnspec

    outcome = Outcome(source, name)
    model, shape = build(source, name)
    outcome.shape = shape
    outcome.model = truth(model, shape)
    start = time.process_time()
    try:
        outcome.text = cnnspec.from_torch(model, shape)
    except cnnspec.CnnspecError as exc:
        outcome.error = str(exc)
        return outcome
    finally:
        outcome.import_cpu = time.process_time() - start
    outcome.spec = analysis(outcome.text)
    return outcome
