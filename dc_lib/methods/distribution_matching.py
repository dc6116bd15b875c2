"""Distribution matching (DM, thesis chapter 5, Algorithm 3).

For k = 1..K: draw a freshly initialised embedding network psi (never trained);
for every class c draw a real batch and one Siamese augmentation omega_c,
applied to the real batch and to the class's synthetic images alike; then take
one SGD step on the synthetic pixels S for

    L = sum_c || mean psi(A_wc(real_c)) - mean psi(A_wc(S_c)) ||^2,

the squared distance of mean embeddings (an empirical MMD with a linear kernel
in embedding space). No inner loop, no network training, no second-order
gradients.

Choices where the thesis is silent follow the authors' public code
(hyperparameters.md section 7): embedding = the flattened features before the
linear classifier; SGD momentum 0.5 on S; lr 1 (10 from 100 images per class).

Batching: each class's ω_c is drawn in turn, then all classes are augmented
together (one call per op drawn, ``apply_params_grouped``) and the synthetic
side goes through the network in one forward. The real side too where batch
norm needs it -- exactly what the thesis does for DM-BN (Table 5.2): "BN
statistics come from the augmented synthetic images of all classes" -- and on
a GPU (``Speed.real_chunk="all"``); on a CPU each class's batch in cache-sized
chunks. With instance norm these are the same computation up to float
rounding (no cross-sample coupling).
"""

from __future__ import annotations

import os
from pathlib import Path
import time
from dataclasses import dataclass, replace

import torch
from tqdm import tqdm  # plain text bars: no ipywidgets needed, same look in papermill logs

from ..core.augment import apply_params_grouped, default_strategy, sample_params
from ..core.checkpoint import Checkpointing, diverged_hint, resume_checkpoint, save_checkpoint
from ..core.checks import condensation_args
from ..core.data import RealData, check_ipc
from ..core.models import get_network, has_batchnorm
from ..core.seeding import make_generator, seed_everything
from ..core.speed import Speed
from ..core.synset import SyntheticSet
from ..core.transfer import copy_into, module_to_device, to_device
from ..engines.compiled import graphs_on, maybe_compile, step_begin
from .watch import Watch


# Real images per embedding forward on CPU (2 cores, 256 real/class, 10 ipc: one DM iteration
# 3.83 s unchunked, 2.22 s at 8, 2.10 s at 16, 2.09 s at 32, 3.07 s at 64).
CPU_REAL_CHUNK = 32
# At most this many real images per forward when all classes share forwards (real_chunk="all", a GPU's
# default): one CIFAR10 iteration at the thesis's 256 per class; TinyImageNet's 200 classes take 20.
ALL_CLASSES_IMAGES = 2560


def default_lr(ipc: int) -> float:
    """The thesis's eta for S: 1 up to 50 images per class, 10 for larger sets."""
    return 10.0 if ipc >= 100 else 1.0


def init_synthetic(real: RealData, ipc: int, init: str, generator: torch.Generator) -> torch.Tensor:
    """Initial synthetic images ``(num_classes * ipc, C, H, W)``, class by class.

    ``init="real"``: random real images of each class (the DM/DSA default);
    ``init="noise"``: standard Gaussian noise in normalised space (the DC default).
    """
    info = real.info
    if init == "real":
        check_ipc(real, ipc)
        return torch.cat([real.sample_class(c, ipc, generator) for c in range(info.num_classes)])
    if init == "noise":
        shape = (info.num_classes * ipc, info.channel, *info.im_size)
        return torch.randn(shape, generator=generator).to(real.device)
    raise ValueError(f"Unknown init {init!r}; use 'real' or 'noise'")


def class_mean_embeddings(features: torch.Tensor, counts: list[int]) -> torch.Tensor:
    """Per-class means of ``features (sum(counts), F)`` laid out class by class -> ``(C, F)``."""
    return torch.stack([f.mean(0) for f in features.split(counts)])


