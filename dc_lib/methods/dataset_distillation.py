"""Dataset Distillation (DD, Wang et al. 2018), as the thesis compares DC with it (Table 3.3, A.T10, A.T11).

DD learns the synthetic images S *and* the step sizes of the training that uses them, by
differentiating through that training. The ``T = steps * epochs`` inner steps go over the images
in a fixed order: step ``i`` uses the ``i mod steps``-th group of images (``ipc / steps`` per class)
and its own learned step size ``eta_i``,

    theta_{i+1} = theta_i - eta_i * grad_theta L(S_{i mod steps}; theta_i),    i = 0..T-1,

from a freshly drawn initialisation theta_0 ("random init", the setting whose numbers the thesis
quotes: MNIST 79.5, CIFAR-10 36.8). The outer loss is the cross-entropy of theta_T on a batch of
real images; its gradient w.r.t. S and the raw step sizes goes back through all T steps (the
unrolled graph is what makes DD costly in memory and time, Table A.T11), and Adam updates them.

Where this differs from DC's setting the paper's choices are followed and said so: step sizes
``eta_i = softplus(raw_i)`` start at 0.02; Adam (lr 0.01, betas 0.5 / 0.999) halved every
``decay_every`` iterations; images start as Gaussian noise; real batches are drawn from the whole
training set. A DD set is evaluated DD's way (:func:`evaluate_distilled`): fresh networks trained by
the same T steps with the learned step sizes, not by the evaluation protocol of the other sets.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from tqdm import tqdm

from ..core.checks import positive_int
from ..core.data import RealData, check_ipc
from ..core.models import get_network
from ..core.seeding import derive_seed, make_generator, seed_everything
from ..core.synset import SyntheticSet
from ..core.transfer import module_to_device, to_device
from ..engines.evaluation import test_accuracy


@dataclass(frozen=True)
class DDConfig:
    """The hyperparameters of Dataset Distillation (Wang et al. 2018); defaults are the paper's.

    Attributes:
        iterations: outer iterations, each from a fresh theta_0 (the paper: 400 epochs of real
            batches of 1024, ~23k on MNIST).
        steps: distinct inner steps, each with its own images (``ipc / steps`` per class; 10).
        epochs: passes over the steps, so ``T = steps * epochs`` inner steps (3).
        lr_init: the initial step size eta_i of every inner step (0.02), learned as softplus(raw_i).
        lr: Adam's learning rate on S and the raw step sizes (0.01); ``betas``: Adam's (0.5, 0.999).
        decay_every, decay: Adam's learning rate is multiplied by ``decay`` every ``decay_every``
            iterations (the paper: halved every 40 epochs of real data).
        batch_real: real images per outer iteration, drawn from the whole training set (1024).
        arch: the network trained by the inner steps (``lenet`` on MNIST, ``alexcifarnet`` on CIFAR-10).
    """

    iterations: int = 23400
    steps: int = 10
    epochs: int = 3
    lr_init: float = 0.02
    lr: float = 0.01
    betas: tuple[float, float] = (0.5, 0.999)
    decay_every: int = 2340
    decay: float = 0.5
    batch_real: int = 1024
    arch: str = "lenet"

    def record(self, real: RealData, ipc: int, seed: int) -> dict:
        """What a saved set records of its run (the config, the data, ipc and seed)."""
        return {"algorithm": "dd", "dataset": real.info.name, "ipc": ipc, "iterations": self.iterations,
                "steps": self.steps, "epochs": self.epochs, "lr_init": self.lr_init, "lr": self.lr,
                "betas": list(self.betas), "decay_every": self.decay_every, "decay": self.decay,
                "batch_real": self.batch_real, "arch": self.arch, "seed": seed}


def raw_step_size(eta: float) -> float:
    """The raw parameter whose softplus is ``eta`` (the inverse of softplus)."""
    return math.log(math.expm1(eta))


def step_groups(images: torch.Tensor, labels: torch.Tensor, ipc: int, steps: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The images of each of the ``steps`` distinct inner steps: step ``s`` takes images
    ``s * k .. (s + 1) * k - 1`` of every class (``k = ipc / steps``), from ``images (num_classes * ipc,
    C, H, W)`` laid out class by class. Returns ``steps`` pairs ``(x (num_classes * k, C, H, W), y)``."""
    if ipc % steps:
        raise ValueError(f"DD splits the {ipc} images per class over {steps} steps: ipc must be a multiple of steps")
    k = ipc // steps
    num_classes = images.shape[0] // ipc
    per_class = images.view(num_classes, ipc, *images.shape[1:])
    per_label = labels.view(num_classes, ipc)
    return [(per_class[:, s * k:(s + 1) * k].reshape(-1, *images.shape[1:]), per_label[:, s * k:(s + 1) * k].reshape(-1))
            for s in range(steps)]


