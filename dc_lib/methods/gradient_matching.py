"""Gradient matching: DC (thesis chapter 3, Algorithm 1) and DSA (chapter 4, Algorithm 2).

For k = 1..K a freshly initialised network theta_0 is drawn. Then, T times:
for every class c, the gradient of the cross-entropy loss w.r.t. theta on a real
batch of class c is matched with the gradient on the class's synthetic images
(distance D, eq. 3.10); the summed distance takes one SGD step on S (lr
eta_S = 0.1, momentum 0.5 as in the authors' code); then the network is trained
on the whole synthetic set for varsigma_theta epochs (lr eta_theta = 0.01),
except after the last of the T rounds.

DSA is this algorithm with ``dsa_strategy`` set: one augmentation omega is drawn
per class and round and applied to the real and the synthetic batch alike
(Siamese), and the network updates on S use ordinary per-image augmentation.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from ..core.augment import apply_params, augment, default_strategy, sample_params
from ..core.checkpoint import Checkpointing, diverged_hint, resume_checkpoint, save_checkpoint
from ..core.checks import condensation_args, positive_int
from ..core.data import RealData
from ..core.models import get_network, has_batchnorm
from ..core.seeding import make_generator, seed_everything
from ..core.speed import Speed
from ..core.synset import SyntheticSet
from ..core.transfer import module_to_device
from ..engines.compiled import maybe_compile
from ..engines.evaluation import train_epoch
from ..engines.side_by_side import MICRO_BATCH as CPU_MICRO_BATCH
from .distribution_matching import CPU_REAL_CHUNK, init_synthetic
from .watch import Watch

METRICS = ("ours", "mse", "cos")
SIDES = ("siamese", "independent", "real", "syn")
BN_IMAGES_PER_CLASS = 16  # authors' BNSizePC: real images per class that set the frozen BN statistics


def loop_schedule(ipc: int) -> tuple[int, int]:
    """(T, varsigma_theta): matching rounds per outer iteration and network epochs between them.

    The thesis (A.1) and the authors' ``get_loops``: 1 -> (1, 1), 10 -> (10, 50), 50 -> (50, 10),
    and T = ipc, varsigma_theta = 500 / T above 10. Between 2 and 9 ipc, which neither gives,
    we use the 10-ipc schedule.
    """
    if ipc == 1:
        return 1, 1
    if ipc <= 10:
        return 10, 50
    return ipc, max(1, 500 // ipc)


def _rows(g: torch.Tensor) -> torch.Tensor | None:
    """One row per output node: conv (out, in, h, w) -> (out, in*h*w); LayerNorm (C, H, W) -> (C, H*W)."""
    if g.ndim == 1:
        return None  # biases and norm affine vectors are not matched (authors' code)
    return g.reshape(g.shape[0], -1)


def layer_distance(g_real: torch.Tensor, g_syn: torch.Tensor) -> torch.Tensor:
    """Eq. 3.10 for one parameter tensor: sum over output nodes of (1 - cosine), eps 1e-6."""
    r, s = _rows(g_real), _rows(g_syn)
    if r is None:
        return torch.zeros((), device=g_syn.device)
    cos = (r * s).sum(-1) / (r.norm(dim=-1) * s.norm(dim=-1) + 1e-6)
    return (1 - cos).sum()


def gradient_distance(g_real: list[torch.Tensor], g_syn: list[torch.Tensor], metric: str = "ours") -> torch.Tensor:
    """The matching distance D between two lists of parameter gradients.

    ``ours``: layer-wise, per-output-node cosine distance (thesis eq. 3.10);
    ``mse``: squared Euclidean distance of the flattened, concatenated gradients;
    ``cos``: 1 - cosine of the flattened, concatenated gradients (Table A.T7 ablations).
    """
    if metric == "ours":
        return sum(layer_distance(r, s) for r, s in zip(g_real, g_syn))
    flat_r = torch.cat([g.flatten() for g in g_real])
    flat_s = torch.cat([g.flatten() for g in g_syn])
    if metric == "mse":
        return ((flat_r - flat_s) ** 2).sum()
    if metric == "cos":
        return 1 - (flat_r * flat_s).sum() / (flat_r.norm() * flat_s.norm() + 1e-6)
    raise ValueError(f"Unknown metric {metric!r}; valid: {', '.join(METRICS)}")


def freeze_batchnorm_on_real(net: nn.Module, real: RealData, generator: torch.Generator) -> None:
    """Set BN running statistics from real images of every class, then put BN layers in eval mode.

    Thesis A.1: statistics from a tiny synthetic batch are unreliable, so they are
    estimated on real data and frozen before the per-class losses.
    """
    if not has_batchnorm(net):
        return
    images = torch.cat([real.sample_class(c, BN_IMAGES_PER_CLASS, generator)
                        for c in range(real.info.num_classes)])
    net.train()
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average: one pass gives exactly these images' statistics
    with torch.no_grad():
        net(images)
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


def _augment_sides(x_real: torch.Tensor, x_syn: torch.Tensor, strategy: str | None, sides: str,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment a matched pair of batches; ``sides`` as in ``condense_gm``."""
    if sides == "siamese":
        omega = sample_params(strategy, 1, generator)  # one omega for both sides (None for DC)
        return apply_params(x_real, omega), apply_params(x_syn, omega)
    if sides in ("independent", "real"):
        x_real = augment(x_real, strategy, generator)
    if sides in ("independent", "syn"):
        x_syn = augment(x_syn, strategy, generator)
    return x_real, x_syn


