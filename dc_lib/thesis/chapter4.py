"""Chapter 4's experiments (DSA) as cells: Tables 4.1-4.5 and Figures 4.2, 4.5, 4.6."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import torch

from ..core.augment import OPS
from ..core.files import atomic_write
from ..core.models import get_network
from ..core.seeding import derive_seed, make_generator, seed_everything
from ..methods.gradient_matching import GMConfig, condense_gm, gradient_magnitudes
from ..runs import tables
from ..runs.experiments import Runner
from ..runs.results import Cell, summarise

THESIS_DATASETS = ("mnist", "fashionmnist", "svhn", "cifar10")
THESIS_IPCS = (1, 10, 50)
# The thesis copies random, herding, forgetting and DC from chapter 3; so do we when chapter 3's
# results of the same profile exist (the notebook's Runner has ``reuse_from``), else they run here.
METHODS = ("random", "herding", "forgetting", "dc", "dsa")
# Table 4.2 (CIFAR100, 1 and 10 ipc). Its LD row (learned distillation, AlexNet) is a baseline
# that this companion does not implement; it is listed as such.
CIFAR100_METHODS = ("random", "herding", "dc", "dsa")
CIFAR100_IPCS = (1, 10)
# Table 4.4: where the augmentation goes, in the thesis's own spelling (A_w = Siamese).
SCHEMES = {"ours": ("dsa", "condense_real=A_w;condense_syn=A_w;test_syn=A"),
           "A": ("dc", "condense_real=none;condense_syn=none;test_syn=none"),
           "B": ("dc_aug", "condense_real=none;condense_syn=none;test_syn=A"),
           "C": ("dc_aug", "condense_real=A;condense_syn=none;test_syn=A"),
           "D": ("dc_aug", "condense_real=none;condense_syn=A;test_syn=A"),
           "E": ("dsa", "condense_real=A_w;condense_syn=A_w;test_syn=none"),
           "F": ("dc_aug", "condense_real=A;condense_syn=A;test_syn=A")}
SCHEME_OPS = ("crop", "flip", "scale", "rotate")
# Table 4.5: DSA with one transformation, none, or the combination (one op drawn per match).
PER_OP = ("none", *OPS, "combination")
# The same-evaluation check beside Table 4.1 (not in the thesis): each set under both protocols.
SAME_EVALUATION_TABLE = "4.1_same_evaluation"
SAME_EVALUATION_METHODS = ("herding", "dc", "dsa")
SAME_EVALUATION_AUGS = ("classic", "dsa")
SAME_EVALUATION = ("Each set trains its evaluation networks both ways (setting eval_aug): with the MNIST "
                   "crop/scale/rotate of DC and the coresets (classic) and with DSA augmentation (dsa); the "
                   "thesis column repeats Table 4.1, where each method is evaluated its own way.")
EVALUATION = ("DSA sets train the evaluation networks with DSA augmentation; random and DC sets without "
              "augmentation, except on MNIST (crop/scale/rotate).")


def _cell(table: str, dataset: str, ipc: int, method: str, setting: str = "") -> Cell:
    condense = "none" if method == "random" else "convnet"
    return Cell(4, table, dataset, ipc, method, condense, "convnet", setting)


def table_4_1(runner: Runner, datasets=None, ipcs=None) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DSA next to random selection and DC on the profile's grid."""
    plan = runner.profile.chapter4
    grid = itertools.product(tuple(datasets or plan.datasets), tuple(ipcs or plan.ipcs))
    cells, skipped = tables.grid_cells(_cell, "4.1", grid, itertools.product(THESIS_DATASETS, THESIS_IPCS), METHODS)
    not_run = tables.run_cells(runner, cells, skipped, chapter=4)
    return summarise(runner.rows("4.1")), not_run


