"""Chapter 5's experiments as cells: which to run in a profile, and their summaries.

Each ``table_*`` function runs the cells its profile plans (``planned_*``; rows already
recorded are skipped) and returns the summary beside the thesis numbers plus the cells it ran
but could not finish, with why; writing the table lists the thesis's other cells.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pandas as pd

from ..core.config import Profile
from ..core.files import atomic_write
from ..methods.distribution_matching import condense_dm
from ..methods.gradient_matching import condense_gm
from ..methods.network_pool import DISTRIBUTIONS
from ..runs import tables, tsne
from ..runs.experiments import Runner
from ..runs.results import Cell, summarise
from ..runs.time_curve import current_snapshot_rows, device_name, evaluate_snapshots, time_curve_rows, time_to_reach


def _arch(dataset: str, bn: bool = False) -> str:
    arch = "convnet_d4" if dataset in ("tinyimagenet", "imagenet1k") else "convnet"
    return arch + ("_bn" if bn else "")


def _cell(table: str, dataset: str, ipc: int, method: str, bn: bool = False, setting: str = "") -> Cell:
    arch = _arch(dataset, bn)
    condense = "none" if method in ("random", "whole") else arch
    return Cell(5, table, dataset, ipc, method, condense, arch, setting)


def planned_5_1(profile: Profile, datasets=None, ipcs=None) -> list[Cell]:
    """Table 5.1's cells a profile runs: random selection and DM (and pixel MMD if its plan says
    ``mmd``) on its grid, and the whole-set bound of its datasets if it says ``whole``.

    The thesis's other methods of Table 5.1 (herding, forgetting, DC, DSA) are its chapters 3 and
    4's numbers, evaluated their way; the table lists them from those chapters' rows when the
    runner reuses them (``Runner(reuse_from=...)``), never as chapter 5 rows.
    """
    plan = profile.chapter5
    datasets, ipcs = tuple(datasets or plan.table_5_1[0]), tuple(ipcs or plan.table_5_1[1])
    methods = ("random", "dm") + (("mmd",) if plan.mmd else ())
    cells = [_cell("5.1", d, i, m) for d, i in itertools.product(datasets, ipcs) for m in methods]
    return cells + ([_cell("5.1", d, 0, "whole") for d in datasets] if plan.whole else [])


def table_5_1(runner: Runner, datasets=None, ipcs=None) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DM and random selection (and the whole-set bound) for Table 5.1: the cells of :func:`planned_5_1`
    (``datasets``/``ipcs`` default to the profile's plan)."""
    not_run = tables.run_cells(runner, planned_5_1(runner.profile, datasets, ipcs))
    return summarise(runner.rows("5.1")), not_run


def _norm_cell(dataset: str, ipc: int, method: str, bn: bool) -> Cell:
    return _cell("5.2", dataset, ipc, method, bn, f"norm={'batchnorm' if bn else 'instancenorm'}")


def planned_5_2(profile: Profile, pairs=None) -> list[Cell]:
    """Table 5.2's cells a profile runs: DM with instance and with batch norm at its (dataset, ipc) pairs."""
    pairs = tuple(pairs or profile.chapter5.table_5_2)
    return [_norm_cell(d, i, "dm", bn) for d, i in pairs for bn in (False, True)]


def table_5_2(runner: Runner, pairs=None) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DM with instance norm vs batch norm (BN statistics from the synthetic images of all classes).

    The thesis's DSA rows are chapter 4's DSA (instance norm) and a batch-norm DSA of the authors'
    code; neither is a chapter 5 run (the table lists them with where they are).
    """
    not_run = tables.run_cells(runner, planned_5_2(runner.profile, pairs))
    return summarise(runner.rows("5.2")), not_run


def planned_f5_5(profile: Profile, dataset=None, ipcs=None) -> list[Cell]:
    """Figure 5.5's cells a profile runs: random and DM at its ``figure_5_5`` sizes."""
    plan_dataset, plan_ipcs = profile.chapter5.figure_5_5
    dataset, ipcs = dataset or plan_dataset, tuple(ipcs or plan_ipcs)
    return [_cell("F5.5", dataset, ipc, method) for ipc, method in itertools.product(ipcs, ("random", "dm"))]


def figure_5_5(runner: Runner, dataset=None, ipcs=None) -> pd.DataFrame:
    """DM vs random as the set grows (Figure 5.5); returns the summary per (method, ipc)."""
    tables.run_cells(runner, planned_f5_5(runner.profile, dataset, ipcs))
    return summarise(runner.rows("F5.5"))