def _real_gradient(net: nn.Module, params: list[torch.Tensor], x: torch.Tensor, label: int,
                   chunk: int | None) -> list[torch.Tensor]:
    """Gradient of the mean cross-entropy of ``x (B, C, H, W)`` (all of class ``label``) w.r.t. ``params``.

    ``chunk`` (speed only): take it as the sum of the gradients of chunks of ``chunk`` images,
    each of ``sum(loss) / B``. Exact up to float rounding for every network used here: BN
    statistics are frozen during matching, all other norms act per image. On CPU the small
    chunks keep the activations in cache.
    """
    y = torch.full((x.shape[0],), label, device=x.device)
    if chunk is None or x.shape[0] <= chunk:
        return list(torch.autograd.grad(F.cross_entropy(net(x), y), params))
    total = None
    for s in range(0, x.shape[0], chunk):
        loss = F.cross_entropy(net(x[s:s + chunk]), y[s:s + chunk], reduction="sum") / x.shape[0]
        g = torch.autograd.grad(loss, params)
        total = list(g) if total is None else [a + b for a, b in zip(total, g)]
    return total


def match_step(net: nn.Module, real: RealData, syn: torch.Tensor, ipc: int, *, batch_real: int,
               strategy: str | None, metric: str, generator: torch.Generator,
               sides: str = "siamese", real_chunk: int | None = None, real_forward=None) -> torch.Tensor:
    """Sum over classes of D(grad on real_c, grad on S_c); differentiable w.r.t. ``syn``.

    ``real_chunk``: compute each real gradient in chunks of this many images (``_real_gradient``).
    ``real_forward``: what runs ``net`` on the real side (e.g. its compiled form); the synthetic
    side needs second-order gradients and always calls ``net`` itself.
    """
    params = [p for p in net.parameters() if p.requires_grad]
    loss = torch.zeros((), device=syn.device)
    for c in range(real.info.num_classes):
        x_real, x_syn = _augment_sides(real.sample_class(c, batch_real, generator), syn[c * ipc:(c + 1) * ipc],
                                       strategy, sides, generator)
        y_syn = torch.full((ipc,), c, device=syn.device)
        g_real = _real_gradient(real_forward or net, params, x_real, c, real_chunk)
        g_syn = torch.autograd.grad(F.cross_entropy(net(x_syn), y_syn), params, create_graph=True)
        loss = loss + gradient_distance([g.detach() for g in g_real], list(g_syn), metric)
    return loss


