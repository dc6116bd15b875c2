"""Chapter 3's experiments (DC, gradient matching) as cells.

Table 3.1 (coresets vs DC), Table 3.2 (cross-architecture), Figures 3.2 and 3.3, and the
appendix: Table A.T1 (the datasets, counted in the loaded data), A.T2-T7 (ablations of the
condensing / evaluation ConvNet and of the gradient distance), A.T8 (optimal random selection),
A.T9 (CIFAR-100), Figure A.F2 (sensitivity to K and T) and Figure A.F3 (the 10-ipc DC sets).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from pathlib import Path

import pandas as pd

from ..core.config import ARCHS, Profile, gm_iterations
from ..core.files import atomic_write
from ..core.models import ACTS, NORMS
from ..methods.gradient_matching import condense_gm, loop_schedule
from ..runs import dataset_table, tables
from ..runs.experiments import Runner
from ..runs.results import Cell, summarise
from ..runs.time_curve import current_snapshot_rows, evaluate_snapshots, time_curve_rows

METHODS = ("random", "herding", "kcenter", "forgetting", "dc")
EVALUATION = ("DC and coreset sets train the evaluation networks without augmentation, except on MNIST "
              "(crop/scale/rotate, thesis A.1).")


# Appendix ablations: the varied ConvNet option and its values (A.T2-T6), both in C and in T.
ABLATIONS = {"A.T2": ("act", ACTS), "A.T3": ("pool", ("none", "maxpool", "avgpool")),
             "A.T4": ("norm", NORMS), "A.T5": ("depth", ("1", "2", "3", "4")),
             "A.T6": ("width", ("32", "64", "128", "256"))}
ABLATION_DEFAULT = {"act": "relu", "pool": "avgpool", "norm": "instancenorm", "depth": "3", "width": "128"}
# A.T7's distances in the thesis's spelling: flattened squared Euclidean, flattened cosine, and DC's own
# layer-wise cosine (the ``ours`` rows, the same experiments as Table 3.2's diagonal).
DISTANCE_OURS = "ours_layerwise_cosine"
DISTANCES_T7 = ("euclidean", "cosine", DISTANCE_OURS)
TITLES = {"3.2": "Table 3.2: DC sets across architectures (MNIST, 1 ipc; C = condensing, T = evaluation)",
          "A.T2": "Table A.T2: activation in C and T", "A.T3": "Table A.T3: pooling in C and T",
          "A.T4": "Table A.T4: normalisation in C and T", "A.T5": "Table A.T5: depth of C and T",
          "A.T6": "Table A.T6: width of C and T", "A.T7": "Table A.T7: gradient distance metric",
          "A.T8": "Table A.T8: optimal random selection vs DC", "A.T9": "Table A.T9: CIFAR-100 (ConvNet)"}
ORS_TOP = (10, 100)


def _cell(table: str, dataset: str, ipc: int, method: str, condense: str | None = None,
          evaluate: str = "convnet", setting: str = "") -> Cell:
    if condense is None:
        condense = "none" if method in ("random", "whole") else "convnet"
    return Cell(3, table, dataset, ipc, method, condense, evaluate, setting)


def planned_3_1(profile: Profile, datasets=None, ipcs=None) -> list[Cell]:
    """Table 3.1's cells a profile runs: the coresets and DC on its grid, and the whole-set bound
    of each of its datasets if its plan says ``whole``."""
    plan = profile.chapter3
    datasets, ipcs = tuple(datasets or plan.datasets), tuple(ipcs or plan.ipcs)
    cells = [_cell("3.1", d, i, m) for d, i in itertools.product(datasets, ipcs) for m in METHODS]
    return cells + ([_cell("3.1", d, 0, "whole") for d in datasets] if plan.whole else [])


def table_3_1(runner: Runner, datasets=None, ipcs=None) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Coreset baselines vs DC on the profile's grid (the rest of the thesis grid is listed when written)."""
    not_run = tables.run_cells(runner, planned_3_1(runner.profile, datasets, ipcs))
    return summarise(runner.rows("3.1")), not_run


