"""Chapter 4's experiments (DSA) as cells: Tables 4.1-4.5 and Figures 4.2, 4.5, 4.6."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..core.augment import OPS
from ..core.config import Profile
from ..core.files import atomic_write
from ..core.seeding import derive_seed, make_generator
from ..methods.gradient_matching import GMConfig, condense_gm
from ..methods.watch import Watch
from ..methods.gradient_probe import MagnitudeCapture, last_round, replay_outer_iteration
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


HISTOGRAM_COLUMNS = ["dataset", "ipc", "method", "outer_iteration", "round", "epochs_on_syn", "side",
                     "bin_low", "bin_high", "count"]


def figure_4_5(runner: Runner, dataset: str | None = None, ipc: int | None = None, bins: int = 60) -> pd.DataFrame:
    """Histograms of gradient magnitudes inside the bi-level loop, real vs synthetic, DC vs DSA (Figure 4.5).

    The thesis (CIFAR10, 10 ipc) measures them at outer iteration k = 1000 of Algorithm 2, on the
    network of that iteration after its epochs on S. We take the profile's Table 4.1 DC and DSA
    sets of ``dataset``/``ipc`` (default: its first dataset, largest ipc; the sets are reused, or
    made if missing) and replay one more outer iteration of each set's own condensation from the
    saved set (:func:`~dc_lib.methods.gradient_probe.replay_outer_iteration`): k = K + 1, where K is
    the set's budget (the profile's DC and DSA K differ; each row says its k). Just before the
    iteration's last match, t = T - 1, after t * varsigma_theta epochs on S (450 at 10 ipc), the
    absolute entries of each class's weight gradients are taken on a real batch and on the class's
    synthetic images, Siamese-augmented for DSA as in its matches, none for DC
    (:class:`~dc_lib.methods.gradient_probe.MagnitudeCapture`). Both replays draw the same fresh
    network.

    Why a replay, not a capture while the set is made: the sets are shared with Table 4.1 and with
    chapter 3 (its DC sets), usually made before and reused; a replay costs one outer iteration per
    set and needs no condensation rerun. Its differences from iteration K + 1 of the original run:
    no momentum buffer on S and a new random stream (neither is saved with a set). At 1 ipc
    (T = 1) the network has had no epochs on S when it is measured.

    Returns and writes the tidy histogram ``figure_4.5_histogram.csv`` (:data:`HISTOGRAM_COLUMNS`:
    ``method`` dc/dsa, ``outer_iteration`` k, ``round`` t, ``epochs_on_syn``, ``side``
    real/synthetic, the bin edges and the count of gradient entries) and what it was measured from
    (``figure_4.5_record.json``: a rerun with the same sets, configs and seed reads the histogram back).
    """
    plan = runner.profile.chapter4
    dataset, ipc = dataset or plan.datasets[0], ipc or max(plan.ipcs)
    real = runner.data(dataset)
    edges = np.logspace(-10, 0, bins + 1)
    rows = []
    record_path = runner.out_dir / "figure_4.5_record.json"
    hist_path = runner.out_dir / "figure_4.5_histogram.csv"
    if real is None:  # no data, no sets: an empty histogram (header only), which the plot skips
        hist = pd.DataFrame(columns=HISTOGRAM_COLUMNS)
        record_path.unlink(missing_ok=True)  # the empty histogram was measured from nothing
        atomic_write(hist_path, lambda tmp: hist.to_csv(tmp, index=False))
        return hist
    made = [(method, runner.synset(_cell("4.1", dataset, ipc, method)),
             runner.method_config(_cell("4.1", dataset, ipc, method), real)) for method in ("dc", "dsa")]
    # What the histogram was measured from: a rerun with the same sets, configs and seed reads it back
    # instead of replaying two outer iterations (~5 min at 10 ipc on 2 cores).
    record = {"dataset": dataset, "ipc": ipc, "bins": bins, "seed": runner.seed,
              "sets": {m: [repr(config), syn.iteration, hashlib.sha1(syn.images.cpu().numpy().tobytes()).hexdigest()]
                       for m, syn, config in made}}
    if hist_path.is_file() and record_path.is_file() and json.loads(record_path.read_text()) == record:
        return pd.read_csv(hist_path)
    for method, syn, config in made:
        t, epochs = last_round(config, ipc)
        capture = MagnitudeCapture(real, ipc, syn.iteration + 1, t, batch_real=config.batch_real,
                                   strategy=config.dsa_strategy,
                                   generator=make_generator(derive_seed(runner.seed, "figure 4.5 batches", method)))
        # The same replay seed for both sets: the same fresh network, then each trained on its own S.
        k = replay_outer_iteration(real, syn, config, seed=derive_seed(runner.seed, "figure 4.5"),
                                   on_match=capture, speed=runner.profile.speed, progress=runner.profile.progress)
        for side, values in capture.magnitudes.items():
            # Out-of-range entries go to the end bins rather than out of the count.
            counts, _ = np.histogram(values.clamp(edges[0], edges[-1]).numpy(), bins=edges)
            rows += [{"dataset": dataset, "ipc": ipc, "method": method, "outer_iteration": k, "round": t,
                      "epochs_on_syn": epochs, "side": side, "bin_low": lo, "bin_high": hi, "count": int(n)}
                     for lo, hi, n in zip(edges[:-1], edges[1:], counts)]
    hist = pd.DataFrame(rows, columns=HISTOGRAM_COLUMNS)
    atomic_write(hist_path, lambda tmp: hist.to_csv(tmp, index=False))
    atomic_write(record_path, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1) + "\n"))
    return hist


# Figure 4.5's reading: a side "vanishes" when its median |gradient| is at least an order of magnitude
# below the real side's of the same network; an entry is "near zero" below 1/100 of that real median.
VANISHED = 0.1
NEAR_ZERO = 0.01
FINDING = "without DSA the synthetic gradients vanish, with DSA they do not"


def _share_below(g: pd.DataFrame, value: float) -> float:
    """Share of a histogram's entries below ``value``, log-linear within the bin that holds it."""
    lo, hi, n = g.bin_low.to_numpy(), g.bin_high.to_numpy(), g["count"].to_numpy().astype(float)
    inside = np.clip(np.log(value / lo) / np.log(hi / lo), 0.0, 1.0)
    return float((n * inside).sum() / n.sum())