def gm_method(dsa_strategy: str | None, sides: str = "siamese") -> str:
    """The ``method`` of the set ``condense_gm`` makes: ``dc`` without augmentation, ``dsa`` with Siamese
    augmentation, ``dc_aug`` with any other (Table 4.4's schemes)."""
    return ("dsa" if sides == "siamese" else "dc_aug") if dsa_strategy else "dc"


@dataclass(frozen=True)
class GMConfig:
    """The hyperparameters of gradient matching, DC (Algorithm 1) and DSA (Algorithm 2).

    The defaults are DC's (thesis and authors' code); :meth:`dsa` gives DSA's.

    Attributes:
        iterations: K, outer iterations, each with a fresh network theta_0 (thesis: 1000).
        loops: (T, varsigma_theta), matching rounds per outer iteration and network epochs on S
            between them; None: :func:`loop_schedule` of the ipc (thesis A.1).
        lr_img: eta_S, the learning rate of S (0.1); ``momentum``: SGD momentum on S (0.5).
        lr_net: eta_theta, plain SGD on the network between matches (0.01).
        batch_real: real images per class per match (256); ``batch_train``: batch of the network
            updates on S (256).
        metric: the gradient distance D: ``ours`` (eq. 3.10, layer-wise, output-node-wise cosine),
            ``mse`` or ``cos`` (Table A.T7).
        init: ``noise`` (DC) or ``real`` (DSA).
        dsa_strategy: the DSA augmentation string A_omega; None: DC (no augmentation).
        sides: how ``dsa_strategy`` augments the matched batches (Table 4.4): ``siamese`` (DSA:
            one omega for both), ``independent`` (each image its own), ``real`` or ``syn`` (only
            that side, per image).
        arch: the condensing network (BatchNorm networks get frozen real-data statistics).
        arch_overrides: ConvNet-family options of the condensing network (``act``, ``pooling``,
            ``norm``, ``depth``, ``width``; the ablations of Appendix A.T2-T6).
    """

    iterations: int = 1000
    loops: tuple[int, int] | None = None
    lr_img: float = 0.1
    momentum: float = 0.5
    lr_net: float = 0.01
    batch_real: int = 256
    batch_train: int = 256
    metric: str = "ours"
    init: str = "noise"
    dsa_strategy: str | None = None
    sides: str = "siamese"
    arch: str = "convnet"
    arch_overrides: dict | None = None

    @classmethod
    def dsa(cls, dataset: str, **changes) -> "GMConfig":
        """DSA's config for ``dataset``: real-image init and the thesis's DSA strategy for it."""
        return cls(**{"init": "real", "dsa_strategy": default_strategy(dataset), **changes})

    @property
    def method(self) -> str:
        """The ``method`` of the set this config makes (:func:`gm_method`)."""
        return gm_method(self.dsa_strategy, self.sides)

    def record(self, real: RealData, ipc: int, seed: int) -> dict:
        """What a saved set and its checkpoint record of this run (the schedule resolved)."""
        outer, inner = self.loops or loop_schedule(ipc)
        return {"algorithm": self.method, "dataset": real.info.name, "ipc": ipc, "iterations": self.iterations,
                "arch": self.arch, "lr_img": self.lr_img, "momentum": self.momentum, "lr_net": self.lr_net,
                "batch_real": self.batch_real, "batch_train": self.batch_train, "init": self.init,
                "strategy": self.dsa_strategy, "metric": self.metric, "loops": [outer, inner], "seed": seed,
                "arch_overrides": dict(self.arch_overrides or {}), "sides": self.sides}


