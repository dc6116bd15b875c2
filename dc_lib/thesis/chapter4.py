"""Chapter 4's experiments (DSA) as cells: Tables 4.1-4.5 and Figures 4.2, 4.5, 4.6."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import torch

from ..core.augment import OPS
from ..core.config import Profile
from ..core.files import atomic_write
from ..core.models import get_network
from ..core.seeding import derive_seed, make_generator, seed_everything
from ..methods.gradient_matching import GMConfig, condense_gm, gradient_magnitudes
from ..runs import tables
from ..runs.experiments import Runner
from ..runs.results import Cell, summarise

# The thesis copies random, herding, forgetting and DC from chapter 3; so do we when chapter 3's
# results of the same profile exist (the notebook's Runner has ``reuse_from``), else they run here.
METHODS = ("random", "herding", "forgetting", "dc", "dsa")
# Table 4.2 (CIFAR100, 1 and 10 ipc). Its LD row (learned distillation, AlexNet) is a baseline
# that this companion does not implement; it is listed as such (dc_lib.runs.listing).
CIFAR100_METHODS = ("random", "herding", "dc", "dsa")
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


def planned_4_1(profile: Profile, datasets=None, ipcs=None) -> list[Cell]:
    """Table 4.1's cells a profile runs: the coresets, DC and DSA on its grid (the whole-set row is
    Table 3.1's, as in the thesis)."""
    plan = profile.chapter4
    grid = itertools.product(tuple(datasets or plan.datasets), tuple(ipcs or plan.ipcs))
    return [_cell("4.1", d, i, m) for d, i in grid for m in METHODS]


def table_4_1(runner: Runner, datasets=None, ipcs=None) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DSA next to random selection and DC on the profile's grid."""
    not_run = tables.run_cells(runner, planned_4_1(runner.profile, datasets, ipcs))
    return summarise(runner.rows("4.1")), not_run


def planned_same_evaluation(profile: Profile) -> list[Cell]:
    """The check beside Table 4.1 (see :func:`table_same_evaluation`): its plan's datasets and ipcs."""
    plan = profile.chapter4.same_evaluation
    if plan is None:
        return []
    datasets, ipcs = plan
    return [_cell(SAME_EVALUATION_TABLE, d, ipc, method, f"eval_aug={aug}")
            for d, ipc, method, aug in itertools.product(datasets, ipcs, SAME_EVALUATION_METHODS,
                                                        SAME_EVALUATION_AUGS)]


def table_same_evaluation(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Table 4.1's herding, DC and DSA sets, each evaluated with both augmentations (not in the thesis).

    Table 4.1 evaluates every set its method's way: DSA sets with DSA augmentation, coreset and DC
    sets on MNIST with crop/scale/rotate. This check trains the evaluation networks of each set both
    ways (setting ``eval_aug=classic`` / ``eval_aug=dsa``; same sets, same network seeds), so a
    difference between methods can be told apart from a difference between evaluations. The
    profile's ``same_evaluation`` = (datasets, ipcs) says where; rows of Table 4.1 that already
    used a protocol are shared, not rerun.
    """
    cells = planned_same_evaluation(runner.profile)
    if not cells:
        return pd.DataFrame(), []
    not_run = tables.run_cells(runner, cells)
    return summarise(runner.rows(SAME_EVALUATION_TABLE)), not_run


def planned_4_2(profile: Profile) -> list[Cell]:
    """Table 4.2's cells a profile runs: random, herding, DC and DSA on CIFAR100 at its
    ``cifar100_ipcs`` (thesis 1 and 10), and the whole-set bound when it runs any."""
    ipcs = profile.chapter4.cifar100_ipcs
    cells = [_cell("4.2", "cifar100", ipc, method) for ipc, method in itertools.product(ipcs, CIFAR100_METHODS)]
    return cells + ([Cell(4, "4.2", "cifar100", 0, "whole", "none", "convnet", "")] if ipcs else [])


def table_4_2(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DSA on CIFAR100 (Table 4.2): the cells of :func:`planned_4_2`."""
    not_run = tables.run_cells(runner, planned_4_2(runner.profile))
    return summarise(runner.rows("4.2")), not_run


def table_4_3(runner: Runner):
    """DSA sets across architectures (MNIST, 1 ipc): condensed on C, evaluated on T."""
    return tables.cross_architecture(runner, table="4.3", method="dsa", chapter=4)


def planned_4_4(profile: Profile) -> list[Cell]:
    """Table 4.4's cells a profile runs: its ``schemes`` = (dataset, ipc, schemes, ops); the thesis
    runs CIFAR10 at 10 ipc, all seven schemes x crop/flip/scale/rotate."""
    if profile.chapter4.schemes is None:
        return []
    dataset, ipc, schemes, ops = profile.chapter4.schemes
    return [_cell("4.4", dataset, ipc, SCHEMES[scheme][0], f"scheme={scheme};{SCHEMES[scheme][1]};aug={op}")
            for scheme, op in itertools.product(SCHEMES, SCHEME_OPS) if scheme in schemes and op in ops]


def table_4_4(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Siamese vs independent vs no augmentation, in condensation and evaluation (Table 4.4)."""
    not_run = tables.run_cells(runner, planned_4_4(runner.profile))
    return summarise(runner.rows("4.4")), not_run


def planned_4_5(profile: Profile) -> list[Cell]:
    """Table 4.5's cells a profile runs: DSA with each of its ``per_op`` (an op alone, ``none`` or
    the ``combination``) at ``per_op_ipc`` on its datasets; flip is left out on digits, as in the thesis."""
    plan = profile.chapter4
    return [_cell("4.5", dataset, plan.per_op_ipc, "dsa", f"aug={op}")
            for dataset, op in itertools.product(plan.datasets, PER_OP)
            if op in plan.per_op and not (op == "flip" and dataset in ("mnist", "svhn"))]


def table_4_5(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DSA with each transformation alone (Table 4.5).

    ``combination`` is Table 4.1's DSA, ``none`` is DSA's loop without any augmentation.
    """
    not_run = tables.run_cells(runner, planned_4_5(runner.profile))
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


# Each table's plan: the cells (rows of its summary) a profile's run produces. Writing a table names
# the profiles that run a cell from these, and the committed-artefact tests check the names.
PLANNED = {"4.1": planned_4_1, SAME_EVALUATION_TABLE: planned_same_evaluation, "4.2": planned_4_2,
           "4.3": lambda profile: tables.cross_architecture_cells(profile, "4.3", "dsa", 4),
           "4.4": planned_4_4, "4.5": planned_4_5}


def write_table(runner: Runner, table: str, summary: pd.DataFrame, not_run, title: str) -> str:
    """Write a chapter 4 table (rows CSV, summary CSV, markdown with every thesis cell and the
    thesis's claims on it); return the markdown."""
    evaluation = (SAME_EVALUATION if table == SAME_EVALUATION_TABLE else EVALUATION)
    return tables.write_table(runner, table, summary, not_run, title, evaluation, chapter=4,
                              planned=PLANNED.get(table))