def _quantile(g: pd.DataFrame, q: float) -> float:
    """The ``q`` quantile of a histogram's entries, log-linear within the bin where it falls."""
    lo, hi, n = g.bin_low.to_numpy(), g.bin_high.to_numpy(), g["count"].to_numpy().astype(float)
    cum = np.cumsum(n) / n.sum()
    i = int(np.searchsorted(cum, q))
    before = cum[i - 1] if i else 0.0
    inside = (q - before) / (cum[i] - before)
    return float(lo[i] * (hi[i] / lo[i]) ** inside)


def figure_4_5_summary(hist: pd.DataFrame) -> pd.DataFrame:
    """Figure 4.5 in numbers, read off its histogram: one row per method and side.

    Columns: ``method``, ``outer_iteration`` (k), ``epochs_on_syn``, ``side``, ``median`` (|gradient|
    of a weight), ``ratio`` (the median over the same method's real median) and ``near_zero`` (share
    of entries below ``NEAR_ZERO`` x that real median). Empty for an empty histogram.
    """
    columns = ["method", "outer_iteration", "epochs_on_syn", "side", "median", "ratio", "near_zero"]
    rows = []
    for (method, side), g in hist.groupby(["method", "side"], sort=False):
        real = hist[(hist.method == method) & (hist.side == "real")]
        real_median = _quantile(real, 0.5)
        rows.append({"method": method, "outer_iteration": int(g.outer_iteration.iloc[0]),
                     "epochs_on_syn": int(g.epochs_on_syn.iloc[0]), "side": side, "median": _quantile(g, 0.5),
                     "ratio": _quantile(g, 0.5) / real_median, "near_zero": _share_below(g, NEAR_ZERO * real_median)})
    return pd.DataFrame(rows, columns=columns)


def figure_4_5_finding(summary: pd.DataFrame) -> str:
    """Whether the thesis's reading of Figure 4.5 holds at this budget, as one sentence from ``summary``.

    It holds when DC's synthetic median is at most ``VANISHED`` x its real median and DSA's is not;
    when it does not, the sentence says which part fails and whether DC's ratio is still below DSA's.
    A network measured before any epoch on S (T = 1, at 1 ipc) cannot show it, and the sentence says so.
    """
    if summary.empty:
        return "Figure 4.5 was not measured (the data of its sets is not available)."
    syn = summary[summary.side == "synthetic"].set_index("method")
    if (syn.epochs_on_syn == 0).any():
        return ("The networks were measured before any epoch on S (T = 1 match per outer iteration at 1 ipc): "
                f"real and synthetic gradients come from a fresh network, so the thesis's finding ({FINDING}) "
                "cannot be tested at this budget.")
    dc, dsa = syn.loc["dc"], syn.loc["dsa"]
    dc_vanishes, dsa_vanishes = dc.ratio <= VANISHED, dsa.ratio <= VANISHED
    holds = dc_vanishes and not dsa_vanishes
    measured = (f"At outer iteration k = {dc.outer_iteration} (DC) and k = {dsa.outer_iteration} (DSA), after "
                f"{dc.epochs_on_syn} epochs on S, the median synthetic |gradient| is {dc.ratio:.3g} x the real one "
                f"for DC ({dc.near_zero:.0%} of its entries near zero) and {dsa.ratio:.3g} x for DSA "
                f"({dsa.near_zero:.0%}).")
    if holds:
        verdict = f"The thesis's finding ({FINDING}) holds at this budget."
    else:
        why = []
        if not dc_vanishes:
            why.append("DC's synthetic gradients do not vanish")
        if dsa_vanishes:
            why.append("DSA's vanish too")
        verdict = f"The thesis's finding ({FINDING}) does not hold at this budget: {' and '.join(why)}"
        if dc.ratio < dsa.ratio:
            verdict += (", although relative to the real ones they are smaller for DC than for DSA, the "
                        "direction the thesis describes")
        verdict += "."
    return f"{measured} {verdict}"


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
        syn = condense_gm(real, ipc, dsa, seed=seed, progress=runner.profile.progress, watch=Watch(on_iteration=keep_frame),
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