def condense_gm(real: RealData, ipc: int, config: GMConfig = GMConfig(), *, seed: int = 0,
                checkpoint: Checkpointing | str | os.PathLike | None = None, progress: bool = True,
                speed: Speed = Speed(), watch: Watch = Watch()) -> SyntheticSet:
    """Learn a synthetic set by gradient matching: DC (``config.dsa_strategy=None``) or DSA.

    Args:
        real: the real data (its device is the compute device).
        ipc: synthetic images per class.
        config: the hyperparameters (K, T, varsigma_theta, eta_S, eta_theta, ...): :class:`GMConfig`.
        seed, checkpoint, progress: as in ``condense_dm`` (a bare checkpoint path saves every 10
            outer iterations).
        speed: speed only (:class:`~dc_lib.core.speed.Speed`): ``real_chunk`` computes each real
            gradient as the sum over chunks (exact up to float rounding); ``micro_batch`` chunks the
            network updates on S (``evaluation.train_epoch``); ``compile`` runs the real side's
            gradients and the network updates on S through ``torch.compile`` (the second-order
            synthetic side cannot).
        watch: observers of the run (:class:`Watch`), which must not change it.
            ``watch.on_iteration``: called as ``on_iteration(k, images)`` with a detached view of S
            ``(N, C, H, W)``: first with the starting k (0, or where a checkpoint resumes), then
            after every outer iteration k; e.g. to keep snapshots (Figure 4.6).
            ``watch.on_match``: called as ``on_match(k, t, net, images)`` just before the t-th match
            (t = 0..T-1) of outer iteration k (1-based), with the network as it stands inside the
            loop (BN statistics frozen on real data; trained on S for t * varsigma_theta epochs)
            and a detached view of S ``(N, C, H, W)``; e.g. to measure its gradients (Figure 4.5,
            :mod:`~dc_lib.methods.gradient_probe`). It must leave ``net``'s weights and the run's
            generator alone (draw from its own), so that watching a run does not change it.

    Returns:
        SyntheticSet with ``method`` ``dc``, ``dsa`` or (augmentation not Siamese) ``dc_aug``;
        its ``config`` is :meth:`GMConfig.record`.
    """
    info, device = real.info, real.device
    ckpt_plan = Checkpointing.of(checkpoint, every=10)
    iterations = config.iterations
    checkpoint_every = ckpt_plan.every if ckpt_plan else 10
    condensation_args(ipc=ipc, iterations=iterations, batch_real=config.batch_real, checkpoint_every=checkpoint_every)
    positive_int("batch_train", config.batch_train)
    if config.metric not in METRICS:
        raise ValueError(f"Unknown metric {config.metric!r}; valid: {', '.join(METRICS)}")
    if config.sides not in SIDES:
        raise ValueError(f"Unknown sides {config.sides!r}; valid: {', '.join(SIDES)}")
    record = config.record(real, ipc, seed)
    outer, inner = record["loops"]
    arch, arch_overrides, init, dsa_strategy = config.arch, config.arch_overrides, config.init, config.dsa_strategy
    lr_img, lr_net, batch_real, batch_train = config.lr_img, config.lr_net, config.batch_real, config.batch_train
    metric, sides, method = config.metric, config.sides, config.method
    on_cpu = torch.device(device).type == "cpu"
    # CUDA graphs ("reduce-overhead") are DM's alone: here each outer iteration trains a new network, whose
    # weights a recorded graph would not see; the default mode is what compile gives here.
    real_chunk, micro_batch, compile = speed.real_chunk, speed.micro_batch, bool(speed.compile)
    if real_chunk == "auto":
        real_chunk = CPU_REAL_CHUNK if on_cpu else None
    elif real_chunk == "all":  # DM's shared forwards; each real gradient here is one class's
        real_chunk = None
    if micro_batch == "auto":
        micro_batch = CPU_MICRO_BATCH if on_cpu else None
    gen = make_generator(seed)
    syn = init_synthetic(real, ipc, init, gen).detach().requires_grad_(True)
    labels = torch.arange(info.num_classes).repeat_interleave(ipc).to(device)
    optimizer = torch.optim.SGD([syn], lr=lr_img, momentum=config.momentum)
    loss_value = float("nan")
    ckpt = ckpt_plan.path if ckpt_plan else None
    start = resume_checkpoint(ckpt, record, syn, optimizer, gen)

    t0 = time.perf_counter()
    if watch.on_iteration is not None:
        watch.on_iteration(start, syn.detach())
    bar = tqdm(range(start, iterations), desc=f"{method.upper()} {info.name} ipc={ipc}", disable=not progress,
               initial=start, total=iterations)
    for it in bar:
        seed_everything(int(torch.randint(2**31 - 1, (1,), generator=gen)))
        net = module_to_device(get_network(arch, info.channel, info.num_classes, info.im_size,
                                           **(arch_overrides or {})), device)
        net_micro_batch = None if has_batchnorm(net) else micro_batch
        model = maybe_compile(net, compile, device)
        for t in range(outer):
            freeze_batchnorm_on_real(net, real, gen)
            if watch.on_match is not None:
                watch.on_match(it + 1, t, net, syn.detach())
            loss = match_step(net, real, syn, ipc, batch_real=batch_real, strategy=dsa_strategy,
                              metric=metric, generator=gen, sides=sides, real_chunk=real_chunk, real_forward=model)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if t == outer - 1:
                break
            # Network update on the current S; DSA uses ordinary (per-image) augmentation here.
            _train_on_synthetic(net, syn.detach(), labels, inner, lr_net, batch_train, dsa_strategy, gen,
                                net_micro_batch, model)
        loss_value = float(loss.detach())
        if not (torch.isfinite(loss) and torch.isfinite(syn).all()):
            raise FloatingPointError(f"{method.upper()} on {info.name} ipc={ipc}: loss or synthetic images "
                                     f"became NaN/inf at outer iteration {it + 1} (lr_img={lr_img})."
                                     + diverged_hint(ckpt))
        bar.set_postfix(loss=f"{loss_value:.4g}", refresh=False)
        if watch.on_iteration is not None:
            watch.on_iteration(it + 1, syn.detach())
        if ckpt is not None and (it + 1) % checkpoint_every == 0 and it + 1 < iterations:
            save_checkpoint(ckpt, record, syn, optimizer, gen, it + 1)
    bar.close()
    # Checkpointing.keep: the caller deletes it once it has saved the set (see condense_dm).
    if ckpt is not None and not ckpt_plan.keep:
        ckpt.unlink(missing_ok=True)
    return SyntheticSet(syn.detach().clone(), labels, info.name, method, ipc, info.mean, info.std,
                        config=record, seed=seed, iteration=iterations,
                        metrics={"loss": loss_value, "seconds": time.perf_counter() - t0, "resumed_from": start})


