"""Networks used for dataset condensation (DC, DSA, DM).

The architectures follow the conventions of the authors' public code
(VICO-UoE/DatasetCondensation, ``networks.py``), re-written here:

* ``ConvNet``: the default condensation backbone, ``depth`` blocks of
  [3x3 conv -> norm -> act -> 2x2 pool] and a linear classifier.
* ``MLP``, ``LeNet``, ``AlexNet``, ``VGG11`` and ``ResNet18`` for
  cross-architecture evaluation, ``AlexCifarNet`` (the customised AlexNet of
  Dataset Distillation, used only in the DD comparison: Tables 3.3, A.T11), plus the ``_ap`` ResNet variant used to
  condense (average-pooling downsampling, classifier on the unpooled
  final map; parameter for parameter the authors' ``ResNet18_AP``).

"Instance norm" is implemented as ``nn.GroupNorm(C, C, affine=True)`` (one
group per channel), exactly as the authors do, so it has learnable affine
parameters and no running statistics.

Single-channel inputs (MNIST-like, 28x28) get extra padding on the first
layer so that the spatial sizes match the 32x32 colour datasets.

Weight initialisation: the thesis states Kaiming initialisation. We keep
PyTorch's default initialisation, which for ``nn.Conv2d`` and ``nn.Linear``
is a Kaiming-uniform variant (``a=sqrt(5)``); the authors' code also relies
on these defaults.

Every network exposes

* ``forward(x)``: ``(N, C, H, W) -> (N, num_classes)`` logits, and
* ``embed(x)``: ``(N, C, H, W) -> (N, F)`` flattened penultimate features.

Use :func:`get_network` to build a network by name.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "NETWORKS",
    "NORMS",
    "ACTS",
    "POOLINGS",
    "ConvNet",
    "MLP",
    "LeNet",
    "AlexNet",
    "AlexCifarNet",
    "VGG11",
    "ResNet18",
    "BasicBlock",
    "get_network",
    "has_batchnorm",
]

NETWORKS = (
    "mlp",
    "convnet",
    "convnet_bn",
    "convnet_d4",
    "convnet_d4_bn",
    "lenet",
    "alexnet",
    "alexnet_bn",
    "alexcifarnet",
    "vgg11",
    "vgg11_bn",
    "resnet18",
    "resnet18_bn",
    "resnet18_ap",
    "resnet18_ap_bn",
)

NORMS = ("none", "batchnorm", "layernorm", "instancenorm", "groupnorm")
ACTS = ("sigmoid", "relu", "leakyrelu")
POOLINGS = ("none", "maxpooling", "avgpooling")

_CONVNET_OVERRIDES = ("width", "depth", "norm", "act", "pooling")


def _check_choice(kind: str, value: str, options: Sequence[str]) -> str:
    if value not in options:
        raise ValueError(f"unknown {kind} {value!r}; valid options: {', '.join(options)}")
    return value


def _conv_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _instance_norm(channels: int) -> nn.Module:
    # The authors' "instance norm": one group per channel, learnable affine.
    return nn.GroupNorm(channels, channels, affine=True)


def _norm2d(norm: str, channels: int) -> nn.Module:
    """Channel-wise norm used by VGG / ResNet: 'instancenorm' or 'batchnorm'."""
    if norm == "batchnorm":
        return nn.BatchNorm2d(channels)
    return _instance_norm(channels)


# ---------------------------------------------------------------------------
# ConvNet
# ---------------------------------------------------------------------------


class _FeaturesThenLinear(nn.Module):
    """A ``features`` stack, flattened, then a linear ``classifier``; ``embed`` = the flattened features."""

    features: nn.Module
    classifier: nn.Linear

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, F)``: flattened output of ``features``."""
        return torch.flatten(self.features(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, num_classes)``."""
        return self.classifier(self.embed(x))


class ConvNet(_FeaturesThenLinear):
    """ConvNet of the DC papers: ``depth`` x [conv3x3 -> norm -> act -> pool], then Linear.

    Input ``(N, channel, H, W)``; ``forward`` returns ``(N, num_classes)``,
    ``embed`` returns ``(N, width * H' * W')`` where ``H', W'`` is the spatial
    size after the last block (e.g. 4x4 for 32x32 inputs and depth 3).
    """

    def __init__(
        self,
        channel: int,
        num_classes: int,
        width: int = 128,
        depth: int = 3,
        norm: str = "instancenorm",
        act: str = "relu",
        pooling: str = "avgpooling",
        im_size: Sequence[int] = (32, 32),
    ):
        super().__init__()
        _check_choice("norm", norm, NORMS)
        _check_choice("act", act, ACTS)
        _check_choice("pooling", pooling, POOLINGS)
        if isinstance(width, bool) or not (isinstance(width, int) and width > 0):
            raise ValueError(f"width must be a positive int, got {width!r}")
        if isinstance(depth, bool) or not (isinstance(depth, int) and depth > 0):
            raise ValueError(f"depth must be a positive int, got {depth!r}")

        self.width, self.depth = width, depth
        self.norm, self.act, self.pooling = norm, act, pooling

        layers: list[nn.Module] = []
        c, (h, w) = channel, tuple(im_size)
        for d in range(depth):
            # Pad 28x28 single-channel images to 32x32 feature maps, as the authors do.
            pad = 3 if (channel == 1 and d == 0) else 1
            layers.append(nn.Conv2d(c, width, kernel_size=3, padding=pad))
            c, h, w = width, _conv_size(h, 3, 1, pad), _conv_size(w, 3, 1, pad)
            if norm != "none":
                layers.append(self._make_norm(norm, (c, h, w)))
            layers.append(self._make_act(act))
            if pooling != "none":
                layers.append(nn.MaxPool2d(2, 2) if pooling == "maxpooling" else nn.AvgPool2d(2, 2))
                h, w = h // 2, w // 2
            if h < 1 or w < 1:
                raise ValueError(f"depth {depth} pools im_size {tuple(im_size)} down to nothing")
        self.features = nn.Sequential(*layers)
        self.feat_shape = (c, h, w)
        self.classifier = nn.Linear(c * h * w, num_classes)

    @staticmethod
    def _make_norm(norm: str, shape: tuple[int, int, int]) -> nn.Module:
        c = shape[0]
        if norm == "batchnorm":
            return nn.BatchNorm2d(c)
        if norm == "layernorm":
            return nn.LayerNorm(list(shape))
        if norm == "instancenorm":
            return _instance_norm(c)
        return nn.GroupNorm(4, c, affine=True)  # "groupnorm"

    @staticmethod
    def _make_act(act: str) -> nn.Module:
        if act == "sigmoid":
            return nn.Sigmoid()
        if act == "leakyrelu":
            return nn.LeakyReLU(0.01)
        return nn.ReLU()


# ---------------------------------------------------------------------------
# MLP, LeNet, AlexNet, VGG
# ---------------------------------------------------------------------------


class MLP(nn.Module):
    """Three-layer perceptron: flatten -> 128 -> ReLU -> 128 -> ReLU -> classes.

    ``embed``: ``(N, C, H, W) -> (N, 128)``; ``forward``: ``-> (N, num_classes)``.
    """

    def __init__(self, channel: int, num_classes: int, im_size: Sequence[int] = (32, 32)):
        super().__init__()
        h, w = im_size
        self.features = nn.Sequential(
            nn.Linear(channel * h * w, 128),
            nn.ReLU(),
            nn.Linear(128, 128),
            nn.ReLU(),
        )
        self.classifier = nn.Linear(128, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, 128)``."""
        return self.features(torch.flatten(x, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, num_classes)``."""
        return self.classifier(self.embed(x))


class LeNet(nn.Module):
    """LeNet-5: two 5x5 conv/max-pool stages, FC 120 -> 84 -> classes.

    ``embed``: ``(N, C, H, W) -> (N, 84)``; ``forward``: ``-> (N, num_classes)``.
    For 28x28x1 and 32x32x3 inputs the conv output is 16x5x5.
    """

    def __init__(self, channel: int, num_classes: int, im_size: Sequence[int] = (32, 32)):
        super().__init__()
        # Padding 2 turns 28x28 into the 32x32 geometry LeNet was designed for.
        pad = 2 if channel == 1 else 0
        self.conv = nn.Sequential(
            nn.Conv2d(channel, 6, kernel_size=5, padding=pad),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, kernel_size=5),
            nn.ReLU(),
            nn.MaxPool2d(2, 2),
        )
        h, w = (((_conv_size(s, 5, 1, pad) // 2) - 4) // 2 for s in im_size)
        self.fc = nn.Sequential(
            nn.Linear(16 * h * w, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
        )
        self.classifier = nn.Linear(84, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, 84)``."""
        return self.fc(torch.flatten(self.conv(x), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, num_classes)``."""
        return self.classifier(self.embed(x))


class AlexCifarNet(nn.Module):
    """The small AlexNet that Dataset Distillation (Wang et al. 2018) trains on CIFAR-10 (thesis 0.2:
    "the customised AlexNet of DD"): two [5x5 conv 64 -> ReLU -> 3x3/2 max-pool -> local response
    norm] stages (the second normalises before pooling), then FC 384 -> 192 -> classes.

    ``embed``: ``(N, C, H, W) -> (N, 192)``; ``forward``: ``-> (N, num_classes)``.
    No batch statistics, so the unrolled inner steps of DD see each image on its own.
    """

    def __init__(self, channel: int, num_classes: int, im_size: Sequence[int] = (32, 32)):
        super().__init__()
        # cuda-convnet's LRN: size 4, alpha 0.001 / 9, beta 0.75 (the layer DD's net inherits).
        lrn = dict(size=4, alpha=0.001 / 9.0, beta=0.75, k=1.0)
        self.features = nn.Sequential(
            nn.Conv2d(channel, 64, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, padding=1),
            nn.LocalResponseNorm(**lrn),
            nn.Conv2d(64, 64, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.LocalResponseNorm(**lrn),
            nn.MaxPool2d(3, 2, padding=1),
        )
        h, w = (_conv_size(_conv_size(s, 3, 2, 1), 3, 2, 1) for s in im_size)
        self.fc = nn.Sequential(nn.Linear(64 * h * w, 384), nn.ReLU(), nn.Linear(384, 192), nn.ReLU())
        self.classifier = nn.Linear(192, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, 192)``."""
        return self.fc(torch.flatten(self.features(x), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, num_classes)``."""
        return self.classifier(self.embed(x))


class AlexNet(_FeaturesThenLinear):
    """The authors' small AlexNet (five convs, three max-pools, one Linear).

    ``embed``: ``(N, C, H, W) -> (N, 192 * H' * W')`` (``192*4*4`` for 28x28x1
    and 32x32x3); ``forward``: ``-> (N, num_classes)``. ``batchnorm=True``
    inserts ``BatchNorm2d`` after every conv, before the ReLU.
    """

    def __init__(
        self,
        channel: int,
        num_classes: int,
        im_size: Sequence[int] = (32, 32),
        batchnorm: bool = False,
    ):
        super().__init__()
        # (out_channels, kernel, padding, pool_after); padding 4 maps 28x28 -> 32x32.
        spec = [
            (128, 5, 4 if channel == 1 else 2, True),
            (192, 5, 2, True),
            (256, 3, 1, False),
            (192, 3, 1, False),
            (192, 3, 1, True),
        ]
        layers: list[nn.Module] = []
        c, (h, w) = channel, tuple(im_size)
        for out, k, pad, pool in spec:
            layers.append(nn.Conv2d(c, out, kernel_size=k, padding=pad))
            if batchnorm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU())
            c, h, w = out, _conv_size(h, k, 1, pad), _conv_size(w, k, 1, pad)
            if pool:
                layers.append(nn.MaxPool2d(2, 2))
                h, w = h // 2, w // 2
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c * h * w, num_classes)


_VGG11_CFG = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG11(_FeaturesThenLinear):
    """VGG-11 with 3x3 convs, a norm after each conv, ReLU and 2x2 max-pools.

    ``norm`` is ``"instancenorm"`` (default) or ``"batchnorm"``.
    ``embed``: ``(N, C, H, W) -> (N, 512 * H' * W')`` (``512`` for 28x28x1 and
    32x32 inputs); ``forward``: ``-> (N, num_classes)``.
    """

    def __init__(
        self,
        channel: int,
        num_classes: int,
        im_size: Sequence[int] = (32, 32),
        norm: str = "instancenorm",
    ):
        super().__init__()
        _check_choice("norm", norm, ("instancenorm", "batchnorm"))
        layers: list[nn.Module] = []
        c, (h, w) = channel, tuple(im_size)
        first = True
        for v in _VGG11_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                h, w = h // 2, w // 2
                continue
            # Padding 3 on the first conv maps 28x28 -> 32x32 so five pools reach 1x1.
            pad = 3 if (first and channel == 1) else 1
            first = False
            layers += [nn.Conv2d(c, v, kernel_size=3, padding=pad), _norm2d(norm, v), nn.ReLU()]
            c, h, w = v, _conv_size(h, 3, 1, pad), _conv_size(w, 3, 1, pad)
        if h < 1 or w < 1:
            raise ValueError(f"im_size {tuple(im_size)} is too small for VGG-11")
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c * h * w, num_classes)


# ---------------------------------------------------------------------------
# ResNet-18
# ---------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 convs with a residual shortcut.

    ``(N, in_planes, H, W) -> (N, planes, H / stride, W / stride)``.

    With ``avg_pool_downsample=True`` (the "_ap" variant) a stride-2 block
    uses stride-1 convs and downsamples with 2x2 average pooling instead:
    after the first conv's activation on the main path, and between the 1x1
    conv and the norm on the shortcut (the authors' placement). Averaging
    spreads the gradient over every input pixel, whereas a strided conv only
    reaches every other pixel, which matters when the pixels are the
    parameters being learnt.
    """

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        norm: str = "instancenorm",
        avg_pool_downsample: bool = False,
    ):
        super().__init__()
        conv_stride = 1 if avg_pool_downsample else stride
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=conv_stride, padding=1, bias=False)
        self.norm1 = _norm2d(norm, planes)
        self.pool = (
            nn.AvgPool2d(2, 2) if (avg_pool_downsample and stride != 1) else nn.Identity()
        )
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.norm2 = _norm2d(norm, planes)

        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            if avg_pool_downsample:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride=1, bias=False),
                    nn.AvgPool2d(2, 2) if stride != 1 else nn.Identity(),
                    _norm2d(norm, planes),
                )
            else:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                    _norm2d(norm, planes),
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, in_planes, H, W) -> (N, planes, H / stride, W / stride)``."""
        out = self.pool(F.relu(self.norm1(self.conv1(x))))
        out = self.norm2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 for small images (3x3 stem, stride 1, no max-pool).

    Stages of [2, 2, 2, 2] basic blocks with 64/128/256/512 planes and
    strides 1/2/2/2. ``norm`` is ``"instancenorm"`` (default) or
    ``"batchnorm"``.

    * Standard (``avg_pool_downsample=False``): global average pooling, then
      ``Linear(512, num_classes)``; ``embed``: ``(N, C, H, W) -> (N, 512)``.
    * "_ap" variant (``avg_pool_downsample=True``, see :class:`BasicBlock`):
      no global pooling; the final ``512 x h x w`` feature map, with
      ``h = H // 8`` and ``w = W // 8`` after the three 2x2 average pools
      (3x3 at 28x28, 4x4 at 32x32), is flattened into
      ``Linear(512 * h * w, num_classes)``, as in the authors' ``ResNet18_AP``
      (which reads 3x3 off a single input channel and 4x4 otherwise; we read
      it off ``im_size`` so that other sizes get the same construction).
      Keeping the spatial map keeps a per-position path from every synthetic
      pixel to the loss. ``embed``: ``(N, C, H, W) -> (N, 512 * h * w)``.

    ``forward``: ``(N, C, H, W) -> (N, num_classes)``.
    """

    def __init__(
        self,
        channel: int,
        num_classes: int,
        norm: str = "instancenorm",
        avg_pool_downsample: bool = False,
        im_size: Sequence[int] = (32, 32),
    ):
        super().__init__()
        _check_choice("norm", norm, ("instancenorm", "batchnorm"))
        self.stem = nn.Sequential(
            nn.Conv2d(channel, 64, 3, stride=1, padding=1, bias=False),
            _norm2d(norm, 64),
            nn.ReLU(),
        )
        stages: list[nn.Module] = []
        in_planes = 64
        for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(
                nn.Sequential(
                    BasicBlock(in_planes, planes, stride, norm, avg_pool_downsample),
                    BasicBlock(planes, planes, 1, norm, avg_pool_downsample),
                )
            )
            in_planes = planes
        self.layers = nn.Sequential(*stages)
        if avg_pool_downsample:
            h, w = int(im_size[0]) // 8, int(im_size[1]) // 8
            if h < 1 or w < 1:
                raise ValueError(f"im_size {tuple(im_size)} is too small for ResNet-18 (AP)")
            self.pool: nn.Module = nn.Identity()
            self.classifier = nn.Linear(512 * h * w, num_classes)
        else:
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(512, num_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, F)``: ``F = 512`` (pooled) or ``512 * h * w`` (the "_ap" map)."""
        return torch.flatten(self.pool(self.layers(self.stem(x))), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, H, W) -> (N, num_classes)``."""
        return self.classifier(self.embed(x))