def figure_5_2_sets(runner: Runner, pairs=None) -> list:
    """The DM sets drawn in Figure 5.2 (made if missing)."""
    pairs = tuple(pairs or runner.profile.chapter5.figure_5_2)
    return [runner.synset(_cell("5.1", d, i, "dm")) for d, i in pairs if runner.data(d) is not None]



IMAGENET = "text:5.3.2/imagenet1k"  # experiments.csv's id of the ImageNet-1K numbers in section 5.3.2's prose


def planned_imagenet(profile: Profile) -> list[Cell]:
    """Section 5.3.2's ImageNet-1K cells a profile runs: DM and random selection at its ``imagenet`` ipcs
    (thesis 1, 10, 50; 64x64 images, the 4-block ConvNet)."""
    return [_cell(IMAGENET, "imagenet1k", i, m) for i in profile.chapter5.imagenet for m in ("random", "dm")]


def imagenet_1k(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DM and random selection on ImageNet-1K (:func:`planned_imagenet`); without the data (``imagenet64.npz``
    or ``imagenet64/{train,val}/`` under the data root) every cell reads "data not available"."""
    not_run = tables.run_cells(runner, planned_imagenet(runner.profile))
    return summarise(runner.rows(IMAGENET)), not_run


B_T1_METHODS = ("random", "gmmn", "vae", "biggan", "mmd", "dm")


def _b_t1_cell(dataset: str, ipc: int, method: str) -> Cell:
    # The thesis's spelling: the generators condense with a "generator", pixel MMD and random with none.
    condense = {"gmmn": "generator", "vae": "generator", "biggan": "generator", "mmd": "none", "random": "none"}
    return Cell(5, "B.T1", dataset, ipc, method, condense.get(method, _arch(dataset)), _arch(dataset), "")


def planned_b_t1(profile: Profile) -> list[Cell]:
    """Table B.T1's cells a profile runs: random, the three small generators, pixel MMD and DM on its
    ``table_b_t1`` grid (random and DM are Table 5.1's experiments where that table runs them)."""
    datasets, ipcs = profile.chapter5.table_b_t1
    return [_b_t1_cell(d, i, m) for d, i in itertools.product(datasets, ipcs) for m in B_T1_METHODS]


def table_b_t1(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Table B.T1: do samples of a generative model trained on the data make a better small set than
    random real images? (:func:`planned_b_t1`; :mod:`dc_lib.methods.generators` says what each model is.)"""
    not_run = tables.run_cells(runner, planned_b_t1(runner.profile))
    return summarise(runner.rows("B.T1")), not_run


TABLE_5_3_ARCHS = ("convnet_bn", "alexnet_bn", "vgg11_bn", "resnet18_bn")


def planned_5_3(profile: Profile) -> list[Cell]:
    """Table 5.3's cells a profile runs, at its ``table_5_3`` (dataset, ipc): DSA condensed with ConvNet-BN
    and DM condensed with each of the four BN networks (ResNet-18-BN with its stride-1 + average-pooling
    variant, B.1; the plan's ``table_5_3_dm_archs`` may keep fewer), every set evaluated on the four BN networks."""
    if profile.chapter5.table_5_3 is None:
        return []
    dataset, ipc = profile.chapter5.table_5_3
    dm_archs = profile.chapter5.table_5_3_dm_archs or TABLE_5_3_ARCHS
    condensers = [("dsa", "convnet_bn")] + [("dm", arch) for arch in TABLE_5_3_ARCHS if arch in dm_archs]
    return [Cell(5, "5.3", dataset, ipc, method, c_arch, t_arch, "norm=batchnorm")
            for method, c_arch in condensers for t_arch in TABLE_5_3_ARCHS]


def table_5_3(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Table 5.3, cross-architecture generalisation with batch norm everywhere (:func:`planned_5_3`). DSA's
    set is made as chapter 4 makes its own (its K and real batch); its BN statistics come from real images
    and are frozen while matching, DM's from the synthetic images of all classes (section 5.3.2)."""
    not_run = tables.run_cells(runner, planned_5_3(runner.profile))
    return summarise(runner.rows("5.3")), not_run


def planned_5_4(profile: Profile) -> list[Cell]:
    """Table 5.4's cells a profile runs, at its ``table_5_4`` (dataset, ipcs): DM drawing its embedding network
    from each distribution of :data:`~dc_lib.methods.network_pool.DISTRIBUTIONS` (fresh networks, DM's own;
    each validation-accuracy group of the trained ConvNets' states; all of them)."""
    if profile.chapter5.table_5_4 is None:
        return []
    dataset, ipcs = profile.chapter5.table_5_4
    return [_cell("5.4", dataset, ipc, "dm", setting=f"net_distribution={d}") for ipc in ipcs for d in DISTRIBUTIONS]


def table_5_4(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Table 5.4: does DM need randomly initialised networks? (:func:`planned_5_4`). The ``random`` column is
    Table 5.1's DM cell (the same experiment: its rows are shared); the networks of the other columns are
    trained once per dataset (``Runner.network_group``)."""
    not_run = tables.run_cells(runner, planned_5_4(runner.profile))
    return summarise(runner.rows("5.4")), not_run


def figure_b_f2_sets(runner: Runner) -> tuple[list, list[str]]:
    """Figure B.F2: the sets Table 5.4 learned at its smallest ipc, one per distribution that has one (none
    is made here), and each one's title (the distribution it drew its networks from)."""
    plan = runner.profile.chapter5.table_5_4
    cells = [c for c in planned_5_4(runner.profile) if c.ipc == min(plan[1])] if plan else []
    found = [(c, runner.find_synset(c)) for c in cells]
    found = [(c, syn) for c, syn in found if syn is not None]
    return [syn for _, syn in found], [f"networks: {c.setting.partition('=')[2]}" for c, _ in found]


F5_4_METHODS = {"dsa": condense_gm, "dm": condense_dm}
# The thesis's Figure 5.4: DM reaches DSA's 15-hour accuracy in under 20 minutes.
THESIS_TIME_FRACTION = 20 / (15 * 60)


def figure_5_4(runner: Runner) -> pd.DataFrame:
    """Figure 5.4: test accuracy against condensation wall time, DSA vs DM, at the plan's ``figure_5_4``
    (dataset, ipc, snapshots). Each method condenses once, timed on this machine
    (:func:`~dc_lib.runs.time_curve.evaluate_snapshots`);
    each snapshot is evaluated like a finished set (rows ``test_acc`` per network, setting
    ``iteration=k``) and its wall time recorded (metric ``seconds``; the rows' note names the machine).
    A run timed again has every snapshot evaluated again, so one curve is one run. A runner that only
    aggregates draws the rows it finds. Returns the curve of this plan and budget: one line per (method,
    iteration) with ``seconds``, ``mean``, ``std`` and ``n``; empty if the plan has no Figure 5.4 or
    the data is not here."""
    plan = runner.profile.chapter5.figure_5_4
    if plan is None or runner.data(plan[0]) is None:
        return time_curve_rows(pd.DataFrame())
    dataset, ipc, snapshots = plan
    current = []
    for method, condense in F5_4_METHODS.items():
        cell = Cell(5, "F5.4", dataset, ipc, method, _arch(dataset), _arch(dataset), "")
        current += evaluate_snapshots(runner, cell, snapshots, condense)
    return time_curve_rows(current_snapshot_rows(runner, "F5.4", current))


def figure_5_4_verdict(curve: pd.DataFrame, device: str) -> str:
    """What Figure 5.4's curves say about the thesis's claim: DM reaches DSA's final accuracy in a small
    fraction of DSA's time (under 20 min against 15 h on one GTX 1080, under 2.2 %). ``device``: where the
    curves were timed."""
    methods = set(curve.method) if len(curve) else set()
    if methods != set(F5_4_METHODS):
        return ("Figure 5.4: " + ("no curve" if not methods else f"only {', '.join(sorted(methods))}'s curve") +
                " in this profile (not run, its data is not here, or the notebook ran with AGGREGATE_ONLY: its "
                "timed runs are no jobs, so run `./reproduce.sh chapter5_analyses` without --jobs/--slurm/--aggregate).")
    dsa, dm = curve[curve.method == "dsa"], curve[curve.method == "dm"]
    final = dsa.sort_values("iteration").iloc[-1]
    dm_final = dm.sort_values("iteration").iloc[-1]
    reached = time_to_reach(dm, final["mean"])
    head = (f"Timed on {device}: DSA's finished set ({int(final.iteration)} iterations, {final.seconds / 60:.1f} min) "
            f"reaches {final['mean']:.1f} %; DM's finished set ({int(dm_final.iteration)} iterations, "
            f"{dm_final.seconds / 60:.1f} min) reaches {dm_final['mean']:.1f} %.")
    if math.isnan(reached):
        return (head + " DM never reaches DSA's final accuracy at this budget: the thesis's claim (DM reaches it "
                "in under 2.2 % of DSA's time) does not hold here, because DM's whole run ends below it.")
    ratio = reached / final.seconds
    if ratio <= THESIS_TIME_FRACTION:
        verdict = "holds at this budget"
    elif ratio < 1:
        verdict = (f"holds in direction (DM is faster) but not in size at this budget (the thesis: under "
                   f"{100 * THESIS_TIME_FRACTION:.1f} %)")
    else:
        verdict = "does not hold at this budget (DM takes longer)"
    return (head + f" DM first reaches DSA's final accuracy after {reached / 60:.1f} min, {100 * ratio:.1f} % of "
            f"DSA's time (thesis: under 20 min of 15 h, under 2.2 %, CIFAR10 50 ipc on one GTX 1080): the claim "
            f"that DM gets there in a small fraction of DSA's time {verdict}.")


def write_figure_5_4(runner: Runner, curve: pd.DataFrame) -> str:
    """Write Figure 5.4's curve (``figure_5.4_curve.csv``) and its reading (``figure_5.4.md``: the points and
    :func:`figure_5_4_verdict`, naming the machine its rows were timed on); return the markdown."""
    rows = runner.rows("F5.4")
    timed = sorted({part for note in (rows.note if len(rows) else []) for part in str(note).split("; ")
                    if part.startswith("timed on ")})
    device = ", ".join(t[len("timed on "):] for t in timed) or device_name(runner.device)
    lines = [f"# Figure 5.4: test accuracy against condensation wall time ({runner.profile.name} profile)", ""]
    if len(curve):
        budget = "; ".join(sorted(set(curve.budget)))
        lines += [f"Budget: {budget}. Each point: the set after that many iterations of one timed run, "
                  "evaluated like a finished set. " + EVALUATION, "",
                  "| dataset | ipc | method | iteration | wall time (min) | test accuracy (%) | networks |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r.dataset} | {r.ipc} | {r.method} | {r.iteration} | {r.seconds / 60:.2f} | "
                  f"{r['mean']:.1f} ± {r['std']:.1f} | {r.n} |" for _, r in curve.iterrows()]
        lines.append("")
    lines.append(figure_5_4_verdict(curve, device))
    text = "\n".join(lines) + "\n"
    atomic_write(runner.out_dir / "figure_5.4_curve.csv", lambda tmp: curve.to_csv(tmp, index=False))
    atomic_write(runner.out_dir / "figure_5.4.md", lambda tmp: Path(tmp).write_text(text))
    return text


# Figure 5.3's sets, as the chapter that makes each records it: DC (Table 3.1), DSA (Table 4.1), DM (5.1).
TSNE_SETS = (("dc", 3, "3.1"), ("dsa", 4, "4.1"), ("dm", 5, "5.1"))


def figure_5_3(runner: Runner) -> tuple[pd.DataFrame, list[str]]:
    """Figure 5.3: the t-SNE map of the plan's ``figure_5_3`` (dataset, ipc, classes, real images per
    class): the DC, DSA and DM sets that this profile's chapters 3, 4 and 5 made (none is made here; the
    runner must reuse chapters 3 and 4's folders) and real images, embedded by the coreset network
    trained on the whole set. Writes ``figure_5.3_points.csv`` and ``figure_5.3_coverage.csv`` (how far
    each real image is from its class's nearest synthetic image, :func:`~dc_lib.runs.tsne.coverage`);
    returns the points and one line per set saying whether it is drawn, then the thesis's claim checked
    on the coverage."""
    plan = runner.profile.chapter5.figure_5_3
    if plan is None:
        return pd.DataFrame(), ["Figure 5.3 is not drawn in this profile"]
    dataset, ipc, classes, per_class = plan
    real = runner.data(dataset)
    if real is None:
        return pd.DataFrame(), [f"Figure 5.3: {dataset}: data not available"]
    sets, lines = [], []
    for method, chapter, table in TSNE_SETS:
        cell = Cell(chapter, table, dataset, ipc, method, _arch(dataset), _arch(dataset), "")
        syn = runner.find_synset(cell)
        lines.append(f"{method.upper()} {dataset} {ipc} ipc: " + ("drawn" if syn is not None else
                     f"no set (chapter {chapter}'s {runner.profile.name} run of Table {table} makes it)"))
        sets += [syn] if syn is not None else []
    net, _ = runner.coreset_network(real)
    inputs = tsne.tsne_inputs(net, real, sets, classes=classes, real_per_class=per_class, seed=runner.seed)
    points = tsne.embed_2d(inputs, seed=runner.seed)
    covered = tsne.coverage(inputs)
    atomic_write(runner.out_dir / "figure_5.3_points.csv", lambda tmp: points.to_csv(tmp, index=False))
    atomic_write(runner.out_dir / "figure_5.3_coverage.csv", lambda tmp: covered.to_csv(tmp, index=False))
    return points, lines + [figure_5_3_verdict(covered)]


def figure_5_3_verdict(covered: pd.DataFrame) -> str:
    """The thesis's claim on Figure 5.3 (DM's set covers the real distribution, DC's and DSA's do not),
    read from :func:`~dc_lib.runs.tsne.coverage`: DM's mean distance, over the classes, from a real
    image's features to the nearest synthetic image of its class, against DC's and DSA's."""
    means = covered.groupby("source").distance.mean() if len(covered) else pd.Series(dtype=float)
    if "dm" not in means or len(means) < 2:
        return "Coverage: not checked (DM's set and another are needed)."
    others = means.drop("dm")
    said = ", ".join(f"{m.upper()} {d:.2f}" for m, d in means.items())
    holds = means["dm"] < others.min()
    return (f"Coverage (mean distance from a real image's features to the nearest synthetic image of its class; "
            f"lower covers more): {said}. DM's set covers the real features best: "
            f"**{'holds' if holds else 'does not hold'}** on these sets.")


EVALUATION = ("Every set (DM and random alike) is evaluated with DSA augmentation while training the "
              "networks, as in the authors' DM code.")


# Each table's plan: the cells (rows of its summary) a profile's run produces. Writing a table names
# the profiles that run a cell from these, and the committed-artefact tests check the names.
PLANNED = {"5.1": planned_5_1, "5.2": planned_5_2, "5.3": planned_5_3, "5.4": planned_5_4, "F5.5": planned_f5_5, "B.T1": planned_b_t1,
           IMAGENET: planned_imagenet}
# Why no profile runs some cells of a table.
NEVER = {"5.1": "chapter 5 runs random selection, DM and the whole set; the thesis's other methods come from "
                "chapters 3 and 4, which do not run this dataset and ipc",
         "5.2": "DSA with a batch-norm ConvNet is not among chapter 4's runs"}
GENERATORS_NOTE = ("The generators are tiny stand-ins, one small conditional generator trained three ways "
                   "(dc_lib.methods.generators): gmmn = pixel-space MMD with Gaussian kernels; vae = a conditional "
                   "VAE, not DC-VAE; biggan = a small conditional GAN (projection discriminator, hinge loss) with "
                   "DiffAugment, not BigGAN. Pixel MMD: the linear-kernel baseline of Appendix B.2.")


# The tables of notebook 10 (chapter 5's analyses), run by their own ./reproduce.sh name.
ANALYSES = ("5.3", "5.4", "B.T1")


def write_table(runner: Runner, table: str, summary: pd.DataFrame, not_run, title: str) -> str:
    """Write a chapter 5 table (rows CSV, summary CSV, markdown with every thesis cell and the
    thesis's claims on it); return the markdown."""
    evaluation = EVALUATION + (f" {GENERATORS_NOTE}" if table == "B.T1" else "")
    return tables.write_table(runner, table, summary, not_run, title, evaluation, chapter=5,
                              planned=PLANNED.get(table), never=NEVER.get(table, ""),
                              reproduce="chapter5_analyses" if table in ANALYSES else None)


def all_cells(runner: Runner, datasets=None, ipcs=None) -> None:
    """Every table cell the chapter 5 notebook runs, in its order (Tables 5.1, 5.2, Figure 5.5, the
    ImageNet-1K cells of section 5.3.2). With a :class:`~dc_lib.runs.jobs.Planner` this records them
    as jobs instead of running them; the sets Figure 5.2 draws are Table 5.1's. The chapter's analyses
    are :func:`analysis_cells`'s."""
    table_5_1(runner, datasets, ipcs)
    table_5_2(runner)
    figure_5_5(runner)
    imagenet_1k(runner)


def analysis_cells(runner: Runner) -> None:
    """Every table cell the notebook of chapter 5's analyses runs (``./reproduce.sh chapter5_analyses``:
    Tables 5.3, 5.4 and B.T1), in its order. They sit in a notebook of their own so that each of the two
    stays within the cpu profile's ~2 hours; both write into chapter 5's results folder, whose Table 5.1
    rows are B.T1's random and DM rows and Table 5.4's fresh-network column. Figures 5.3 and 5.4 are no
    table cells (a t-SNE of existing sets; a timed run), so they are not jobs."""
    table_5_3(runner)
    table_5_4(runner)
    table_b_t1(runner)