@dataclass(frozen=True)
class DMConfig:
    """The hyperparameters of distribution matching (Algorithm 3); defaults are the thesis's.

    Attributes:
        iterations: K, outer iterations, each with a fresh embedding network psi_theta
            (thesis: 20000; 10000 for 64x64 datasets).
        lr: eta_S, the learning rate of S; None: 1, or 10 from 100 images per class (section 5.3.1).
        momentum: SGD momentum on S (the thesis says SGD; the authors' code uses 0.5).
        batch_real: real images per class per iteration (thesis: 256).
        init: ``real`` (random real images of each class, the thesis) or ``noise``.
        strategy: the DSA strategy A_omega shared by each class's real and synthetic batch;
            ``auto``: the thesis's for the dataset; None: no augmentation.
        arch: the embedding network psi_theta (``convnet``; ``convnet_bn`` for DM-BN, Table 5.2).
        embedding: ``network`` (DM), or ``pixels`` for the pixel-space linear-kernel MMD baseline
            of Appendix B.2 (no network, no augmentation).
        networks: None (the thesis's DM: a freshly initialised psi_theta every iteration), or the path of a
            file of trained states of ``arch`` (a list of state dicts, :mod:`dc_lib.methods.network_pool`)
            from which every iteration draws psi_theta instead (Table 5.4).
    """

    iterations: int = 20000
    lr: float | None = None
    momentum: float = 0.5
    batch_real: int = 256
    init: str = "real"
    strategy: str | None = "auto"
    arch: str = "convnet"
    embedding: str = "network"
    networks: str | None = None

    def record(self, real: RealData, ipc: int, seed: int) -> dict:
        """What a saved set and its checkpoint record of this run: the config as it ran ("auto" and
        None resolved), with the data, ipc and seed. A checkpoint resumes only under the same record."""
        lr = default_lr(ipc) if self.lr is None else self.lr
        strategy = self.strategy
        if strategy == "auto":
            strategy = default_strategy(real.info.name) if self.embedding == "network" else None
        return {"algorithm": "dm", "dataset": real.info.name, "ipc": ipc, "iterations": self.iterations,
                "arch": self.arch if self.embedding == "network" else "none", "lr": lr, "momentum": self.momentum,
                "batch_real": self.batch_real, "init": self.init, "strategy": strategy,
                "embedding": self.embedding, "seed": seed,
                # By file name: the file's name says which pool and group (its folder may be spelled otherwise).
                **({"networks": Path(self.networks).name} if self.networks is not None else {})}


