"""Stacked evaluation networks: train N fresh networks at once, with the numbers of the plain loop.

The evaluation protocol (:mod:`dc_lib.engines.evaluation`) trains ``num_nets`` networks of one
architecture on one small set, one after another. Their parameters have the same
shapes, so they can be stacked along a new leading *network* dimension and trained
as one functional model (``torch.func.stack_module_state`` + ``functional_call`` +
``vmap``): every step is then one forward/backward over ``(num_nets, B, C, H, W)``
instead of ``num_nets`` small ones. Network ``i`` keeps everything it has in
:func:`dc_lib.engines.evaluation.evaluate_set_loop`:

* the same initialisation: ``seed_everything(derive_seed(seed, "net", i))`` right
  before ``get_network``, as the reference does;
* the same shuffling and augmentation draws, from its own generator
  ``make_generator(net_seed)``, drawn in the same order as ``train_epoch`` draws them
  (one ``randperm`` per pass, then per batch the DSA op and its per-image uniforms);
* the same schedule: ``epochs + 1`` passes, lr x 0.1 with fresh momentum after pass
  ``epochs // 2 + 1``; SGD momentum 0.9, weight decay 5e-4. ``torch.optim.SGD`` acts
  elementwise, so one optimiser over the stacked tensors with the *sum* of the
  per-network mean losses gives slice ``i`` exactly the update network ``i`` gets alone;
* the same test: top-1 accuracy in eval mode on the same test images.

The results agree with the plain loop up to float rounding (the batched convolution
sums in another order), not bit for bit; tests/test_stacked.py checks accuracies and
final weights against the plain loop.

What is stacked, and what falls back to the plain loop:

* Networks with BatchNorm fall back (``supports_stacking`` is False): their running
  statistics are buffers that ``vmap`` would have to update in place per network, and
  ``functional_call`` would silently keep the un-stacked ones. The plain loop is the
  correct, tested path for them.
* Of the others, the architectures in :data:`STACKABLE` are stacked (their equality with
  the plain loop is tested); any other name (AlexNet, VGG-11, ResNet-18 and their
  variants) falls back, since nobody has checked them here.

Where it pays: stacking turns ``num_nets`` small steps into one large one, which helps
a device that a single small network leaves idle (a GPU). On a small CPU it does not
(measured in README.md, "Performance", and ``benchmarks/bench.py``): one network's step
is already compute-bound there, so ``evaluate_set``'s automatic choice
(:func:`dc_lib.engines.choose.choose_path`) uses :mod:`dc_lib.engines.side_by_side` on CPU instead.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap
from tqdm import tqdm

from ..core.augment import CLASSIC, AugParams, apply_params, augment, sample_params
from ..core.models import get_network, has_batchnorm
from ..core.seeding import derive_seed, make_generator, seed_everything
from ..core.transfer import to_device
from .evaluation import EvalConfig

# Architectures whose stacked training is checked against the plain loop (tests/test_stacked.py).
STACKABLE = ("convnet", "convnet_d4", "mlp", "lenet")
STACKED_TEST_IMAGES = 4096


def supports_stacking(arch: str, arch_overrides: dict | None = None) -> bool:
    """True if networks named ``arch`` (with ConvNet ``arch_overrides``) can be trained stacked.

    False means ``evaluate_set`` trains them one after another: BatchNorm variants
    (``*_bn``, or ``norm="batchnorm"``: running statistics, see the module doc) and
    architectures not in :data:`STACKABLE`.
    """
    return str(arch).lower() in STACKABLE and (arch_overrides or {}).get("norm") != "batchnorm"


class StackedNetworks:
    """``n`` networks of one architecture as stacked parameter tensors ``(n, *shape)``.

    ``forward(x)`` maps per-network inputs ``(n, B, C, H, W)`` to logits ``(n, B, classes)``;
    ``forward_shared(x)`` maps one input ``(B, C, H, W)``, seen by every network, to
    ``(n, B, classes)``; ``embed(x)`` maps ``(n, B, C, H, W)`` to each network's ``embed`` features
    ``(n, B, F)``. ``params`` are leaf tensors that an optimiser can update;
    ``write_back()`` copies them into the original modules.
    """

    def __init__(self, nets: list[nn.Module]):
        if not nets:
            raise ValueError("StackedNetworks needs at least one network")
        if any(has_batchnorm(n) for n in nets):
            raise ValueError("networks with BatchNorm cannot be stacked (their running statistics are "
                             "per-network buffers); train them with evaluation.train_network")
        shapes = [[(k, tuple(p.shape)) for k, p in n.named_parameters()] for n in nets]
        if any(s != shapes[0] for s in shapes[1:]) or any(type(n) is not type(nets[0]) for n in nets):
            raise ValueError("all stacked networks must have the same architecture (same parameter names "
                             "and shapes)")
        self.nets = nets
        self.params, self.buffers = stack_module_state(nets)
        # A shape-only copy of one network: functional_call swaps the stacked slices in.
        self.base = copy.deepcopy(nets[0]).to("meta")

        def one(params, buffers, x):
            return functional_call(self.base, (params, buffers), (x,))

        self._per_net = vmap(one, in_dims=(0, 0, 0))
        self._shared = vmap(one, in_dims=(0, 0, None))
        embedding = _Embedding(self.base)

        def one_embedding(params, buffers, x):
            # The wrapper holds the network as its child "net": its tensors are named "net.<name>".
            named = ({f"net.{k}": v for k, v in params.items()}, {f"net.{k}": v for k, v in buffers.items()})
            return functional_call(embedding, named, (x,))

        self._embed = vmap(one_embedding, in_dims=(0, 0, 0))

    def __len__(self) -> int:
        return len(self.nets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-network batches ``(n, B, C, H, W)`` -> logits ``(n, B, classes)``."""
        return self._per_net(self.params, self.buffers, x)

    def forward_shared(self, x: torch.Tensor) -> torch.Tensor:
        """One batch ``(B, C, H, W)`` through every network -> logits ``(n, B, classes)``."""
        return self._shared(self.params, self.buffers, x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Per-network batches ``(n, B, C, H, W)`` -> each network's ``embed`` features ``(n, B, F)``."""
        return self._embed(self.params, self.buffers, x)

    def train(self, mode: bool = True) -> "StackedNetworks":
        """Set the train/eval mode that ``functional_call`` uses (the same for every network)."""
        self.base.train(mode)
        return self

    @torch.no_grad()
    def write_back(self) -> list[nn.Module]:
        """Copy slice ``i`` of every stacked tensor into network ``i``; returns the networks."""
        for i, net in enumerate(self.nets):
            for name, p in net.named_parameters():
                p.copy_(self.params[name][i])
        return self.nets


class _Embedding(nn.Module):
    """A network seen through its ``embed`` (what ``functional_call`` calls is ``forward``)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.embed(x)


def _stacked_batch(images: torch.Tensor, labels: torch.Tensor, orders: torch.Tensor, start: int,
                   batch_size: int, strategy: str | None, generators: list[torch.Generator]):
    """Every network's batch of this step, augmented with its own draws: ``(n, B, C, H, W)``, ``(n, B)``.

    ``orders (n, N)`` holds each network's shuffle. Network ``i``'s generator draws its op and
    per-image uniforms exactly as ``train_epoch`` would; the images of all networks that drew the
    same op are then transformed in one call (every DSA op acts on each image alone), so a step
    launches one augmentation per op, not one per network. ``classic`` uses its batch's mean,
    so it is applied network by network.
    """
    idx = orders[:, start:start + batch_size]
    x, y = images[idx], labels[idx]
    if not strategy:
        return x, y
    if strategy == CLASSIC:
        return torch.stack([augment(xi, strategy, g) for xi, g in zip(x, generators)]), y
    draws = [sample_params(strategy, idx.shape[1], g) for g in generators]
    out = torch.empty_like(x)
    for op in dict.fromkeys(d.op for d in draws):
        ids = [i for i, d in enumerate(draws) if d.op == op]
        u = torch.cat([draws[i].u for i in ids])
        sel = torch.tensor(ids, device=x.device)
        out[sel] = apply_params(x[sel].flatten(0, 1), AugParams(op, u)).view(len(ids), *x.shape[1:])
    return out, y


def train_stacked(stack: StackedNetworks, images: torch.Tensor, labels: torch.Tensor, *, epochs: int,
                  generators: list[torch.Generator], lr: float = 0.01, batch_size: int = 256,
                  momentum: float = 0.9, weight_decay: float = 5e-4, strategy: str | None = None,
                  progress: bool = False) -> StackedNetworks:
    """Train every stacked network on ``images (N, C, H, W)`` / ``labels (N,)`` as ``train_network`` does.

    ``generators[i]`` drives network ``i``'s shuffling and augmentation, in
    ``train_epoch``'s order. Same schedule: ``epochs + 1`` passes, lr x 0.1 and a fresh
    optimiser after pass ``epochs // 2 + 1``.
    """
    if len(generators) != len(stack):
        raise ValueError(f"{len(generators)} generators for {len(stack)} networks; give one per network")
    _check_set(images, labels)
    n_img, n_nets = images.shape[0], len(stack)
    decay_after = epochs // 2 + 1
    stack.train()
    params = list(stack.params.values())

    def make_optimizer(rate: float) -> torch.optim.Optimizer:
        # Elementwise SGD on (n, *shape) tensors: slice i sees only network i's gradient.
        return torch.optim.SGD(params, lr=rate, momentum=momentum, weight_decay=weight_decay)

    optimizer = make_optimizer(lr)
    for ep in tqdm(range(epochs + 1), desc="train stacked", disable=not progress, leave=False):
        # One host-to-device copy for all shuffles (each drawn first thing in the pass, as train_epoch does).
        orders = to_device(torch.stack([torch.randperm(n_img, generator=g) for g in generators]), images.device)
        for start in range(0, n_img, batch_size):
            x, y = _stacked_batch(images, labels, orders, start, batch_size, strategy, generators)
            logits = stack.forward(x)
            # Sum over networks of each network's mean loss: d(sum)/d(theta_i) = d(loss_i)/d(theta_i).
            per_net = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(n_nets, -1)
            loss = per_net.mean(1).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if ep == decay_after:
            lr *= 0.1
            optimizer = make_optimizer(lr)
    return stack


@torch.no_grad()
def test_accuracies(stack: StackedNetworks, x: torch.Tensor, y: torch.Tensor,
                    batch_size: int | None = None) -> list[float]:
    """Top-1 accuracy in percent of every network (eval mode) on ``x (N, C, H, W)``, ``y (N,)``.

    CUDA: each test batch goes through all networks at once (the input is shared, so
    the batched convolution is one convolution with ``n`` times the output channels).
    CPU: one network after another, as ``evaluation.test_accuracy``, because there the
    stacked activations (``n`` times larger) fall out of cache: measured 1.7x slower
    than the loop for 10 networks (``batch_size`` 64, one thread).
    """
    if batch_size is None:
        # CPU: as evaluation.test_accuracy. CUDA: about STACKED_TEST_IMAGES images per forward over all
        # networks (1024 shared images x 20 networks peaked at 40 GB on an H100).
        batch_size = 64 if x.device.type == "cpu" else max(1, STACKED_TEST_IMAGES // len(stack))
    stack.train(False)
    if x.device.type == "cpu":
        correct = []
        for i in range(len(stack)):
            params = {k: v[i] for k, v in stack.params.items()}
            buffers = {k: v[i] for k, v in stack.buffers.items()}
            hits = torch.zeros((), dtype=torch.long)
            for start in range(0, x.shape[0], batch_size):
                logits = functional_call(stack.base, (params, buffers), (x[start:start + batch_size],))
                hits += (logits.argmax(-1) == y[start:start + batch_size]).sum()
            correct.append(int(hits))
    else:
        hits = torch.zeros(len(stack), dtype=torch.long, device=x.device)
        for start in range(0, x.shape[0], batch_size):
            logits = stack.forward_shared(x[start:start + batch_size])
            hits += (logits.argmax(-1) == y[start:start + batch_size]).sum(1)
        correct = hits.tolist()  # one host sync for all networks
    return [100.0 * c / x.shape[0] for c in correct]


def _check_set(images: torch.Tensor, labels: torch.Tensor) -> None:
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"labels must be (N,) with N = {images.shape[0]} images, got shape {tuple(labels.shape)}")
    if images.shape[0] == 0:
        raise ValueError("the set is empty: no images to train on")


def evaluate_set_stacked(images: torch.Tensor, labels: torch.Tensor, real, config: EvalConfig, *, seed: int,
                         progress: bool = True, chunk: int | None = None) -> list[float]:
    """``evaluate_set`` with the networks trained stacked: the same accuracies (%) up to float rounding.

    Args:
        images, labels: the small set, ``(N, C, H, W)`` normalised and ``(N,)``.
        real: the RealData (device, test split).
        config: the protocol (:class:`~dc_lib.engines.evaluation.EvalConfig`); its ``arch`` must
            satisfy :func:`supports_stacking` (``evaluate_set`` falls back otherwise).
        seed, progress: as ``evaluate_set``.
        chunk: speed only: networks trained together at most (None: all); chunks are independent,
            so any chunking gives the same numbers and bounds the memory.

    Returns:
        ``num_nets`` test accuracies in percent, network ``i`` at position ``i``.
    """
    arch, arch_overrides, num_nets = config.arch, config.arch_overrides, config.num_nets
    if not supports_stacking(arch, arch_overrides):
        raise ValueError(f"arch {arch!r} is not stacked (stackable: {', '.join(STACKABLE)}); "
                         "use dc_lib.engines.choose.evaluate_set, which falls back to the plain loop")
    if isinstance(num_nets, bool) or not isinstance(num_nets, int) or num_nets < 1:
        raise ValueError(f"num_nets must be a positive int, got {num_nets!r}")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ValueError(f"chunk must be a positive int or None, got {chunk!r}")
    _check_set(images, labels)
    x_test, y_test = config.test_split(real)
    images, labels = images.to(real.device), labels.to(real.device)
    chunk = chunk or num_nets
    accs: list[float] = []
    for first in tqdm(range(0, num_nets, chunk), desc=f"eval {arch} x{min(chunk, num_nets)}",
                      disable=not progress, leave=False):
        ids = range(first, min(first + chunk, num_nets))
        nets = []
        for i in ids:
            seed_everything(derive_seed(seed, "net", i))
            nets.append(get_network(arch, real.info.channel, real.info.num_classes, real.info.im_size,
                                    **(arch_overrides or {})).to(real.device))
        stack = StackedNetworks(nets)
        train_stacked(stack, images, labels, epochs=config.epochs, strategy=config.strategy,
                      generators=[make_generator(derive_seed(seed, "net", i)) for i in ids], **config.train_kw)
        accs += test_accuracies(stack, x_test, y_test)
    return accs