def figure_3_2_sets(runner: Runner, datasets=None) -> list:
    """The 1-ipc DC sets drawn in Figure 3.2 (made if missing)."""
    datasets = tuple(datasets or runner.profile.chapter3.datasets)
    return [runner.synset(_cell("3.1", d, 1, "dc")) for d in datasets if runner.data(d) is not None]


def planned_f3_3(profile: Profile, dataset=None, ipcs=None) -> list[Cell]:
    """Figure 3.3's cells a profile runs: herding and DC on its first dataset at every ipc of its
    grid and curve."""
    plan = profile.chapter3
    dataset = dataset or plan.datasets[0]
    ipcs = tuple(ipcs or sorted(set(plan.ipcs) | set(plan.curve_ipcs)))
    return [_cell("F3.3", dataset, ipc, method) for ipc, method in itertools.product(ipcs, ("herding", "dc"))]


def figure_3_3(runner: Runner, dataset=None, ipcs=None) -> pd.DataFrame:
    """DC vs herding as the number of images per class grows (Figure 3.3)."""
    tables.run_cells(runner, planned_f3_3(runner.profile, dataset, ipcs))
    return summarise(runner.rows("F3.3"))


def cross_architecture(runner: Runner):
    """Table 3.2: DC sets condensed on one architecture (C), evaluated on others (T): MNIST, 1 ipc."""
    return tables.cross_architecture(runner, table="3.2", method="dc", chapter=3)


def planned_ablation(profile: Profile, table: str) -> list[Cell]:
    """The cells of an appendix ablation (A.T2-T6: C x T grid of one ConvNet option; A.T7: distance
    x architecture, C = T) a profile runs, on MNIST at 1 ipc.

    A profile with ``ablate_condensing=False`` runs only the cells that need no new condensation:
    A.T2-T6's with the default condensing ConvNet (Table 3.1's set), A.T7's with DC's own distance
    on a condensing network of Table 3.2 (its sets), and besides every distance on the plan's
    ``distance_archs``.
    """
    plan = profile.chapter3
    if table not in plan.ablations:
        return []
    if table == "A.T7":
        return [c for c in ablation_cells(table) if c.condense_arch in plan.distance_archs
                or (c.condense_arch in plan.cross_arch[0]
                    and (plan.ablate_condensing or c.setting == f"distance={DISTANCE_OURS}"))]
    key, _ = ABLATIONS[table]
    return [c for c in ablation_cells(table)
            if plan.ablate_condensing or f"{key}_c={ABLATION_DEFAULT[key]};" in c.setting]


def ablation_cells(table: str) -> list[Cell]:
    """Every cell of an appendix ablation, in the thesis's spelling of its settings."""
    if table == "A.T7":
        return [_cell(table, "mnist", 1, "dc", arch, arch, f"distance={d}")
                for d, arch in itertools.product(DISTANCES_T7, ARCHS)]
    if table in ABLATIONS:
        key, values = ABLATIONS[table]
        return [_cell(table, "mnist", 1, "dc", setting=f"{key}_c={c};{key}_t={t}")
                for c, t in itertools.product(values, values)]
    raise ValueError(f"Unknown ablation table {table!r}; valid: {', '.join([*ABLATIONS, 'A.T7'])}")


def ablation(runner: Runner, table: str) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """One appendix ablation on MNIST, 1 ipc (see :func:`planned_ablation` for which cells run)."""
    ablation_cells(table)  # an unknown table fails here, whatever the plan
    not_run = tables.run_cells(runner, planned_ablation(runner.profile, table))
    return summarise(runner.rows(table)), not_run


def planned_a_t8(profile: Profile) -> list[Cell]:
    """Table A.T8's rows a profile produces: DC, and the mean of the best 10 / 100 (fewer than the
    draws) and of all draws (``ors_top1000``) of random coresets, at its ``ors_ipcs``."""
    plan = profile.chapter3
    if not plan.ors_draws:
        return []
    tops = [k for k in ORS_TOP if k < plan.ors_draws] + [1000]
    grid = list(itertools.product(plan.datasets, plan.ors_ipcs))
    return ([_cell("A.T8", d, i, "dc") for d, i in grid]
            + [_cell("A.T8", d, i, f"ors_top{k}", "none", setting=f"ors={plan.ors_draws}") for d, i in grid for k in tops])


