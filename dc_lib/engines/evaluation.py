"""The evaluation protocol: train fresh networks on a small set, test on real data.

Thesis (sections 3.3.1, 4.4.1, 5.3.1): each small set trains freshly initialised
networks from scratch; each is tested on the real test split; the thesis
reports mean +- std over 5 sets x 20 networks. The training recipe is not in
the thesis; we follow the authors' public code (``utils.evaluate_synset``):
SGD, momentum 0.9, weight decay 5e-4, lr 0.01, batch 256, ``epochs + 1``
passes over the set with the lr multiplied by 0.1 (and the optimiser
recreated) after pass ``epochs // 2 + 1``; DSA augmentation (independent
per image) while training on DSA/DM sets; test accuracy measured once, at the end.

This module is the reference loop (:func:`evaluate_set_loop`) and its pieces; it imports no fast
path. :func:`dc_lib.engines.choose.evaluate_set`, what the rest of the library calls, picks this
loop or a fast path (stacked, side by side) that gives its numbers up to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm  # plain text bars: no ipywidgets needed, same look in papermill logs

from ..core.augment import augment
from ..core.checks import non_negative_int, positive_int, set_problems
from ..core.data import RealData
from ..core.models import get_network, has_batchnorm
from ..core.seeding import derive_seed, make_generator, seed_everything
from ..core.transfer import to_device
from .compiled import maybe_compile


@dataclass(frozen=True)
class EvalConfig:
    """The evaluation protocol's settings: fresh networks trained on a small set, tested on real data.

    The thesis gives none of the training recipe (A.2: one setting everywhere); the defaults are
    the authors' code (hyperparameters.md section 7): SGD, momentum 0.9, weight decay 5e-4, lr 0.01,
    batch 256, ``epochs + 1`` passes with the lr multiplied by 0.1 once, after pass ``epochs // 2 + 1``.

    Attributes:
        epochs: E, training epochs per network (authors: 1000 with augmentation, 300 without).
        num_nets: networks trained per set (thesis: 20 per set, 5 sets per cell).
        strategy: augmentation while training (a DSA string, independent per image); None: none.
        lr, momentum, weight_decay, batch_size: the optimiser, as above.
        arch: the evaluation network; ``arch_overrides``: its ConvNet-family options (A.T2-T6).
        test_limit: test on the first N test images only (None: the whole test split).
    """

    epochs: int = 1000
    num_nets: int = 20
    strategy: str | None = None
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 256
    arch: str = "convnet"
    arch_overrides: dict | None = None
    test_limit: int | None = None

    @property
    def train_kw(self) -> dict:
        """The optimiser settings as :func:`train_network` takes them."""
        return {"lr": self.lr, "batch_size": self.batch_size, "momentum": self.momentum,
                "weight_decay": self.weight_decay}

    def test_split(self, real: RealData) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x_test, y_test)`` of ``real``, cut to ``test_limit``."""
        if self.test_limit is None:
            return real.x_test, real.y_test
        return real.x_test[:self.test_limit], real.y_test[:self.test_limit]


def train_epoch(net: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor, labels: torch.Tensor,
                *, batch_size: int, strategy: str | None, generator: torch.Generator,
                micro_batch: int | None = None) -> None:
    """One shuffled pass over ``images (N, C, H, W)``; ``strategy`` augments each image independently.

    ``micro_batch`` (speed only, CPU): run each batch's forward/backward in chunks of this many
    images whose gradients add up to the batch's; only for networks without BatchNorm, whose
    batch statistics would see the chunks (``train_network`` checks).
    """
    order = to_device(torch.randperm(images.shape[0], generator=generator), images.device)
    for start in range(0, images.shape[0], batch_size):
        idx = order[start:start + batch_size]
        x = augment(images[idx], strategy, generator) if strategy else images[idx]
        y = labels[idx]
        optimizer.zero_grad(set_to_none=True)
        if micro_batch is None or micro_batch >= x.shape[0]:
            F.cross_entropy(net(x), y).backward()
        else:
            for m in range(0, x.shape[0], micro_batch):
                # sum / B over the chunks is the batch's mean loss, so the gradients add up to its gradient
                (F.cross_entropy(net(x[m:m + micro_batch]), y[m:m + micro_batch], reduction="sum")
                 / x.shape[0]).backward()
        optimizer.step()


def check_micro_batch(net: nn.Module, micro_batch: int | None) -> None:
    """Refuse micro-batches for BatchNorm networks (their batch statistics would change)."""
    if micro_batch is None:
        return
    if isinstance(micro_batch, bool) or not isinstance(micro_batch, int) or micro_batch < 1:
        raise ValueError(f"micro_batch must be a positive int or None, got {micro_batch!r}")
    if has_batchnorm(net):
        raise ValueError("micro-batches would change BatchNorm's batch statistics; train with micro_batch=None")


