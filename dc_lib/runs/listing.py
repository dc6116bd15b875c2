"""Every cell of a thesis table, listed: run, or why not.

A table lists each cell of its thesis grid, the grid coming from the thesis's own files so that
nothing is typed by hand: the rows of ``thesis_results.csv`` with the table's id, or for a figure
(whose numbers the thesis does not print) the datasets, ipcs and methods of its row in
``experiments.csv``. A cell this run did not produce gets the reason that is true for the
profile that printed the table, the first that applies of:

1. ``not implemented in this companion (...)``: LD and the cGAN, which the thesis quotes or
   trains outside its own methods; DD outside the tables that compare it with DC in DD's setting
   (3.3, A.T10, A.T11), where the thesis quotes DD's published number: ``not run in any profile``;
2. ``in Table X (chapter N's protocol): m ± s ...``: the same experiment (same data, method,
   networks, setting and profile) was recorded under another table, of this run or of a chapter
   the runner reuses (``Runner(reuse_from=...)``); its number is shown, with its protocol;
3. ``data not available``: the dataset is not under the data root (checked without downloading);
4. ``not run in this run (...)``: the profile plans it, but the notebook's parameters narrowed
   the plan;
5. ``not run in this profile (cost; `./reproduce.sh chapterN --profile P` runs it)``, naming a
   profile whose plan holds the cell;
6. ``not run for Table T: the thesis repeats this cell from Table X (chapter N's protocol)``: the
   number the thesis prints in this table is another table's measurement, and no profile runs it
   for this table;
7. ``not run in any profile of this companion`` (with the table's why, if it has one).
"""

from __future__ import annotations

from typing import Callable, Iterable

import pandas as pd

from ..core.config import PROFILES, Profile
from ..core.data import dataset_available
from .results import THESIS_CSV, Cell, _pm, chapter_of, load_thesis, table_name, thesis_origin, thesis_reference
from .settings import canonical_setting, parse_setting

EXPERIMENTS_CSV = THESIS_CSV.with_name("experiments.csv")

# Methods of the thesis's tables that this companion does not implement, and what they are.
NOT_IMPLEMENTED = {
    "ld": "LD, learned distillation (Bohdal et al. 2020); the thesis quotes its published number",
    "cgan": "the conditional GAN baseline of Table A.T8",
}
# DD runs (notebook 09) only in the tables that compare it with DC in DD's own setting; in the others the
# thesis quotes DD's published number, measured with DD's networks and protocol.
DD_TABLES = ("3.3", "A.T10", "A.T11")
DD_QUOTED = ("not run in any profile of this companion (the thesis quotes DD's published number, Wang et al. 2018; "
             "DD runs in Tables 3.3, A.T10 and A.T11: `./reproduce.sh distillation`)")
# A figure whose ipc grid the thesis does not state: the grid the authors' code supports
# (hyperparameters.md 1.3: "The ipc grid is not stated (the code supports 1, 10, 20, 30, 40, 50)").
UNSTATED_IPCS = {"F3.3": (1, 10, 20, 30, 40, 50)}
# Profiles named as the ones that run a cell: those whose numbers mean something (not smoke).
RESULT_PROFILES = ("cpu", "paper")

Planned = Callable[[Profile], list[Cell]]


def thesis_cells(table: str, thesis: pd.DataFrame | None = None) -> list[Cell]:
    """The thesis's grid of ``table``: one cell per test-accuracy number it prints (a figure: per
    point of its experiments.csv grid; ``text:<section>/<dataset>``: that dataset's numbers in the
    prose of the section), in the thesis's spelling; [] for an id the thesis lacks."""
    if table.startswith("F"):
        return _figure_cells(table)
    thesis = load_thesis() if thesis is None else thesis
    rows = thesis[(thesis.table == table) & (thesis.metric == "test_acc")]
    if "/" in table:  # experiments.csv's id of one dataset's prose numbers: text:5.3.2/imagenet1k
        source, dataset = table.split("/", 1)
        rows = thesis[(thesis.table == source) & (thesis.dataset == dataset) & (thesis.metric == "test_acc")]
    chapter = chapter_of(table) or 0
    return [Cell(chapter, table, r.dataset, int(r.ipc), r.method, r.condense_arch, r.eval_arch, r.setting)
            for r in rows.itertuples(index=False)]


def _figure_cells(figure: str) -> list[Cell]:
    spec = pd.read_csv(EXPERIMENTS_CSV, dtype=str, keep_default_na=False)
    rows = spec[spec.id == figure]
    if not len(rows):
        return []
    row = rows.iloc[0]
    parts = row.ipcs.split(";")
    ipcs = tuple(int(i) for i in parts) if all(p.isdigit() for p in parts) else UNSTATED_IPCS[figure]
    arch = row.archs.split(";")[0]
    return [Cell(chapter_of(figure) or 0, figure, d, i, m, "none" if m in ("random", "whole") else arch, arch, "")
            for d in row.datasets.split(";") for i in ipcs for m in row.methods.split(";")]


def _setting_key(setting: str) -> str:
    """A setting as a table row names it: the ``ors=N`` label counts draws of the profile, not the cell."""
    return ";".join(p for p in setting.split(";") if p and not p.startswith("ors="))


def same_cell(a: Cell, b: Cell) -> bool:
    """Whether ``a`` and ``b`` are the same row of a table (the table id and chapter aside)."""
    return ((a.dataset, a.ipc, a.method, a.condense_arch, a.eval_arch, _setting_key(a.setting))
            == (b.dataset, b.ipc, b.method, b.condense_arch, b.eval_arch, _setting_key(b.setting)))


