"""DC against Dataset Distillation in DD's own setting (chapter 3 and appendix A), as cells.

Table 3.3 (DC at 1 and 10 ipc vs DD at 10 ipc, LeNet on MNIST, AlexCifarNet on CIFAR10, with the
whole-set bound of each network), Table A.T10 (the LeNet-learned MNIST sets of both methods trained
on the six architectures of Table 3.2), Table A.T11 (memory and time, DC vs DD) and Figure A.F4
(their images). Notebook 09 runs them (``./reproduce.sh distillation``), apart from chapter 3's
notebook, to keep that one's cpu run near two hours.
"""

from __future__ import annotations

import itertools
import math
import re

import pandas as pd

from ..core.config import ARCHS, PROFILES, Profile, gm_iterations
from ..methods.gradient_matching import GMConfig
from ..runs import tables
from ..runs.condensation_cost import condensation_cost, protocol_minutes
from ..runs.experiments import CONDENSING_VARIANT, Runner
from ..runs.results import Cell, load_thesis, make_rows, summarise

REPRODUCE = "distillation"
EVALUATION = ("DC sets train the evaluation networks with MNIST's crop/scale/rotate (thesis A.1) and on CIFAR10 with "
              "random crops and flips, as DD did; DD sets train DD's way, by their learned steps and step sizes.")
TITLES = {"3.3": "Table 3.3: DC vs DD in DD's setting (LeNet on MNIST, AlexCifarNet on CIFAR10)",
          "A.T10": "Table A.T10: LeNet-learned MNIST sets (10 ipc) of DD and DC on other networks",
          "A.T11": "Table A.T11: accuracy, memory and time of DD and DC (10 ipc)"}
COST_METRICS = ("seconds_per_iteration", "peak_saved_mb", "cuda_peak_mb", "protocol_iterations", "protocol_minutes")


def _cell(table: str, dataset: str, ipc: int, method: str, arch: str, evaluate: str | None = None) -> Cell:
    condense = "none" if method == "whole" else arch
    return Cell(3, table, dataset, ipc, method, condense, evaluate or arch, "")


def planned_3_3(profile: Profile) -> list[Cell]:
    """Table 3.3's cells a profile runs: for each (dataset, network) of its plan, DC at ``dc_ipcs``,
    DD at ``dd_ipc`` and, if ``whole``, the whole set on that network."""
    plan = profile.distillation
    cells = []
    for dataset, arch in plan.pairs:
        cells += [_cell("3.3", dataset, i, "dc", arch) for i in plan.dc_ipcs]
        cells += [_cell("3.3", dataset, plan.dd_ipc, "dd", arch)]
        cells += [_cell("3.3", dataset, 0, "whole", arch)] if plan.whole else []
    return cells


def planned_a_t10(profile: Profile) -> list[Cell]:
    """Table A.T10's cells a profile runs (when its plan has MNIST with LeNet): the LeNet-learned DD
    set on all six networks, the DC set on the plan's ``a_t10_archs``, both at ``dd_ipc``."""
    plan = profile.distillation
    if ("mnist", "lenet") not in plan.pairs:
        return []
    return ([_cell("A.T10", "mnist", plan.dd_ipc, "dd", "lenet", t) for t in ARCHS]
            + [_cell("A.T10", "mnist", plan.dd_ipc, "dc", "lenet", t) for t in ARCHS if t in plan.a_t10_archs])


