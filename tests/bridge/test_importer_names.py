"""`from_torch(…, names=True)`: labels and groups after the module's paths, so that the lowered spec loads the
module's state dict strictly and computes what it computes; what cannot be mirrored falls back with a note."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import cnnspec  # noqa: E402


class Basic(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(Basic(8, 8), Basic(8, 8))
        self.layer2 = nn.Sequential(Basic(8, 16, 2), Basic(16, 16))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def _sequential():
    return nn.Sequential(nn.Conv2d(3, 6, 3), nn.Identity(), nn.ReLU(), nn.Dropout(0.3), nn.Conv2d(6, 6, 3),
                         nn.BatchNorm2d(6), nn.MaxPool2d(2, ceil_mode=True), nn.Flatten(), nn.LazyLinear(5))


class Branch(nn.Module):
    def __init__(self, cin, cout, k):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return nn.functional.relu(self.bn(self.conv(x)))


class InceptionLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = Branch(3, 8, 3)
        self.branch1 = Branch(8, 4, 1)
        self.branch3 = nn.Sequential(Branch(8, 4, 1), Branch(4, 6, 3))
        self.pool = nn.MaxPool2d(3, 1, 1)
        self.branch_pool = Branch(8, 2, 1)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        x = self.stem(x)
        x = torch.cat([self.branch1(x), self.branch3(x), self.branch_pool(self.pool(x))], 1)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class DenseLike(nn.Module):
    """Dense connections within one forward: the graph form, whose `@` refs read labels of one scope."""

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 4, 3, padding=1)
        self.conv3 = nn.Conv2d(12, 4, 3, padding=1)
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        a = self.conv0(x)
        b = self.conv1(a)
        c = self.conv2(torch.cat([a, b], 1))
        d = self.conv3(torch.cat([a, b, c], 1))
        y = torch.cat([a, b, c, d], 1)
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))


class RegNetLike(nn.Module):
    """torchvision's RegNet names its blocks `block1-0`, which is no NAME: a quoted label."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential()
        self.trunk.add_module("block1-0", nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4)))
        self.trunk.add_module("block1-1", nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()))
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.trunk(x), 1), 1))


def _randomised(model):
    torch.manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 2)
                module.bias.uniform_(-1, 1)
    return model.eval()


@pytest.mark.parametrize("make,shape", [(ResNetLike, (3, 16, 16)), (_sequential, (3, 12, 12)),
                                        (InceptionLike, (3, 10, 10)), (DenseLike, (3, 8, 8)),
                                        (RegNetLike, (3, 6, 6))],
                         ids=["resnet", "sequential", "inception", "dense", "regnet"])
def test_the_lowered_spec_loads_the_state_dict_and_computes_the_same(make, shape):
    torch.manual_seed(1)
    model = make()
    model(torch.zeros(1, *shape))  # sizes the lazy layer
    model = _randomised(model)
    text = cnnspec.from_torch(model, shape, names=True)
    assert "written without" not in text
    lowered = cnnspec.lower(cnnspec.parse(text)).eval()
    lowered.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        assert (lowered(x) - model(x)).abs().max().item() <= 1e-5


def test_a_module_name_that_is_no_name_is_a_quoted_label():
    assert cnnspec.from_torch(RegNetLike(), (3, 6, 6), names=True).splitlines()[1:] == [
        "INPUT(3, 6, 6)",
        "-> trunk: [",
        '     "block1-0": [0: CONV(4, k=3, p=1) -> 1: BN] -> "block1-1": [0: CONV(4, k=3, p=1) -> 1: RELU]',
        "   ] -> GAP -> FLATTEN -> fc: FC(2)",
    ]


def test_the_resnet_like_spec_mirrors_the_module_paths():
    text = cnnspec.from_torch(_randomised(ResNetLike()), (3, 16, 16), names=True)
    body = text.split("\n", 1)[1]
    assert body.startswith("INPUT(3, 16, 16) -> conv1: CONV(8, k=3, p=1, bias=false) -> bn1: BN -> RELU\n"
                           "-> layer1: [\n     0: [\n       ADD {\n           conv1: CONV(8, k=3, p=1, "
                           "bias=false) -> bn1: BN -> RELU\n           -> conv2: CONV(8, k=3, p=1, bias=false) "
                           "-> bn2: BN(eps=0.001, momentum=0.01)\n         | []\n       } -> RELU\n     ]\n")
    assert "downsample: [0: CONV(16, k=1, s=2, bias=false) -> 1: BN]" in body


def test_the_default_output_is_unchanged_by_the_option():
    net = _sequential()
    net(torch.zeros(1, 3, 12, 12))
    assert cnnspec.from_torch(net, (3, 12, 12)).splitlines()[1].startswith(
        "INPUT(3, 12, 12) -> CONV(6, k=3) -> RELU -> DROPOUT(0.3) -> CONV(6, k=3) -> BN")
    assert cnnspec.from_torch(net, (3, 12, 12), names=True).splitlines()[1].startswith(
        "INPUT(3, 12, 12) -> 0: CONV(6, k=3) -> 2: RELU -> 3: DROPOUT(0.3) -> 4: CONV(6, k=3)")


def test_a_module_called_twice_with_its_weights_falls_back_with_a_note():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)

        def forward(self, x):
            return self.conv(self.conv(x))

    text = cnnspec.from_torch(Twice(), (3, 8, 8), names=True)
    assert text.splitlines()[1] == ("# note: written without the module's names (its state dict does not load): "
                                    "`conv` (Conv2d) is called more than once with its weights")


def test_a_number_label_names_a_child_and_may_not_take_an_unlabelled_items_number():
    lowered = cnnspec.lower(cnnspec.parse("INPUT(3, 8, 8) -> seq: [0: [0: CONV(4, k=1)] -> RELU -> 2: BN]"))
    assert list(lowered.state_dict())[:2] == ["seq.0.0.weight", "seq.0.0.bias"]
    assert "seq.2.running_mean" in lowered.state_dict()
    with pytest.raises(cnnspec.CnnspecError, match="label `1` is the name of the unlabelled item"):
        cnnspec.analyze(cnnspec.parse("INPUT(3, 8, 8) -> RELU -> RELU -> 1: CONV(3, k=1)"))
    with pytest.raises(cnnspec.CnnspecError, match="this item is number 1 of its scope"):
        cnnspec.analyze(cnnspec.parse("INPUT(3, 8, 8) -> 1: CONV(3, k=1) -> RELU"))