def condense_dm(real: RealData, ipc: int, config: DMConfig = DMConfig(), *, seed: int = 0,
                checkpoint: Checkpointing | str | os.PathLike | None = None, progress: bool = True,
                speed: Speed = Speed(), watch: Watch = Watch()) -> SyntheticSet:
    """Learn a synthetic set by distribution matching (Algorithm 3).

    Args:
        real: the real data (its device is the compute device).
        ipc: synthetic images per class.
        config: the hyperparameters (K, eta_S, ...): :class:`DMConfig`.
        seed: makes the run repeat bit for bit on the same machine and device.
        checkpoint: a :class:`~dc_lib.core.checkpoint.Checkpointing` (or a path, saved every 100
            iterations); a rerun with the same config and seed resumes from it.
        progress: show a tqdm bar.
        speed: speed only (:class:`~dc_lib.core.speed.Speed`): ``real_chunk`` embeds each class's
            real batch in chunks, or ``"all"`` classes in shared forwards (without BatchNorm the
            class means are the same up to float rounding; with BatchNorm it is ignored: one
            forward over all classes); ``compile`` runs the embedding network through ``torch.compile``
            (``"reduce-overhead"``: with CUDA graphs on a GPU, one network kept and re-drawn in place).
        watch: observers (:class:`~dc_lib.methods.watch.Watch`): ``watch.on_iteration(k, images)``
            with a detached view of S ``(N, C, H, W)``, first at the starting k, then after every
            iteration k (e.g. snapshots against wall time, Figure 5.4); it must not change S.

    Returns:
        The SyntheticSet, images ``(num_classes * ipc, C, H, W)`` in normalised space; its
        ``config`` is :meth:`DMConfig.record`.

    Raises:
        FloatingPointError: the loss or images became NaN/inf (lower ``config.lr``).
    """
    info, device = real.info, real.device
    ckpt_plan = Checkpointing.of(checkpoint)
    iterations, batch_real, embedding = config.iterations, config.batch_real, config.embedding
    checkpoint_every = ckpt_plan.every if ckpt_plan else 100
    condensation_args(ipc=ipc, iterations=iterations, batch_real=batch_real, checkpoint_every=checkpoint_every)
    if embedding not in ("network", "pixels"):
        raise ValueError(f"Unknown embedding {embedding!r}; use 'network' or 'pixels'")
    record = config.record(real, ipc, seed)
    lr, strategy, arch, init = record["lr"], record["strategy"], config.arch, config.init
    real_chunk = resolve_real_chunk(speed.real_chunk, device)
    compile = speed.compile
    gen = make_generator(seed)
    check_ipc(real, ipc)
    syn = init_synthetic(real, ipc, init, gen).detach().requires_grad_(True)
    optimizer = torch.optim.SGD([syn], lr=lr, momentum=config.momentum)
    loss_value = float("nan")

    ckpt = ckpt_plan.path if ckpt_plan else None
    start = resume_checkpoint(ckpt, record, syn, optimizer, gen)

    labels = torch.arange(info.num_classes).repeat_interleave(ipc).to(device)
    syn_counts = [ipc] * info.num_classes
    states = _load_states(config.networks, device)
    t0 = time.perf_counter()
    if watch.on_iteration is not None:
        watch.on_iteration(start, syn.detach())
    bar = tqdm(range(start, iterations), desc=f"DM {info.name} ipc={ipc}", disable=not progress,
               initial=start, total=iterations)
    keep_net, net, kept_embed = graphs_on(compile, device) and embedding == "network", None, None
    for it in bar:
        step_begin(compile, device)
        if keep_net:  # CUDA graphs: one network, each iteration's fresh weights written into it
            net = draw_network(arch, info, gen, device, states, into=net)
            kept_embed = kept_embed or maybe_compile(net.embed, compile, device)
            embed, batch_norm = kept_embed, has_batchnorm(net)
        else:
            embed, batch_norm = _draw_embedding(arch, info, embedding, gen, device, states)
            if embedding == "network":
                embed = maybe_compile(embed, compile, device)
        omegas, real_batches = draw_class_batches(real, strategy, batch_real, gen)
        with torch.no_grad():
            mean_real = _real_class_means(embed, real_batches, batch_norm, real_chunk, omegas)
        del real_batches  # the raw batches are not needed past the real side (they are large on a GPU)
        mean_syn = class_mean_embeddings(embed(torch.cat(apply_params_grouped(list(syn.split(ipc)), omegas))),
                                         syn_counts)
        loss = ((mean_real - mean_syn) ** 2).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

        last = it + 1 == iterations
        saving = ckpt is not None and ((it + 1) % checkpoint_every == 0) and not last
        # Reading the loss forces a device sync: do it only every few iterations -- and before every
        # checkpoint, so a NaN state is never saved for each rerun to resume from and fail again.
        if last or it % 10 == 0 or saving:
            loss_value = float(loss.detach())
            if not (torch.isfinite(loss) and torch.isfinite(syn).all()):
                raise diverged(f"DM on {info.name} ipc={ipc}", it + 1, lr, ckpt)
            bar.set_postfix(loss=f"{loss_value:.4g}", refresh=False)
        if saving:
            save_checkpoint(ckpt, record, syn, optimizer, gen, it + 1)
        if watch.on_iteration is not None:
            watch.on_iteration(it + 1, syn.detach())
    bar.close()

    result = SyntheticSet(syn.detach().clone(), labels, info.name,
                          "dm" if embedding == "network" else "mmd", ipc, info.mean, info.std,
                          config=record, seed=seed, iteration=iterations,
                          metrics={"loss": loss_value, "seconds": time.perf_counter() - t0,
                                   "resumed_from": start})
    # A caller that saves the set keeps the checkpoint until its save succeeded (Runner.synset deletes it
    # then): a crash between here and that save must not throw the condensation away.
    if ckpt is not None and not ckpt_plan.keep:
        ckpt.unlink(missing_ok=True)
    return result


def _real_class_means(embed, batches: list[torch.Tensor], batch_norm: bool,
                      chunk: int | str | None = None, omegas: list | None = None) -> torch.Tensor:
    """Mean real embedding per class, ``(C, F)``, of one batch per class, each first augmented with its
    class's ω_c (``omegas``; None: not augmented).

    Batch norm must see all classes in one forward (its statistics span them,
    as in the thesis). Without it other forwards give the same numbers up to float
    rounding: ``"all"`` classes together, in groups of whole classes of at most
    :data:`ALL_CLASSES_IMAGES` images (a class larger than that goes alone), each
    group augmented and embedded before the next, so a large dataset never holds
    all its augmented images at once (few large kernels, for a GPU); None each
    class's batch alone (the reference); an int splits each class's batch into
    chunks of that many (on CPU small batches run faster: the activations stay in
    cache; the mean is the sum of the chunk sums / n).
    """
    omegas = [None] * len(batches) if omegas is None else omegas
    if batch_norm or chunk == "all":
        # batch norm: one group of every class; "all": whole classes up to the cap
        groups = class_groups([b.shape[0] for b in batches], None if batch_norm else ALL_CLASSES_IMAGES)
        return torch.cat([class_mean_embeddings(
            embed(torch.cat(apply_params_grouped([batches[c] for c in g], [omegas[c] for c in g]))),
            [batches[c].shape[0] for c in g]) for g in groups])
    batches = apply_params_grouped(batches, omegas)
    # A batch that fits one chunk takes the unchunked expression, so small batches give the same bits.
    return torch.stack([embed(b).mean(0) if chunk is None or b.shape[0] <= chunk
                        else sum(embed(b[s:s + chunk]).sum(0) for s in range(0, b.shape[0], chunk)) / b.shape[0]
                        for b in batches])