def unroll(net: nn.Module, params: dict[str, torch.Tensor], groups, etas: torch.Tensor, epochs: int, *,
           create_graph: bool = True, loss_fn=F.cross_entropy) -> dict[str, torch.Tensor]:
    """theta_T after the ``T = len(groups) * epochs`` inner SGD steps from ``params`` (theta_0).

    Step ``i`` takes one gradient step of ``loss_fn`` on ``groups[i % len(groups)]`` with step size
    ``etas[i]`` (``etas (T,)``). With ``create_graph`` the result is differentiable w.r.t. the images,
    ``etas`` and theta_0 (DD's outer gradient); without it, it is plain training (evaluation).
    """
    if etas.numel() != len(groups) * epochs:
        raise ValueError(f"{etas.numel()} step sizes for {len(groups)} steps x {epochs} epochs")
    names = list(params)
    for i in range(etas.numel()):
        x, y = groups[i % len(groups)]
        loss = loss_fn(functional_call(net, params, (x,)), y)
        grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=create_graph)
        params = {n: params[n] - etas[i] * g for n, g in zip(names, grads)}
        if not create_graph:
            params = {n: p.detach().requires_grad_(True) for n, p in params.items()}
    return params


def unrolled_loss(net: nn.Module, params: dict[str, torch.Tensor], groups, etas: torch.Tensor, epochs: int,
                  x_real: torch.Tensor, y_real: torch.Tensor, loss_fn=F.cross_entropy) -> torch.Tensor:
    """DD's outer objective: ``loss_fn`` of theta_T (:func:`unroll` from ``params``) on the real batch
    ``x_real (B, C, H, W)``, ``y_real (B,)``; differentiable w.r.t. the images of ``groups`` and ``etas``."""
    final = unroll(net, params, groups, etas, epochs, loss_fn=loss_fn)
    return loss_fn(functional_call(net, final, (x_real,)), y_real)


def _fresh_params(net: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone().requires_grad_(True) for n, p in net.named_parameters()}