def contains(cells: Iterable[Cell], cell: Cell) -> bool:
    return any(same_cell(c, cell) for c in cells)


def profiles_running(cell: Cell, planned: Planned | None) -> list[str]:
    """The result profiles (:data:`RESULT_PROFILES`) whose plan for the cell's table holds ``cell``."""
    if planned is None:
        return []
    return [name for name in RESULT_PROFILES if contains(planned(PROFILES[name]), cell)]


def complete(runner, table: str, chapter: int, summary: pd.DataFrame, not_run: list[tuple[Cell, str]],
             planned: Planned | None = None, never: str = "", reproduce: str | None = None) -> list[tuple[Cell, str]]:
    """``not_run`` plus every cell of ``table``'s thesis grid that neither ``summary`` nor ``not_run``
    holds, each with its reason (module docstring). ``planned(profile)`` is the table's plan: the
    cells a profile's run of the table produces; ``never`` says why no profile runs a cell."""
    listed = [*_summary_cells(summary), *(c for c, _ in not_run)]
    thesis = load_thesis()
    recorded = _recorded(runner)
    out = list(not_run)
    for cell in thesis_cells(table, thesis):
        if not contains(listed, cell):
            out.append((cell, reason(runner, cell, chapter, planned, never, thesis=thesis, recorded=recorded,
                                     reproduce=reproduce)))
    return out


def reason(runner, cell: Cell, chapter: int, planned: Planned | None = None, never: str = "", *,
           thesis: pd.DataFrame | None = None, recorded: list[pd.DataFrame] | None = None,
           reproduce: str | None = None) -> str:
    """Why ``runner``'s run of ``cell``'s table has no row for ``cell`` (module docstring)."""
    thesis = load_thesis() if thesis is None else thesis
    if cell.method in NOT_IMPLEMENTED:
        return f"not implemented in this companion ({NOT_IMPLEMENTED[cell.method]})"
    if cell.method == "dd" and cell.table not in DD_TABLES:
        return DD_QUOTED
    # The table whose measurement the thesis prints for this cell of this table ("" if it prints none
    # here: a figure's points, or a cell whose number only another table has).
    origin = thesis_origin(thesis, cell) if thesis_reference(thesis, cell)[2] == cell.table else ""
    found = elsewhere(runner, cell, origin, _recorded(runner) if recorded is None else recorded)
    if found:
        return found
    if not _available(cell.dataset, runner.data_root):
        return "data not available"
    if planned is not None and contains(planned(runner.profile), cell):
        return "not run in this run (the notebook's parameters narrowed the profile's plan)"
    others = [p for p in profiles_running(cell, planned) if p != runner.profile.name]
    if others:
        return (f"not run in this profile (cost; `./reproduce.sh {reproduce or f'chapter{chapter}'} --profile "
                f"{others[0]}` runs it)")
    if origin and origin != cell.table:
        return (f"not run for {table_name(cell.table)}: the thesis repeats this cell from {table_name(origin)} "
                f"(chapter {chapter_of(origin)}'s protocol)")
    return "not run in any profile of this companion" + (f" ({never})" if never else "")


def _available(dataset: str, root) -> bool:
    try:
        return dataset_available(dataset, root)
    except ValueError:  # a name this library does not know (a thesis stream such as svhn>mnist>usps)
        return False


def _summary_cells(summary: pd.DataFrame) -> list[Cell]:
    return [Cell(chapter_of(r.table) or 0, r.table, r.dataset, int(r.ipc), r.method, r.condense_arch,
                 r.eval_arch, r.setting) for r in summary.itertuples(index=False)] if len(summary) else []


def _recorded(runner) -> list[pd.DataFrame]:
    """The rows of this run's results and of every results file it reuses (this run's first)."""
    return [df for df in (store.load() for store in (runner.store, *runner.reuse)) if len(df)]


def elsewhere(runner, cell: Cell, origin: str, recorded: list[pd.DataFrame]) -> str:
    """``in Table X (chapter N's protocol): m ± s (n networks, k sets)`` if the experiment of ``cell``
    was recorded under another table by this profile (the table the thesis took the number from
    first, else the first found), else ""."""
    want = canonical_setting(cell.setting)
    found = []
    for df in recorded:
        same = df[(df.dataset == cell.dataset) & (df.ipc == cell.ipc) & (df.method == cell.method)
                  & (df.condense_arch == cell.condense_arch) & (df.eval_arch == cell.eval_arch)
                  & (df.profile == runner.profile.name) & (df.table != cell.table) & (df.metric == "test_acc")]
        # The same experiment: the same canonical setting and no forced evaluation (``eval_aug`` rows
        # are the same sets evaluated another way, beside Table 4.1).
        same = same[same.setting.map(lambda s: canonical_setting(s) == want and _eval_aug(s) is None).astype(bool)]
        found += [g for _, g in same.groupby("table", sort=False)]
    if not found:
        return ""
    rows = next((g for g in found if g.table.iloc[0] == origin), found[0])
    table = rows.table.iloc[0]
    values = rows.value.astype(float)
    sets = rows.set_idx.nunique()
    return (f"in {table_name(table)} (chapter {chapter_of(table)}'s protocol): {_pm(values.mean(), values.std(ddof=0))} "
            f"({len(values)} networks of {sets} set{'s' if sets != 1 else ''})")


def _eval_aug(setting: str) -> str | None:
    try:
        return parse_setting(setting).eval_aug
    except ValueError:
        return None
