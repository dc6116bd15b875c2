"""Several DM sets in one batched pass: the S sets of a cell (one per seed) condensed together.

One DM iteration is small work for a large GPU: one fresh ConvNet, a real batch per class and C x ipc
synthetic images, so a single run leaves most of the device idle. The S sets of a thesis cell (5
seeds) are independent runs with the same shapes, so their iterations can share kernels. Set s draws
everything it draws when it runs alone, from its own generator and in the same order as
:func:`~dc_lib.methods.distribution_matching.condense_dm`: its psi_theta, then each class's omega_c and
real batch. Then the S networks are stacked (:class:`~dc_lib.engines.stacked.StackedNetworks`,
``torch.func.vmap``) and every forward runs over ``(S, B, C, H, W)``. The losses are summed,
L = sum_s L_s. L_s depends on S_s alone, so each set gets the gradient it gets alone, and the same SGD
step. The sets equal S separate ``condense_dm`` runs up to float rounding (the batched convolutions
sum in another order), not bit for bit (tests/test_dm_sets.py).

What it covers: the thesis's DM, a freshly initialised network without batch norm every iteration,
of the architectures whose stacking is checked against the plain path
(:data:`~dc_lib.engines.stacked.STACKABLE`: ConvNet, MLP, LeNet). Others are refused: VGG-11's sets,
for one, came out 0.2-0.5 apart from its runs alone after one augmented iteration in float64, cause
not established. DM-BN is refused too (running statistics cannot go through ``vmap``, see
:mod:`dc_lib.engines.stacked`), and so are the trained-network pool of Table 5.4 and pixel MMD. Those
run set by set through ``condense_dm``.

Checkpoints are one per set, the very file ``condense_dm`` writes and reads (same record). A set can
therefore resume alone what it started batched, and the other way round. Sets resumed from different
iterations join the batch as the run reaches them.

``reproduce.sh``'s jobs still condense one set per job with ``condense_dm``: its pool spreads those
jobs over GPUs and packs them (``--per-gpu``). Whether this pass beats that packing on a GPU has not
been measured (no GPU was lent); on 2 CPU cores it does not pay (``benchmarks/bench.py``,
``dm_sets_batched``).
"""

from __future__ import annotations

import time

import torch
from tqdm import tqdm

from ..core.augment import apply_params_grouped
from ..core.checkpoint import Checkpointing, resume_checkpoint, save_checkpoint
from ..core.checks import condensation_args
from ..core.data import RealData, check_ipc
from ..core.models import get_network, has_batchnorm
from ..core.seeding import make_generator
from ..core.speed import Speed
from ..core.synset import SyntheticSet
from ..core.transfer import to_device
from ..engines.stacked import STACKABLE, StackedNetworks, supports_stacking
from .distribution_matching import (ALL_CLASSES_IMAGES, DMConfig, class_groups, diverged, draw_class_batches,
                                    draw_network, init_synthetic, resolve_real_chunk)