def _train_on_synthetic(net, images, labels, epochs, lr, batch_size, strategy, generator, micro_batch=None,
                        model=None) -> None:
    """varsigma_theta epochs of plain SGD (no momentum, no weight decay) on S, as the authors' inner loop.

    ``model``: what runs ``net`` (e.g. its compiled form); None -> ``net``.
    """
    net.train()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(epochs):
        train_epoch(model or net, optimizer, images, labels, batch_size=batch_size, strategy=strategy,
                    generator=generator, micro_batch=micro_batch)


def gradient_magnitudes(net: nn.Module, real: RealData, syn: torch.Tensor, ipc: int, *, batch_real: int,
                        strategy: str | None, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Absolute entries of the per-class weight gradients on real and synthetic batches (Figure 4.5).

    Each class's real batch and synthetic images go through ``net`` as in ``match_step`` (Siamese
    ``strategy`` or none); returns ``{"real": (M,), "synthetic": (M,)}`` with every class's
    gradient entries of the matched (multi-dimensional) parameters, concatenated.
    """
    params = [p for p in net.parameters() if p.requires_grad and p.dim() > 1]
    out = {"real": [], "synthetic": []}
    for c in range(real.info.num_classes):
        x_real, x_syn = _augment_sides(real.sample_class(c, batch_real, generator), syn[c * ipc:(c + 1) * ipc],
                                       strategy, "siamese", generator)
        for name, x in (("real", x_real), ("synthetic", x_syn)):
            y = torch.full((x.shape[0],), c, device=x.device)
            grads = torch.autograd.grad(F.cross_entropy(net(x), y), params)
            out[name].append(torch.cat([g.detach().abs().flatten() for g in grads]).cpu())
    return {k: torch.cat(v) for k, v in out.items()}