def table_same_evaluation(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Table 4.1's herding, DC and DSA sets, each evaluated with both augmentations (not in the thesis).

    Table 4.1 evaluates every set its method's way: DSA sets with DSA augmentation, coreset and DC
    sets on MNIST with crop/scale/rotate. This check trains the evaluation networks of each set both
    ways (setting ``eval_aug=classic`` / ``eval_aug=dsa``; same sets, same network seeds), so a
    difference between methods can be told apart from a difference between evaluations. The
    profile's ``same_evaluation`` = (datasets, ipcs) says where; rows of Table 4.1 that already
    used a protocol are shared, not rerun.
    """
    plan = runner.profile.chapter4.same_evaluation
    if plan is None:
        return pd.DataFrame(), []
    datasets, ipcs = plan
    cells = [_cell(SAME_EVALUATION_TABLE, d, ipc, method, f"eval_aug={aug}")
             for d, ipc, method, aug in itertools.product(datasets, ipcs, SAME_EVALUATION_METHODS,
                                                         SAME_EVALUATION_AUGS)]
    not_run = tables.run_cells(runner, cells, [], chapter=4)
    return summarise(runner.rows(SAME_EVALUATION_TABLE)), not_run


def table_4_2(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DSA on CIFAR100 (Table 4.2): random, herding, DC and DSA at the profile's ``cifar100_ipcs``
    (thesis 1 and 10) and the whole-set bound; cells outside the profile are listed as not run."""
    ipcs = runner.profile.chapter4.cifar100_ipcs
    cells, skipped = [], []
    for ipc, method in itertools.product(CIFAR100_IPCS, CIFAR100_METHODS):
        (cells if ipc in ipcs else skipped).append(_cell("4.2", "cifar100", ipc, method))
    whole = Cell(4, "4.2", "cifar100", 0, "whole", "none", "convnet", "")
    (cells if ipcs else skipped).append(whole)
    not_run = tables.run_cells(runner, cells, skipped, chapter=4)
    not_run += [(Cell(4, "4.2", "cifar100", ipc, "ld", "alexnet", "alexnet", ""),
                 "not implemented (learned distillation baseline)") for ipc in CIFAR100_IPCS]
    return summarise(runner.rows("4.2")), not_run


def table_4_3(runner: Runner):
    """DSA sets across architectures (MNIST, 1 ipc): condensed on C, evaluated on T."""
    return tables.cross_architecture(runner, table="4.3", method="dsa", chapter=4)


def table_4_4(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Siamese vs independent vs no augmentation, in condensation and evaluation (Table 4.4).

    The thesis runs CIFAR10 at 10 ipc; a profile's ``schemes`` = (dataset, ipc, schemes, ops)
    says what it runs, and the thesis grid's other cells are listed as not run.
    """
    dataset, ipc, schemes, ops = runner.profile.chapter4.schemes or ("cifar10", 10, (), ())
    cells, skipped = [], []
    for scheme, op in itertools.product(SCHEMES, SCHEME_OPS):
        method, labels = SCHEMES[scheme]
        run = scheme in schemes and op in ops
        cell = _cell("4.4", dataset if run else "cifar10", ipc if run else 10, method,
                     f"scheme={scheme};{labels};aug={op}")
        (cells if run else skipped).append(cell)
    not_run = tables.run_cells(runner, cells, skipped, chapter=4)
    return summarise(runner.rows("4.4")), not_run


def table_4_5(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DSA with each transformation alone (Table 4.5); flip is left out on digits, as in the thesis.

    The profile's ``per_op`` lists the transformations it runs (at ``per_op_ipc``, thesis 10);
    ``combination`` is Table 4.1's DSA, ``none`` is DSA's loop without any augmentation.
    """
    plan = runner.profile.chapter4
    cells, skipped = [], []
    for dataset, op in itertools.product(plan.datasets, PER_OP):
        if op == "flip" and dataset in ("mnist", "svhn"):
            continue
        cell = _cell("4.5", dataset, plan.per_op_ipc, "dsa", f"aug={op}")
        (cells if op in plan.per_op else skipped).append(cell)
    not_run = tables.run_cells(runner, cells, skipped, chapter=4)
    return summarise(runner.rows("4.5")), not_run


def figure_4_2_sets(runner: Runner, datasets=None, ipc: int | None = None) -> list:
    """DSA sets drawn in Figure 4.2 (the profile's largest ipc; made if missing)."""
    plan = runner.profile.chapter4
    ipc = ipc or max(plan.ipcs)
    return [runner.synset(_cell("4.1", d, ipc, "dsa")) for d in tuple(datasets or plan.datasets)
            if runner.data(d) is not None]


HISTOGRAM_COLUMNS = ["dataset", "ipc", "set", "side", "bin_low", "bin_high", "count"]


def figure_4_5(runner: Runner, dataset: str | None = None, ipc: int | None = None, bins: int = 60) -> pd.DataFrame:
    """Histograms of per-class gradient magnitudes, real vs synthetic, for the DC and the DSA set.

    The thesis (Fig. 4.5) uses CIFAR10, 10 ipc, after K = 1000; we take the profile's Table 4.1
    sets of ``dataset``/``ipc`` (default: its first dataset, largest ipc), draw one fresh ConvNet
    and match as in condensation (no augmentation for DC, Siamese for DSA). Returns and writes
    the tidy histogram (``figure_4.5_histogram.csv``: set, side, bin_low, bin_high, count).
    """
    plan = runner.profile.chapter4
    dataset, ipc = dataset or plan.datasets[0], ipc or max(plan.ipcs)
    real = runner.data(dataset)
    edges = np.logspace(-10, 0, bins + 1)
    rows = []
    if real is None:  # no data, no sets: an empty histogram (header only), which the plot skips
        hist = pd.DataFrame(columns=HISTOGRAM_COLUMNS)
        atomic_write(runner.out_dir / "figure_4.5_histogram.csv", lambda tmp: hist.to_csv(tmp, index=False))
        return hist
    for method in ("dc", "dsa"):
        syn = runner.synset(_cell("4.1", dataset, ipc, method))
        gen = make_generator(derive_seed(runner.seed, "figure 4.5", method))
        seed_everything(derive_seed(runner.seed, "figure 4.5 network"))  # the same network for both sets
        net = get_network("convnet", real.info.channel, real.info.num_classes, real.info.im_size).to(real.device)
        strategy = runner.dsa_strategy(_cell("4.1", dataset, ipc, method), real) if method == "dsa" else None
        mags = gradient_magnitudes(net, real, syn.images, ipc, batch_real=runner.profile.gm_batch_real,
                                   strategy=strategy, generator=gen)
        for side, values in mags.items():
            counts, _ = np.histogram(values.clamp_min(edges[0]).numpy(), bins=edges)
            rows += [{"dataset": dataset, "ipc": ipc, "set": method, "side": side, "bin_low": lo, "bin_high": hi,
                      "count": int(n)} for lo, hi, n in zip(edges[:-1], edges[1:], counts)]
    hist = pd.DataFrame(rows, columns=HISTOGRAM_COLUMNS)
    atomic_write(runner.out_dir / "figure_4.5_histogram.csv", lambda tmp: hist.to_csv(tmp, index=False))
    return hist


def figure_4_6(runner: Runner, snapshots: int = 6) -> tuple[dict[str, torch.Tensor], list[int]]:
    """Snapshots of DSA images learned from noise and from real images (Figure 4.6).

    The profile's ``evolution`` = (dataset, ipc, K) sets the run; ``snapshots`` iterations
    spaced geometrically from 0 to K are kept, saved to ``evolution_<dataset>_<init>.pt``
    (reused on rerun). Returns ({init: (snapshots, N, C, H, W)} in normalised space, the iterations).
    """
    dataset, ipc, iterations = runner.profile.chapter4.evolution
    real = runner.data(dataset)
    if real is None:  # the figure is skipped (plotting.plot_evolution says why)
        return {}, []
    keep = sorted({0, *np.unique(np.geomspace(1, iterations, snapshots - 1).astype(int)).tolist()})
    out = {}
    for init in ("noise", "real"):
        path = runner.out_dir / f"evolution_{dataset}_ipc{ipc}_{init}_K{iterations}.pt"
        if path.is_file():
            out[init] = torch.load(path)["images"]
            continue
        frames = {}
        seed = derive_seed(runner.seed, "figure 4.6", dataset, ipc)  # same seed: only the init differs

        def keep_frame(k, images, frames=frames):
            if k in keep:
                frames[k] = images.detach().cpu().clone()

        dsa = GMConfig(iterations=iterations, init=init, batch_real=runner.profile.gm_batch_real,
                       dsa_strategy=runner.dsa_strategy(_cell("4.1", dataset, ipc, "dsa"), real))
        syn = condense_gm(real, ipc, dsa, seed=seed, progress=runner.profile.progress, on_iteration=keep_frame,
                          speed=runner.profile.speed)
        del syn
        out[init] = torch.stack([frames[k] for k in keep])
        atomic_write(path, lambda tmp, v=out[init]: torch.save({"images": v, "iterations": keep}, tmp))
    return out, keep


def write_table(runner: Runner, table: str, summary: pd.DataFrame, not_run, title: str) -> str:
    evaluation = (SAME_EVALUATION if table == SAME_EVALUATION_TABLE else EVALUATION)
    return tables.write_table(runner, table, summary, not_run, title, evaluation)


def all_cells(runner: Runner, datasets=None, ipcs=None) -> None:
    """Every table cell the chapter 4 notebook runs, in its order (Tables 4.1, the same-evaluation check,
    4.2-4.5). With a :class:`~dc_lib.runs.jobs.Planner` this records them as jobs instead of running them;
    the sets Figures 4.2 and 4.5 draw are Table 4.1's, and Figure 4.6's run is not a table cell (the
    notebook makes it)."""
    table_4_1(runner, datasets, ipcs)
    table_same_evaluation(runner)
    table_4_2(runner)
    table_4_3(runner)
    table_4_4(runner)
    table_4_5(runner)