def condense_dm_sets(real: RealData, ipc: int, config: DMConfig = DMConfig(), *, seeds: list[int],
                     checkpoints: list | None = None, progress: bool = True,
                     speed: Speed = Speed()) -> list[SyntheticSet]:
    """Learn one DM set per seed, all in one batched pass (Algorithm 3, S runs side by side).

    Args:
        real: the real data (its device is the compute device).
        ipc: synthetic images per class.
        config: DM's hyperparameters (K, eta_S, ...), shared by every set: :class:`DMConfig`.
        seeds: one per set, all different; set s is ``condense_dm(real, ipc, config, seed=seeds[s])``
            up to float rounding.
        checkpoints: None, or one per seed: a :class:`~dc_lib.core.checkpoint.Checkpointing`, a path or None.
        progress: show a tqdm bar.
        speed: ``real_chunk`` as in ``condense_dm`` (``"all"``: whole classes per forward, about
            :data:`ALL_CLASSES_IMAGES` images over all sets together); ``compile`` is not used.

    Returns:
        The SyntheticSets in the order of ``seeds``, each as ``condense_dm`` returns it (images
        ``(num_classes * ipc, C, H, W)``, ``config`` its record); ``metrics["seconds"]`` is the wall time
        of the whole pass, shared by its sets, and ``metrics["sets_in_pass"]`` their number S.

    Raises:
        ValueError: no seeds, repeated seeds, a checkpoint list of another length, or a config this pass
            does not cover (an architecture not in ``STACKABLE``, batch norm, the network pool, pixel MMD).
        FloatingPointError: a set's loss or images became NaN/inf (lower ``config.lr``).
    """
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be one or more different integers, got {seeds}")
    plans = [Checkpointing.of(c) for c in (checkpoints if checkpoints is not None else [None] * len(seeds))]
    if len(plans) != len(seeds):
        raise ValueError(f"{len(plans)} checkpoints for {len(seeds)} seeds: give one per seed (or None)")
    _check_covered(config, real)
    info, device = real.info, real.device
    condensation_args(ipc=ipc, iterations=config.iterations, batch_real=config.batch_real,
                      checkpoint_every=min([p.every for p in plans if p] or [100]))
    check_ipc(real, ipc)
    records = [config.record(real, ipc, s) for s in seeds]
    lr, strategy, iterations = records[0]["lr"], records[0]["strategy"], config.iterations
    real_chunk = resolve_real_chunk(speed.real_chunk, device)

    gens = [make_generator(s) for s in seeds]
    syns = [init_synthetic(real, ipc, config.init, g).detach().requires_grad_(True) for g in gens]
    optimizers = [torch.optim.SGD([x], lr=lr, momentum=config.momentum) for x in syns]
    starts = [resume_checkpoint(p.path if p else None, rec, x, o, g)
              for p, rec, x, o, g in zip(plans, records, syns, optimizers, gens)]
    losses = torch.full((len(seeds),), float("nan"))
    t0 = time.perf_counter()
    bar = tqdm(range(min(starts), iterations), desc=f"DM {info.name} ipc={ipc} x{len(seeds)} sets",
               disable=not progress, initial=min(starts), total=iterations)
    for it in bar:
        active = [s for s in range(len(seeds)) if starts[s] <= it]
        nets, omegas, batches = [], [], []
        for s in active:  # each set's draws, in condense_dm's order: psi, then omega_c and real_c per class
            # psi is built and stacked on the CPU, then goes to the device as one tensor per weight
            nets.append(draw_network(config.arch, info, gens[s], "cpu"))
            set_omegas, set_batches = draw_class_batches(real, strategy, config.batch_real, gens[s])
            omegas.append(set_omegas), batches.append(set_batches)
        stack = StackedNetworks(nets)
        stack.params = {k: to_device(v, device) for k, v in stack.params.items()}
        stack.buffers = {k: to_device(v, device) for k, v in stack.buffers.items()}
        with torch.no_grad():
            mean_real = _stacked_real_means(stack, batches, omegas, real_chunk)
        del batches
        syn_in = torch.stack([torch.cat(apply_params_grouped(list(syns[s].split(ipc)), omegas[i]))
                              for i, s in enumerate(active)])
        mean_syn = stack.embed(syn_in).unflatten(1, (info.num_classes, ipc)).mean(2)
        loss = ((mean_real - mean_syn) ** 2).sum((1, 2))  # (S_active,): one L_s per set
        for s in active:
            optimizers[s].zero_grad(set_to_none=True)
        loss.sum().backward()
        for s in active:
            optimizers[s].step()

        last = it + 1 == iterations
        saving = [s for s in active if plans[s] and (it + 1) % plans[s].every == 0 and not last]
        if last or it % 10 == 0 or saving:  # one device sync for every set's loss
            losses[active] = loss.detach().cpu()
            for s in active:
                if not (torch.isfinite(losses[s]) and torch.isfinite(syns[s]).all()):
                    raise diverged(f"DM on {info.name} ipc={ipc}, seed {seeds[s]}", it + 1, lr,
                                   plans[s].path if plans[s] else None)
            bar.set_postfix(loss=f"{float(losses[active].mean()):.4g}", refresh=False)
        for s in saving:
            save_checkpoint(plans[s].path, records[s], syns[s], optimizers[s], gens[s], it + 1)
    bar.close()

    seconds = time.perf_counter() - t0
    labels = torch.arange(info.num_classes).repeat_interleave(ipc).to(device)
    results = [SyntheticSet(x.detach().clone(), labels, info.name, "dm", ipc, info.mean, info.std,
                            config=rec, seed=seed, iteration=iterations,
                            metrics={"loss": float(losses[s]), "seconds": seconds, "resumed_from": starts[s],
                                     "sets_in_pass": len(seeds)})
               for s, (x, rec, seed) in enumerate(zip(syns, records, seeds))]
    for p in plans:  # as in condense_dm: a caller that saves the sets keeps the checkpoints until then
        if p is not None and not p.keep:
            p.path.unlink(missing_ok=True)
    return results


def _check_covered(config: DMConfig, real: RealData) -> None:
    if config.embedding != "network":
        raise ValueError(f"condense_dm_sets covers DM's network embedding, not {config.embedding!r}: "
                         "use condense_dm set by set")
    if config.networks is not None:
        raise ValueError("condense_dm_sets draws fresh networks; a trained-network pool (DMConfig.networks, "
                         "Table 5.4) runs through condense_dm set by set")
    info = real.info
    with torch.device("meta"):  # the architecture only: no memory, no draw from the random generators
        net = get_network(config.arch, info.channel, info.num_classes, info.im_size)
    if has_batchnorm(net):
        raise ValueError(f"{config.arch} has batch norm, whose statistics cannot be batched over sets: "
                         "use condense_dm set by set")
    if not supports_stacking(config.arch):
        raise ValueError(f"condense_dm_sets batches only the architectures checked against the plain path "
                         f"({', '.join(STACKABLE)}), not {config.arch!r}: use condense_dm set by set")


def _stacked_real_means(stack: StackedNetworks, batches: list[list[torch.Tensor]], omegas: list[list],
                        chunk: int | str | None) -> torch.Tensor:
    """Mean real embedding per set and class ``(S, C, F)``: set s's class-c batch ``batches[s][c]``,
    augmented with its ω_c ``omegas[s][c]``, through set s's network.

    ``chunk``: as ``condense_dm``'s ``real_chunk``: ``"all"`` embeds whole classes together, up to
    :data:`ALL_CLASSES_IMAGES` images over all sets per forward (one class of every set goes alone even
    when it holds more), an int splits each class's batch into chunks of that many, None embeds each
    class's batch alone.
    """
    counts = [b.shape[0] for b in batches[0]]  # every set draws the same number per class
    cap = ALL_CLASSES_IMAGES // len(batches) if chunk == "all" else 0  # 0: every class alone
    means = []
    for group in class_groups(counts, cap):
        x = torch.stack([torch.cat(apply_params_grouped([b[c] for c in group], [o[c] for c in group]))
                         for b, o in zip(batches, omegas)])  # (S, images of the group, C, H, W)
        n = x.shape[1]
        if isinstance(chunk, int) and n > chunk:  # one class: the mean is the sum of the chunk sums / n
            means.append((sum(stack.embed(x[:, a:a + chunk]).sum(1) for a in range(0, n, chunk)) / n)[:, None])
        else:
            means.append(torch.stack([f.mean(1) for f in stack.embed(x).split([counts[c] for c in group], 1)], 1))
    return torch.cat(means, 1)