def optimal_random_selection(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Table A.T8: the mean of the best 10 / 100 / all of N random coresets, next to DC.

    Each draw trains one network (the thesis does not say how many); draws are ranked by
    their test accuracy, which is what makes this an optimistic ("optimal") baseline.
    ``ors_top1000`` is the mean over all draws (all 1000 in the thesis).
    """
    plan, p = runner.profile.chapter3, runner.profile
    if not plan.ors_draws:
        return pd.DataFrame(), []
    cells = [_cell("A.T8", d, i, m, setting=f"ors={plan.ors_draws}" if m == "random" else "")
             for d, i in itertools.product(plan.datasets, plan.ors_ipcs) for m in ("random", "dc")]
    draws = runner.with_profile(dataclasses.replace(p, num_sets=plan.ors_draws, baseline_draws=None, draw_nets=None, num_nets=1))
    not_run = tables.run_cells(runner, [c for c in cells if c.method == "dc"])
    not_run += tables.run_cells(draws, [c for c in cells if c.method == "random"])
    rows = runner.rows("A.T8")
    return summarise(pd.concat([rows[rows.method != "random"], ors_rows(rows[rows.method == "random"])])), not_run


def ors_rows(draws: pd.DataFrame, tops=ORS_TOP) -> pd.DataFrame:
    """Rows ``ors_top<k>`` holding the k best draws' accuracies per (dataset, ipc); ``ors_top1000`` = all."""
    out = []
    for _, g in draws.groupby(["dataset", "ipc"], sort=False):
        ranked = g.sort_values("value", ascending=False)
        for k in [t for t in tops if t < len(ranked)] + [1000]:
            out.append(ranked.head(k).assign(method=f"ors_top{k}",
                                             note=f"best {min(k, len(ranked))} of {len(ranked)} random draws"))
    return pd.concat(out) if out else draws


def table_a_t1(runner: Runner) -> str:
    """Table A.T1: train/test sizes, classes and image size of the thesis's datasets, counted in the
    arrays the loaders return under the runner's data root (absent ones: "data not available", the
    thesis's numbers beside); written as ``table_A.T1.csv`` / ``.md``; returns the markdown."""
    return dataset_table.write_a_t1(dataset_table.table_a_t1(runner.data_root), runner.out_dir)


def figure_a_f3_sets(runner: Runner, datasets=None) -> list:
    """Figure A.F3's sets: the 10-ipc DC sets that Table 3.1's run made (of ``datasets``, default the
    plan's); none is made here, so a profile whose plan has no 10 ipc draws nothing and says so."""
    datasets = tuple(datasets or runner.profile.chapter3.datasets)
    found = (runner.find_synset(_cell("3.1", d, 10, "dc")) for d in datasets)
    return [s for s in found if s is not None]


def planned_a_t9(profile: Profile) -> list[Cell]:
    """Table A.T9's cells a profile runs: the coresets, DC and the whole-set bound on CIFAR-100 at the
    chapter 3 plan's ``cifar100_ipcs`` (LD, the thesis's quoted AlexNet number, is not implemented)."""
    ipcs = profile.chapter3.cifar100_ipcs
    if not ipcs:
        return []
    cells = [_cell("A.T9", "cifar100", i, m) for i in ipcs for m in METHODS]
    return cells + ([_cell("A.T9", "cifar100", 0, "whole")] if profile.chapter3.whole else [])


def table_a_t9(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Table A.T9: Table 3.1's methods on CIFAR-100 (the cells of :func:`planned_a_t9`)."""
    not_run = tables.run_cells(runner, planned_a_t9(runner.profile))
    return summarise(runner.rows("A.T9")), not_run


# Figure A.F2's claim (appendix A.1): the best K and T are alike across datasets, which is why the thesis
# takes K = 1000 and T = 10 at 10 ipc everywhere.
THESIS_ROUNDS = 10
ALIKE = 1.0  # points: a (T, K) this close to every dataset's best counts as the datasets' common best


def figure_a_f2(runner: Runner) -> pd.DataFrame:
    """Figure A.F2: DC's sensitivity to K and T at the plan's ``sensitivity`` (datasets, ipc, rounds,
    snapshots). For each dataset and each T of ``rounds``, one DC run of the profile's K outer iterations
    with T matching rounds each (ς_θ as the ipc's schedule; setting ``rounds=T``) keeps its set at about
    ``snapshots`` values of K, and each snapshot is evaluated like a finished set
    (:func:`~dc_lib.runs.time_curve.evaluate_snapshots`: since K only counts iterations, the snapshot at k
    is the set a run with K = k ends with). Not a table cell, so not a job: the notebook runs it.
    Returns one line per (dataset, T, K): ``seconds`` (wall time to reach it), ``mean``, ``std``, ``n``;
    empty when the plan has none or no dataset's data is here."""
    plan = runner.profile.chapter3.sensitivity
    if plan is None:
        return time_curve_rows(pd.DataFrame(), keys=("rounds",))
    datasets, ipc, rounds, snapshots = plan
    current = []
    for dataset in datasets:
        if runner.data(dataset) is None:
            continue
        for t in rounds:
            current += evaluate_snapshots(runner, _cell("A.F2", dataset, ipc, "dc", setting=f"rounds={t}"),
                                          snapshots, condense_gm)
    return time_curve_rows(current_snapshot_rows(runner, "A.F2", current), keys=("rounds",))


def figure_a_f2_reading(profile: Profile, curve: pd.DataFrame, missing: list[str] = ()) -> str:
    """What Figure A.F2's curve says about the thesis's claim (the best K and T are alike across datasets,
    justifying K = 1000 and T = 10), or why this profile has no curve; ``missing``: the plan's datasets
    whose data is not here."""
    plan = profile.chapter3.sensitivity
    if plan is None:
        k = gm_iterations(profile, 10, "dc", 3)
        return (f"Figure A.F2: not run in this profile (cost): its K axis at 10 ipc would end at this profile's "
                f"K = {k} of the thesis's 1000, short of where the choice of K is made; "
                f"`./reproduce.sh chapter3 --profile paper` runs it.")
    lines = [f"Figure A.F2: {d}: data not available." for d in missing]
    if not len(curve):
        return "\n".join(lines or ["Figure A.F2: no curve in this profile (its runs are no jobs: with "
                                   "AGGREGATE_ONLY, i.e. --jobs/--slurm/--aggregate, run `./reproduce.sh chapter3` "
                                   "without them to make it)."])
    best = curve.loc[curve.groupby("dataset")["mean"].idxmax()]
    for r in best.itertuples():
        lines.append(f"- {r.dataset}: best T = {r.rounds}, K = {r.iteration} ({r.mean:.1f} %).")
    last_k = curve.iteration.max()
    for dataset, g in curve.groupby("dataset", sort=False):
        at = g[(g.rounds == THESIS_ROUNDS) & (g.iteration == last_k)]
        if len(at):
            gap = g["mean"].max() - at["mean"].iloc[0]
            lines.append(f"- {dataset}: the thesis's T = {THESIS_ROUNDS} at the largest K ({last_k}) is "
                         f"{gap:.1f} points below this dataset's best.")
    if best.dataset.nunique() < 2:
        lines.append("Claim (the best K and T are alike across datasets): not checked, one dataset.")
        return "\n".join(lines)
    # Alike: one (T, K) within ALIKE points of every dataset's best (single grid points are noisy).
    gaps = curve.assign(gap=curve.groupby("dataset")["mean"].transform("max") - curve["mean"])
    worst = gaps.groupby(["rounds", "iteration"]).gap.agg(["max", "size"])
    worst = worst[worst["size"] == best.dataset.nunique()]["max"]
    (t, k), gap = worst.idxmin(), worst.min()
    lines.append("Claim (the best K and T are alike across datasets): " + (
        f"holds at this budget: T = {t}, K = {k} is within {gap:.1f} points of every dataset's best."
        if gap <= ALIKE else
        f"does not hold at this budget: no (T, K) is within {ALIKE:.0f} point of every dataset's best "
        f"(the closest, T = {t}, K = {k}, is {gap:.1f} points from one)."))
    return "\n".join(lines)


def write_figure_a_f2(runner: Runner, curve: pd.DataFrame) -> str:
    """Write Figure A.F2's curve (``figure_A.F2_curve.csv``) and its reading (``figure_A.F2.md``); return
    the markdown."""
    plan = runner.profile.chapter3.sensitivity
    missing = [d for d in (plan[0] if plan else ()) if runner.data(d) is None]
    lines = [f"# Figure A.F2: DC's sensitivity to K and T ({runner.profile.name} profile)", ""]
    if len(curve):
        ipc = plan[1]
        lines += [tables.profile_line(runner, EVALUATION, chapter=3, methods={"dc"}), "",
                  f"DC at {ipc} ipc; ς_θ = {loop_schedule(ipc)[1]} network epochs between rounds whatever T. "
                  "Each point: the set after K outer iterations of one run per T, evaluated like a finished set "
                  "(per-row budgets in the rows of `results.csv`, table A.F2).", "",
                  "| dataset | T | K | wall time (min) | test accuracy (%) | networks |", "|---|---|---|---|---|---|"]
        lines += [f"| {r.dataset} | {r.rounds} | {r.iteration} | {r.seconds / 60:.2f} | {r['mean']:.1f} ± "
                  f"{r['std']:.1f} | {r.n} |" for _, r in curve.iterrows()]
        lines.append("")
    lines.append(figure_a_f2_reading(runner.profile, curve, missing))
    text = "\n".join(lines) + "\n"
    atomic_write(runner.out_dir / "figure_A.F2_curve.csv", lambda tmp: curve.to_csv(tmp, index=False))
    atomic_write(runner.out_dir / "figure_A.F2.md", lambda tmp: Path(tmp).write_text(text))
    return text


# Each table's plan: the cells (rows of its summary) a profile's run produces. Writing a table names
# the profiles that run a cell from these, and the committed-artefact tests check the names.
PLANNED = {"3.1": planned_3_1, "F3.3": planned_f3_3,
           "3.2": lambda profile: tables.cross_architecture_cells(profile, "3.2", "dc", 3),
           **{t: functools.partial(planned_ablation, table=t) for t in (*ABLATIONS, "A.T7")},
           "A.T8": planned_a_t8, "A.T9": planned_a_t9}
# Why no profile runs some cells of a table.
NEVER = {"F3.3": "this figure runs on the plan's first dataset; Table 3.1 holds the others at its ipcs"}


def write_table(runner: Runner, table: str, summary: pd.DataFrame, not_run, title: str) -> str:
    """Write a chapter 3 table (rows CSV, summary CSV, markdown with every thesis cell and the
    thesis's claims on it); return the markdown."""
    return tables.write_table(runner, table, summary, not_run, title, EVALUATION, chapter=3,
                              planned=PLANNED.get(table), never=NEVER.get(table, ""))


def all_cells(runner: Runner, datasets=None, ipcs=None) -> None:
    """Every table cell the chapter 3 notebook runs, in its order (Table 3.1, Figure 3.3, Table 3.2,
    the profile's ablations, A.T8, A.T9). With a :class:`~dc_lib.runs.jobs.Planner` this records them as
    jobs instead of running them; the sets Figure 3.2 draws are Table 3.1's."""
    table_3_1(runner, datasets, ipcs)
    figure_3_3(runner)
    cross_architecture(runner)
    for table in runner.profile.chapter3.ablations:
        ablation(runner, table)
    optimal_random_selection(runner)
    table_a_t9(runner)
