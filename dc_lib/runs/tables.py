"""Shared plumbing of the chapter modules: run a table's cells, label and write the table.

Also what two chapters run alike (the chapter modules never import each other): the
cross-architecture table, Table 3.2 for DC and Table 4.3 for DSA.
"""

from __future__ import annotations

import itertools

import pandas as pd

from ..core.config import ARCHS, gm_iterations
from ..core.files import atomic_write
from .experiments import Runner
from .results import Cell, markdown_table, summarise, write_summary


def paper_command(chapter: int) -> str:
    return f"./reproduce.sh chapter{chapter} --profile paper"


def grid_cells(make_cell, table: str, grid, thesis_grid, methods) -> tuple[list[Cell], list[Cell]]:
    """Cells of ``methods`` over the (dataset, ipc) ``grid``, and the thesis grid's other cells (skipped)."""
    grid = list(grid)
    cells = [make_cell(table, d, i, m) for d, i in grid for m in methods]
    skipped = [make_cell(table, d, i, m) for d, i in thesis_grid if (d, i) not in grid for m in methods]
    return cells, skipped


def run_cells(runner: Runner, cells: list[Cell], skipped: list[Cell], chapter: int) -> list[tuple[Cell, str]]:
    """Run ``cells``; return every cell not run with the reason (``skipped`` = outside the profile)."""
    not_run = [(c, f"not run in this profile (`{paper_command(chapter)}`)") for c in skipped]
    for cell in cells:
        status = runner.run(cell)
        if status != "done":
            not_run.append((cell, status))
    return not_run


def cross_architecture(runner: Runner, table: str, method: str, chapter: int):
    """Sets condensed on one architecture (C), evaluated on others (T): MNIST, 1 ipc.

    Table 3.2 (``method="dc"``, chapter 3) and Table 4.3 (``"dsa"``, chapter 4): the C x T grid
    over :data:`dc_lib.core.config.ARCHS`; the pairs outside the chapter plan's ``cross_arch`` are
    listed as not run. Returns the summary and the cells not run with their reason.
    """
    plan = runner.profile.chapter3 if chapter == 3 else runner.profile.chapter4
    condense_archs, eval_archs = plan.cross_arch
    cells, skipped = [], []
    for c_arch, t_arch in itertools.product(ARCHS, ARCHS):
        cell = Cell(chapter, table, "mnist", 1, method, c_arch, t_arch, "")
        (cells if c_arch in condense_archs and t_arch in eval_archs else skipped).append(cell)
    not_run = run_cells(runner, cells, skipped, chapter=chapter)
    return summarise(runner.rows(table)), not_run


def profile_line(runner: Runner, evaluation: str, chapter: int | None = None) -> str:
    """The sentence every table carries: which profile and budget produced it, and how sets were evaluated.

    ``chapter`` 3 or 4 adds the gradient-matching budget (K and evaluation epochs) of that chapter's runs.
    """
    p = runner.profile
    reduced = ("**Reduced run** (not the thesis protocol: 5 sets x 20 networks; DM K=20000 with 256 real "
               "images per class; DC/DSA K=1000; 1000 epochs with augmentation, 300 without)"
               if p.reduced else "Thesis protocol")
    budget = f"budget `{p.budget()}`"
    plan = {3: p.chapter3, 4: p.chapter4}.get(chapter)
    if plan is not None:
        dsa_multi = gm_iterations(p, 10, "dsa", chapter)
        epochs = plan.eval_epochs or f"{p.eval_epochs} with augmentation, {p.eval_epochs_plain} without"
        budget += (f", DC/DSA K = {p.gm_iterations} at 1 ipc and {gm_iterations(p, 10)} above"
                   + (f" ({dsa_multi} for this chapter's DSA sets)" if dsa_multi != gm_iterations(p, 10) else "")
                   + f" with {p.gm_batch_real} real images per class, evaluation epochs {epochs}")
    return (f"Profile `{p.name}` ({p.description}); {budget} (per-row budgets in the rows CSV). "
            f"{reduced}. {evaluation} Std is the population std over all networks of all sets.")


def write_table(runner: Runner, table: str, summary: pd.DataFrame, not_run, title: str, evaluation: str) -> str:
    """Write a table's tidy rows (CSV), its summary (CSV + markdown); return the markdown table."""
    listed = {cell for cell, _ in not_run}
    not_run = [*not_run, *((c, "data not available") for c in runner.unavailable.get(table, ()) if c not in listed)]
    rows = runner.rows(table)
    atomic_write(runner.out_dir / f"table_{table}_rows.csv", lambda tmp: rows.to_csv(tmp, index=False))
    chapter = int(rows.chapter.iloc[0]) if len(rows) else None
    write_summary(summary, runner.out_dir, f"table_{table}", title=title,
                  profile_line=profile_line(runner, evaluation, chapter), not_run=not_run)
    return markdown_table(summary, not_run)
