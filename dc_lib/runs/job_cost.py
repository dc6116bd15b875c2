"""What a job would cost on one H100: a projection from the README's measured figures, not a GPU run.

Used to hand the longest jobs out first (a pool or a Slurm array then finishes close to
total / devices, not a long job's length after the rest) and by ``benchmarks/jobs_throughput.py``
to project each chapter's ``paper`` GPU-hours. Per set of a cell: condensation, K x the measured
time of one DM iteration or one DC/DSA outer iteration; evaluation, 20 stacked networks scaled by
epochs and by set batches; both scaled from MNIST's ConvNet by classes and pixels. Where the README
has no measurement (outer iterations above 10 ipc, the whole training set) the model extrapolates
and says so in its notes.
"""

from __future__ import annotations

import dataclasses
import math

from ..core.config import dm_iterations, gm_iterations
from ..core.data import DATASETS
from .experiments import CORESETS, Runner
from .jobs import JobSpec
from .results import Cell

# README "Performance", one H100, torch 2.11, 2026-11-25 (benchmarks/measured/h100_2026-11-25_bench.jsonl):
# MNIST, default ConvNet.
H100 = {
    "dm_iteration_10ipc": 0.034,            # s, 256 real images per class, DSA (0.031-0.037)
    "outer_1ipc": {"dc": 0.20, "dsa": 0.17},  # s per DC / DSA outer iteration
    "outer_10ipc": {"dc": 3.2, "dsa": 3.9},
    "eval20_300ep_1ipc": 14.7,              # s, 20 networks stacked, 300 epochs, with the 10k test
    "eval20_300ep_10ipc": 21.1,
    "loop_net_step": 36.4 / (20 * 301),     # s per network and step of one batch (the plain loop, 1 ipc)
}


# Training images per dataset (the whole-set bound and the coreset network read them all).
TRAIN_SIZE = {"mnist": 60000, "fashionmnist": 60000, "svhn": 73257, "cifar10": 50000, "cifar100": 50000,
              "tinyimagenet": 100000}


def set_seconds(runner: Runner, cell: Cell) -> tuple[float, float, list[str]]:
    """Projected H100 seconds (condensation, evaluation) of one set of ``cell``, and what was extrapolated."""
    p = runner.profile
    info = DATASETS[cell.dataset]
    scale = (info.num_classes / 10) * (info.im_size[0] * info.im_size[1] / 784)
    if "_d4" in cell.eval_arch:  # TinyImageNet's depth-4 ConvNet: one more block at a quarter of the pixels
        scale *= 1.25
    notes = []
    condense = 0.0
    if cell.method in ("dm", "mmd"):
        # the real side (256 per class) dominates; the synthetic side grows with ipc
        condense = dm_iterations(p, cell.dataset) * H100["dm_iteration_10ipc"] * scale * (p.batch_real + cell.ipc) / (
            256 + 10)
        if cell.method == "mmd":
            condense *= 0.1  # pixel-space MMD: no network
            notes.append("mmd: 0.1 x DM (no network)")
    elif cell.method in ("dc", "dsa", "dc_aug"):
        kind = "dc" if cell.method == "dc" else "dsa"
        k = gm_iterations(p, cell.ipc, cell.method, cell.chapter)
        if cell.ipc == 1:
            outer = H100["outer_1ipc"][kind]
        else:
            outer = H100["outer_10ipc"][kind] * max(1.0, cell.ipc / 10)
            if cell.ipc > 10:
                notes.append(f"{cell.ipc}-ipc outer iteration extrapolated as {cell.ipc / 10:g} x the 10-ipc one")
        condense = k * outer * scale
    elif cell.method in CORESETS:
        notes.append("coreset network: counted once per dataset in its job, not here")
    epochs = (p.whole_epochs if cell.method == "whole"
              else (p.eval_epochs if cell.method in ("dm", "mmd", "dsa") or cell.chapter == 5 else p.eval_epochs_plain))
    if cell.method == "whole":
        batches = math.ceil(TRAIN_SIZE.get(cell.dataset, 50000) / 256)
        nets = p.whole_nets or p.num_nets
        evaluate = nets * epochs * batches * H100["loop_net_step"] * scale / (info.num_classes / 10)
        notes.append("whole set: the plain loop's step time x batches (no measurement of its own)")
    else:
        images = cell.ipc * info.num_classes
        base = H100["eval20_300ep_1ipc"] if cell.ipc == 1 else H100["eval20_300ep_10ipc"]
        evaluate = base * (epochs / 300) * max(1, math.ceil(images / 256)) * (scale / (info.num_classes / 10))
        evaluate *= runner.profile.num_nets / 20
    return condense, evaluate, notes


def job_seconds(spec: JobSpec, profile=None) -> tuple[float, set[str]]:
    """Projected H100 seconds of one job (its sets, plus a coreset network it trains), and the notes of
    what was extrapolated. ``profile``: the spec's profile object (default: looked up by name)."""
    from ..core.config import get_profile

    p = profile or get_profile(spec.profile)
    runner = Runner(p, spec.out_dir, device="cpu")
    total, notes, features = 0.0, set(), set()
    for task in spec.tasks:
        r = runner.with_profile(dataclasses.replace(p, **dict(task.overrides))) if task.overrides else runner
        condense, evaluate, why = set_seconds(r, task.cell)
        notes.update(why)
        total += len(task.sets or range(r.num_sets(task.cell))) * (condense + evaluate)
        if task.cell.method in CORESETS:
            features.add(task.cell.dataset)
    for dataset in features:  # the coreset network: feature_epochs over the whole training set
        info = DATASETS[dataset]
        total += (p.feature_epochs * math.ceil(TRAIN_SIZE.get(dataset, 50000) / 256) * H100["loop_net_step"]
                  * info.im_size[0] * info.im_size[1] / 784)
    return total, notes


def longest_first(specs: list[JobSpec]) -> list[JobSpec]:
    """``specs`` by projected cost, longest first (ties keep their order): the longest-processing-time
    rule, which keeps the last job to finish from being a long one started late."""
    return sorted(specs, key=lambda s: -job_seconds(s)[0])