def table_3_3(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Table 3.3's cells of :func:`planned_3_3`; returns the summary and the cells not done, with why."""
    not_run = tables.run_cells(runner, planned_3_3(runner.profile))
    return summarise(runner.rows("3.3")), not_run


def table_a_t10(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Table A.T10's cells of :func:`planned_a_t10`."""
    not_run = tables.run_cells(runner, planned_a_t10(runner.profile))
    return summarise(runner.rows("A.T10")), not_run


def _protocol_iterations(runner: Runner, cell: Cell) -> int:
    """K of the thesis's run of a cell's method (the paper profile's): what a full run would take."""
    paper = runner.with_profile(PROFILES["paper"])
    if cell.method == "dd":
        return paper.dd_config(cell, runner.data(cell.dataset)).iterations
    return gm_iterations(PROFILES["paper"], cell.ipc, "dc", 3)


def measure_a_t11(runner: Runner) -> pd.DataFrame:
    """Time and memory of DC and DD at ``dd_ipc`` for each (dataset, network) of the plan: the cost of
    ``cost_iterations`` outer iterations, each as the thesis runs one
    (:func:`~dc_lib.runs.condensation_cost.condensation_cost`),
    recorded as rows of ``results.csv`` (metrics :data:`COST_METRICS`), reused when already there."""
    p, plan = runner.profile, runner.profile.distillation
    for (dataset, arch), (method, iterations) in itertools.product(plan.pairs, zip(("dc", "dd"), plan.cost_iterations)):
        cell = _cell("A.T11", dataset, plan.dd_ipc, method, arch)
        real = runner.cell_data(cell)
        if real is None:
            continue
        budget = f"{p.budget()};timed_iterations={iterations};per_iteration=thesis"
        done = runner.rows("A.T11")
        if len(done) and ((done.dataset == dataset) & (done.method == method) & (done.budget == budget)
                          & (done.metric == "peak_saved_mb")).any():
            continue
        # An outer iteration as the thesis runs it (DC: 256 real images per class, noise init; DD: batches of
        # 1024): a profile's smaller batches would make a reduced iteration cheaper than the thesis's.
        paper = runner.with_profile(PROFILES["paper"])
        config = (paper.dd_config(cell, real) if method == "dd"
                  else GMConfig(arch=CONDENSING_VARIANT.get(arch, arch), init="noise"))
        seed = runner.set_seed(cell, 0)
        cost = condensation_cost(real, plan.dd_ipc, config, iterations=iterations, seed=seed)
        k = _protocol_iterations(runner, cell)
        cost.update(protocol_iterations=float(k), protocol_minutes=protocol_minutes(cost["seconds_per_iteration"], k))
        rows = []
        for metric in COST_METRICS:
            row = make_rows(cell, 0, seed, [cost[metric]], profile=p.name, budget=budget, data_source=real.source,
                            note=f"{iterations} outer iterations timed on {runner.device}")[0]
            rows.append({**row, "metric": metric})
        runner.store.append(rows)
    rows = runner.rows("A.T11")
    return rows[rows.metric.isin(COST_METRICS)] if len(rows) else rows


def cost_markdown(costs: pd.DataFrame) -> str:
    """Table A.T11's cost part: per (dataset, network) each method's measurement, and the DC / DD ratios
    beside the thesis's (memory_mb and time_min of its Table A.T11)."""
    if not len(costs):
        return "No cost was measured in this run (its datasets' data is not available).\n"
    thesis = load_thesis()
    printed = thesis[thesis.table == "A.T11"]
    lines = ["| dataset | network | method | timed iterations | s / iteration | thesis K | full run (min) "
             "| peak backprop memory (MB) | CUDA peak (MB) |", "|---|---|---|---|---|---|---|---|---|"]
    ratios = []
    for (dataset, arch), g in costs.groupby(["dataset", "condense_arch"], sort=False):
        value = {(r.method, r.metric): r.value for r in g.itertuples(index=False)}
        for method in ("dc", "dd"):
            if (method, "peak_saved_mb") not in value:
                continue
            timed = re.search(r"timed_iterations=(\d+)", g[g.method == method].budget.iloc[0]).group(1)
            cuda = value[(method, "cuda_peak_mb")]
            lines.append(f"| {dataset} | {arch} | {method} | {timed} | {value[(method, 'seconds_per_iteration')]:.3f} "
                         f"| {value[(method, 'protocol_iterations')]:.0f} | {value[(method, 'protocol_minutes')]:.1f} "
                         f"| {value[(method, 'peak_saved_mb')]:.2f} | {'-' if math.isnan(cuda) else f'{cuda:.1f}'} |")
        if all((m, "peak_saved_mb") in value for m in ("dc", "dd")):
            th = {(r.method, r.metric): r["mean"] for _, r in printed[printed.dataset == dataset].iterrows()}
            time_ratio = value[("dc", "protocol_minutes")] / value[("dd", "protocol_minutes")]
            memory_ratio = value[("dc", "peak_saved_mb")] / value[("dd", "peak_saved_mb")]
            ratios.append(f"- {dataset} / {arch}: DC / DD time {time_ratio:.2f} (thesis "
                          f"{th[('dc', 'time_min')]:.0f} / {th[('dd', 'time_min')]:.0f} min = "
                          f"{th[('dc', 'time_min')] / th[('dd', 'time_min')]:.2f}), memory {memory_ratio:.2f} (thesis "
                          f"{th[('dc', 'memory_mb')]:.0f} / {th[('dd', 'memory_mb')]:.0f} MB = "
                          f"{th[('dc', 'memory_mb')] / th[('dd', 'memory_mb')]:.2f}; GPU memory there, backprop memory here)")
    return ("\n## Cost, DC vs DD\n\nEach method's outer iterations were timed (each from a fresh network) and scaled to "
            "the thesis's K (DC: 1000; DD: 400 epochs of real batches). Memory: the peak of what autograd held for "
            "backward. The thesis measured both on one GTX 1080-Ti; compare the ratios.\n\n"
            + "\n".join(lines) + "\n\n" + "\n".join(ratios) + "\n")


def table_a_t11(runner: Runner) -> tuple[pd.DataFrame, list[tuple[Cell, str]], str]:
    """Table A.T11: the accuracies are Table 3.3's experiments (listed from its rows), the costs are
    measured here (:func:`measure_a_t11`); returns the (empty) summary, the cells not done and the cost
    markdown."""
    costs = measure_a_t11(runner)
    return summarise(runner.rows("A.T11")), [], cost_markdown(costs)


def figure_a_f4_sets(runner: Runner) -> list:
    """Figure A.F4's sets: the 10-ipc DD and DC sets of each (dataset, network) of the plan that this run
    made (nothing is made here)."""
    plan = runner.profile.distillation
    found = (runner.find_synset(_cell("3.3", d, plan.dd_ipc, m, arch)) for d, arch in plan.pairs for m in ("dd", "dc"))
    return [s for s in found if s is not None]


PLANNED = {"3.3": planned_3_3, "A.T10": planned_a_t10, "A.T11": lambda profile: []}
NEVER = {"A.T11": "its accuracies are Table 3.3's experiments; this table measures their memory and time"}


def write_table(runner: Runner, table: str, summary: pd.DataFrame, not_run, title: str, extra: str = "") -> str:
    """Write one of the DD comparison's tables (rows CSV, summary CSV, markdown with every thesis cell);
    return the markdown."""
    return tables.write_table(runner, table, summary, not_run, title, EVALUATION, chapter=3,
                              planned=PLANNED.get(table), never=NEVER.get(table, ""), reproduce=REPRODUCE,
                              extra=extra)