# ---------------------------------------------------------------------------
# Factory
# ---------------------------------------------------------------------------


def _convnet_kwargs(name: str, im_size: tuple[int, int], overrides: dict) -> dict:
    unknown = sorted(set(overrides) - set(_CONVNET_OVERRIDES))
    if unknown:
        raise ValueError(
            f"unknown override(s) {unknown} for {name!r}; valid keys: {', '.join(_CONVNET_OVERRIDES)}"
        )
    # TinyImageNet (64x64) needs one more block to reach the same 4x4 feature map.
    depth = 4 if (name.startswith("convnet_d4") or im_size == (64, 64)) else 3
    kwargs = dict(depth=depth, norm="batchnorm" if name.endswith("_bn") else "instancenorm")
    kwargs.update(overrides)
    return kwargs


def get_network(
    name: str,
    channel: int,
    num_classes: int,
    im_size: Sequence[int] = (32, 32),
    **overrides,
) -> nn.Module:
    """Build a network by (case-insensitive) name; see :data:`NETWORKS`.

    Args:
        name: architecture name, e.g. ``"convnet"`` or ``"ResNet18_BN"``.
        channel: input channels ``C``.
        num_classes: number of output logits.
        im_size: input ``(H, W)``.
        **overrides: convnet family only; any of ``width``, ``depth``,
            ``norm``, ``act``, ``pooling`` (they take precedence over the
            name's defaults, e.g. the ``_bn`` suffix).

    Returns:
        An ``nn.Module`` mapping ``(N, C, H, W)`` to ``(N, num_classes)``.

    Raises:
        ValueError: unknown name, unknown override key/value, or overrides
            given to a non-convnet architecture.
    """
    key = str(name).lower()
    if key not in NETWORKS:
        raise ValueError(f"unknown network {name!r}; valid names: {', '.join(NETWORKS)}")
    im_size = (int(im_size[0]), int(im_size[1]))

    if key.startswith("convnet"):
        return ConvNet(channel, num_classes, im_size=im_size, **_convnet_kwargs(key, im_size, overrides))
    if overrides:
        raise ValueError(
            f"{name!r} accepts no overrides (got {sorted(overrides)}); only the convnet family does"
        )

    if key == "mlp":
        return MLP(channel, num_classes, im_size)
    if key == "lenet":
        return LeNet(channel, num_classes, im_size)
    if key == "alexcifarnet":
        return AlexCifarNet(channel, num_classes, im_size)
    if key in ("alexnet", "alexnet_bn"):
        return AlexNet(channel, num_classes, im_size, batchnorm=key.endswith("_bn"))
    norm = "batchnorm" if key.endswith("_bn") else "instancenorm"
    if key.startswith("vgg11"):
        return VGG11(channel, num_classes, im_size, norm=norm)
    return ResNet18(channel, num_classes, norm=norm, avg_pool_downsample="_ap" in key, im_size=im_size)


def has_batchnorm(net: nn.Module) -> bool:
    """True if ``net`` contains any BatchNorm layer (its batch statistics couple samples)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())