def train_network(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, epochs: int,
                  lr: float = 0.01, batch_size: int = 256, momentum: float = 0.9,
                  weight_decay: float = 5e-4, strategy: str | None = None,
                  generator: torch.Generator, progress: bool = False,
                  micro_batch: int | None = None, compile: bool = False) -> nn.Module:
    """Train ``net`` in place on ``images (N, C, H, W)`` / ``labels (N,)`` with the authors' schedule.

    ``strategy`` (a DSA string) augments each batch with per-image parameters.
    Shuffling and augmentation draws come from ``generator``. ``micro_batch``: see ``train_epoch``.
    ``compile`` (speed only): run the forward/backward through ``torch.compile`` (:mod:`dc_lib.engines.compiled`).
    """
    check_micro_batch(net, micro_batch)
    model = maybe_compile(net, compile, images.device)
    decay_after = epochs // 2 + 1
    net.train()

    def make_optimizer(rate: float) -> torch.optim.Optimizer:
        return torch.optim.SGD(net.parameters(), lr=rate, momentum=momentum, weight_decay=weight_decay)

    optimizer = make_optimizer(lr)
    for ep in tqdm(range(epochs + 1), desc="train", disable=not progress, leave=False):
        train_epoch(model, optimizer, images, labels, batch_size=batch_size, strategy=strategy, generator=generator,
                    micro_batch=micro_batch)
        if ep == decay_after:
            lr *= 0.1
            optimizer = make_optimizer(lr)
    return net


@torch.no_grad()
def test_accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int | None = None,
                  compile: bool = False) -> float:
    """Top-1 accuracy in percent of ``net`` (eval mode) on ``x (N, C, H, W)``, ``y (N,)``.

    ``compile``: as in ``train_network``.
    """
    if batch_size is None:
        # On CPU small chunks keep the activations in cache (64 measured fastest on 2 cores).
        batch_size = 64 if x.device.type == "cpu" else 1024
    net.eval()
    net = maybe_compile(net, compile, x.device)
    correct = torch.zeros((), dtype=torch.long, device=x.device)
    for start in range(0, x.shape[0], batch_size):
        logits = net(x[start:start + batch_size])
        correct += (logits.argmax(1) == y[start:start + batch_size]).sum()
    return 100.0 * int(correct) / x.shape[0]


def check_evaluation_args(images: torch.Tensor, labels: torch.Tensor, real: RealData, config: EvalConfig) -> None:
    """Raise ValueError unless the set can be scored against ``real`` as asked.

    Every problem here used to pass silently or fail deep inside torch: a set of another shape
    or with labels beyond the classes (raw ``IndexError``), NaN pixels (about 10 % with no word),
    ``num_nets=0`` (an empty list), ``epochs=-1`` (no training, yet an accuracy).
    ``epochs=0`` is allowed: the schedule makes ``epochs + 1`` passes, so it still trains once.
    """
    positive_int("num_nets", config.num_nets)
    non_negative_int("epochs", config.epochs)
    positive_int("batch_size", config.batch_size)
    info = real.info
    if images.shape[0] == 0:
        raise ValueError(f"the set to evaluate on {info.name} is empty (0 images)")
    problems = set_problems(images, labels, info.channel, info.im_size, info.num_classes)
    if not problems and not bool(torch.isfinite(images).all()):
        problems.append("the set contains NaN or inf pixels (a diverged condensation? lower its learning rate)")
    if problems:
        raise ValueError(f"cannot evaluate this set on {info.name}: " + "; ".join(problems))


def evaluate_set_loop(images: torch.Tensor, labels: torch.Tensor, real: RealData, config: EvalConfig, *,
                      seed: int, progress: bool = True, compile: bool = False) -> list[float]:
    """The reference: train ``config.num_nets`` fresh networks, one after another; test accuracies (%).

    ``images (N, C, H, W)`` (normalised) and ``labels (N,)`` are the small set, ``real`` gives the
    test split, ``config`` the protocol (:class:`EvalConfig`). Network ``i`` is seeded with
    ``derive_seed(seed, "net", i)`` (initialisation, shuffling and augmentation), so each accuracy
    is reproducible on its own.
    ``compile``: speed only, run each network through ``torch.compile`` (:mod:`dc_lib.engines.compiled`).

    This is the readable protocol; :func:`dc_lib.engines.choose.evaluate_set` is what the
    library calls, and takes this loop or a fast path that gives its numbers up to float rounding.
    """
    check_evaluation_args(images, labels, real, config)
    info, arch, arch_overrides = real.info, config.arch, config.arch_overrides
    x_test, y_test = config.test_split(real)
    images, labels = images.to(real.device), labels.to(real.device)
    accs = []
    for i in tqdm(range(config.num_nets), desc=f"eval {arch}", disable=not progress, leave=False):
        net_seed = derive_seed(seed, "net", i)
        seed_everything(net_seed)
        net = get_network(arch, info.channel, info.num_classes, info.im_size,
                          **(arch_overrides or {})).to(real.device)
        train_network(net, images, labels, epochs=config.epochs, strategy=config.strategy,
                      generator=make_generator(net_seed), compile=compile, **config.train_kw)
        accs.append(test_accuracy(net, x_test, y_test, compile=compile))
    return accs