def condense_dd(real: RealData, ipc: int, config: DDConfig = DDConfig(), *, seed: int = 0, progress: bool = True,
                on_iteration=None, **_ignored) -> SyntheticSet:
    """Learn a synthetic set and its step sizes by Dataset Distillation (see the module doc).

    Args:
        real: the real data (its device is the compute device).
        ipc: synthetic images per class, a multiple of ``config.steps``.
        config: :class:`DDConfig`.
        seed: makes the run repeat bit for bit on the same machine and device.
        progress: show a tqdm bar.
        on_iteration: called as ``on_iteration(k, seconds)`` after outer iteration k (1-based), with
            the seconds spent so far (e.g. to time a part of the run, Table A.T11).
        _ignored: the runner's ``checkpoint`` and ``speed`` (a DD run is not checkpointed).

    Returns:
        The SyntheticSet (method ``dd``), images ``(num_classes * ipc, C, H, W)`` normalised; its
        ``config`` is :meth:`DDConfig.record` plus ``etas``, the learned step sizes (T floats).
    """
    info, device = real.info, real.device
    positive_int("iterations", config.iterations)
    positive_int("steps", config.steps)
    positive_int("epochs", config.epochs)
    check_ipc(real, ipc)
    gen = make_generator(seed)
    labels = torch.arange(info.num_classes).repeat_interleave(ipc).to(device)
    images = torch.randn((info.num_classes * ipc, info.channel, *info.im_size), generator=gen).to(device)
    images.requires_grad_(True)
    t = config.steps * config.epochs
    raw = torch.full((t,), raw_step_size(config.lr_init), device=device, requires_grad=True)
    optimizer = torch.optim.Adam([images, raw], lr=config.lr, betas=config.betas)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.decay_every, gamma=config.decay)
    n_train = real.x_train.shape[0]
    loss_value, t0 = float("nan"), time.perf_counter()
    bar = tqdm(range(config.iterations), desc=f"DD {info.name} ipc={ipc}", disable=not progress)
    for it in bar:
        seed_everything(int(torch.randint(2**31 - 1, (1,), generator=gen)))
        net = module_to_device(get_network(config.arch, info.channel, info.num_classes, info.im_size), device)
        idx = to_device(torch.randint(n_train, (config.batch_real,), generator=gen), device)
        groups = step_groups(images, labels, ipc, config.steps)
        loss = unrolled_loss(net, _fresh_params(net), groups, F.softplus(raw), config.epochs,
                             real.x_train[idx], real.y_train[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        loss_value = float(loss.detach())
        if not (math.isfinite(loss_value) and torch.isfinite(images).all()):
            raise FloatingPointError(f"DD on {info.name} ipc={ipc}: loss or images became NaN/inf at iteration "
                                     f"{it + 1} (lr={config.lr}); lower the learning rate")
        bar.set_postfix(loss=f"{loss_value:.4g}", refresh=False)
        if on_iteration is not None:
            on_iteration(it + 1, time.perf_counter() - t0)
    bar.close()
    record = {**config.record(real, ipc, seed), "etas": [float(e) for e in F.softplus(raw.detach()).cpu()]}
    return SyntheticSet(images.detach().clone(), labels, info.name, "dd", ipc, info.mean, info.std, config=record,
                        seed=seed, iteration=config.iterations,
                        metrics={"loss": loss_value, "seconds": time.perf_counter() - t0})


def train_distilled(net: nn.Module, syn: SyntheticSet) -> nn.Module:
    """Train ``net`` in place DD's way: the set's T inner steps with its learned step sizes."""
    config = syn.config
    groups = step_groups(syn.images, syn.labels, syn.ipc, int(config["steps"]))
    etas = torch.tensor(config["etas"], device=syn.images.device)
    net.train()
    final = unroll(net, _fresh_params(net), groups, etas, int(config["epochs"]), create_graph=False)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(final[name])
    return net


def evaluate_distilled(syn: SyntheticSet, real: RealData, *, arch: str, num_nets: int, seed: int,
                       test_limit: int | None = None) -> list[float]:
    """Test accuracies (%) of ``num_nets`` fresh ``arch`` networks trained by :func:`train_distilled`
    (network ``i`` initialised from ``derive_seed(seed, "net", i)``), on the real test split (its
    first ``test_limit`` images if given). A DD set's learned step sizes are part of the set: the
    thesis's Table A.T10 trains every architecture with them."""
    if syn.method != "dd" or "etas" not in syn.config:
        raise ValueError(f"evaluate_distilled needs a DD set with learned step sizes, got a {syn.method!r} set")
    positive_int("num_nets", num_nets)
    info = real.info
    syn = replace(syn, images=syn.images.to(real.device), labels=syn.labels.to(real.device))
    x_test, y_test = (real.x_test, real.y_test) if test_limit is None else (real.x_test[:test_limit],
                                                                            real.y_test[:test_limit])
    accs = []
    for i in range(num_nets):
        seed_everything(derive_seed(seed, "net", i))
        net = get_network(arch, info.channel, info.num_classes, info.im_size).to(real.device)
        accs.append(test_accuracy(train_distilled(net, syn), x_test, y_test))
    return accs