def diverged(run: str, iteration: int, lr: float, ckpt) -> FloatingPointError:
    """The error of a run whose loss or synthetic images became NaN/inf at ``iteration``."""
    return FloatingPointError(f"{run}: loss or synthetic images became NaN/inf at iteration {iteration} (lr={lr}). "
                              "Lower the learning rate or check the data." + diverged_hint(ckpt))


def resolve_real_chunk(real_chunk: int | str | None, device) -> int | str | None:
    """``Speed.real_chunk`` for DM on ``device``: ``"auto"`` is :data:`CPU_REAL_CHUNK` on CPU, ``"all"`` elsewhere."""
    if real_chunk == "auto":
        return CPU_REAL_CHUNK if torch.device(device).type == "cpu" else "all"
    return real_chunk


def draw_class_batches(real: RealData, strategy: str | None, batch_real: int,
                       gen: torch.Generator) -> tuple[list, list[torch.Tensor]]:
    """One iteration's ω_c and real batch of every class, drawn from ``gen`` in DM's order (ω_c, then
    class c's batch ``(batch_real, C, H, W)``); ω_c is shared by real_c and S_c."""
    omegas, batches = [], []
    for c in range(real.info.num_classes):
        omegas.append(sample_params(strategy, 1, gen))
        batches.append(real.sample_class(c, batch_real, gen))
    return omegas, batches


def class_groups(counts: list[int], cap: int | None) -> list[list[int]]:
    """Consecutive classes grouped so that a group's images (``counts[c]`` each) stay within ``cap``;
    a class larger than ``cap`` goes alone; ``cap`` None: one group of every class."""
    groups, size = [[]], 0
    for c, n in enumerate(counts):
        if cap is not None and groups[-1] and size + n > cap:
            groups, size = groups + [[]], 0
        groups[-1].append(c)
        size += n
    return groups


def _load_states(path, device="cpu") -> list[dict] | None:
    """The trained states DM draws psi_theta from (``DMConfig.networks``), or None for fresh networks.

    They are moved to ``device`` once, so that loading one into each iteration's network is a copy on
    the device, not a blocking host-to-device copy per iteration (a ConvNet state is ~1.3 MB).
    """
    if path is None:
        return None
    states = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(states, list) or not states:
        raise ValueError(f"{path} holds no network states (a non-empty list of state dicts is expected)")
    return [{k: to_device(v, device) for k, v in state.items()} for state in states]


def _draw_embedding(arch: str, info, embedding: str, gen: torch.Generator, device, states=None):
    """A frozen embedding function (or pixel flattening), and whether it has BN: a freshly initialised
    network, or with ``states`` one of them drawn with the run's generator."""
    if embedding == "pixels":
        return (lambda x: x.flatten(1)), False
    net = draw_network(arch, info, gen, device, states)
    return net.embed, has_batchnorm(net)


def draw_network(arch: str, info, gen: torch.Generator, device, states=None,
                 into: torch.nn.Module | None = None) -> torch.nn.Module:
    """One iteration's psi_theta: frozen, in train mode, on ``device``; freshly initialised, or with
    ``states`` one of them. Every draw comes from ``gen``, so each iteration's psi is reproducible.

    ``into``: a network drawn here before; the new weights are written into its tensors and it is
    returned (the same weights as a new network; CUDA graphs keep their tensors' addresses).
    """
    seed_everything(int(torch.randint(2**31 - 1, (1,), generator=gen)))
    fresh = get_network(arch, info.channel, info.num_classes, info.im_size)
    if into is None:
        net = module_to_device(fresh, device)
    else:
        net = into
        with torch.no_grad():  # built on the CPU as a new one is, so the weights are the same
            for mine, new in zip(net.state_dict().values(), fresh.state_dict().values()):
                copy_into(mine, new)
    if states is not None:
        net.load_state_dict(states[int(torch.randint(len(states), (1,), generator=gen))])
    net.train()  # BN variants use the statistics of the current batch, as in the thesis
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def condense_mmd_pixels(real: RealData, ipc: int, config: DMConfig = DMConfig(), **kw) -> SyntheticSet:
    """The Appendix B.2 baseline: linear-kernel MMD in raw pixel space (no network, no augmentation).

    ``config``: as DM's (its ``arch`` and ``strategy`` are not used); ``kw``: as :func:`condense_dm`.
    """
    return condense_dm(real, ipc, replace(config, embedding="pixels"), **kw)
