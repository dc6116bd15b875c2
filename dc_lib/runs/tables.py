"""Shared plumbing of the chapter modules: run a table's cells, list, label and write the table.

A chapter module says which cells a profile runs for a table (its plan) and runs them; writing
the table (:func:`write_table`) then lists every other cell of the thesis's grid with why it has
no row (:mod:`dc_lib.runs.listing`), states the profile and only the budgets its rows used, and
checks the thesis's ordering claims on its rows (:mod:`dc_lib.runs.claims`).

Also what two chapters run alike (the chapter modules never import each other): the
cross-architecture table, Table 3.2 for DC and Table 4.3 for DSA.
"""

from __future__ import annotations

import itertools

import pandas as pd

from ..core.config import ARCHS, PROFILES, Profile, dm_iterations, gm_iterations
from ..core.data import LOSSY_FILES
from ..core.files import atomic_write
from . import listing
from .claims import claims_of, claims_text
from .experiments import CORESETS, Runner
from .results import Cell, markdown_table, summarise, write_summary

GM_METHODS = {"dc", "dsa", "dc_aug"}
DM_METHODS = {"dm", "mmd"}


def run_cells(runner: Runner, cells: list[Cell]) -> list[tuple[Cell, str]]:
    """Run ``cells``; return those not done, with the runner's reason (e.g. ``data not available``)."""
    not_run = []
    for cell in cells:
        status = runner.run(cell)
        if status != "done":
            not_run.append((cell, status))
    return not_run


def cross_architecture_cells(profile: Profile, table: str, method: str, chapter: int) -> list[Cell]:
    """The (C, T) pairs of a cross-architecture table a profile runs: its chapter plan's ``cross_arch``."""
    plan = profile.chapter3 if chapter == 3 else profile.chapter4
    condense_archs, eval_archs = plan.cross_arch
    return [Cell(chapter, table, "mnist", 1, method, c_arch, t_arch, "")
            for c_arch, t_arch in itertools.product(ARCHS, ARCHS) if c_arch in condense_archs and t_arch in eval_archs]


def cross_architecture(runner: Runner, table: str, method: str, chapter: int):
    """Sets condensed on one architecture (C), evaluated on others (T): MNIST, 1 ipc.

    Table 3.2 (``method="dc"``, chapter 3) and Table 4.3 (``"dsa"``, chapter 4): the pairs of the
    chapter plan's ``cross_arch``; the rest of the thesis's 6 x 6 grid is listed when the table is
    written. Returns the summary and the cells run but not done, with their reason.
    """
    not_run = run_cells(runner, cross_architecture_cells(runner.profile, table, method, chapter))
    return summarise(runner.rows(table)), not_run


def _methods(methods) -> set[str]:
    """Methods as budgets know them: Table A.T8's ``ors_top<k>`` rows are random draws."""
    return {"random" if m.startswith("ors_top") else m for m in methods}


def budget_line(profile: Profile, chapter: int | None, methods=None, archs=()) -> str:
    """The budget fields the cells of ``methods`` (default: every method of the chapter) used, with the
    evaluation epochs of those of the evaluation networks ``archs`` that the chapter's plan trains longer.

    Chapter 3/4 cells use the gradient-matching K and real batch, the coreset network and the
    chapter's evaluation epochs; chapter 5's the DM K and real batch; every cell the number of sets,
    networks and test images. A field no cell used (DM's K in Table 3.1) is left out.
    """
    p = profile
    if methods is not None and not len(methods):
        return ("no cell of this table was run for it in this profile (a cell shown from another table has "
                "that table's budget)")
    raw = set(methods or ())
    methods = _methods(methods) if methods is not None else (
        {"dm", "random", "whole"} if chapter == 5 else {"dc", "dsa", "random", *CORESETS})
    plan = {3: p.chapter3, 4: p.chapter4}.get(chapter)
    test = "the whole test split" if p.test_limit is None else f"the first {p.test_limit} test images"
    parts = [f"{p.num_sets} set{'s' if p.num_sets != 1 else ''} x {p.num_nets} networks per cell, tested on {test}"]
    if p.baseline_draws is not None and methods & {"random", *CORESETS}:
        nets = p.draw_nets or p.num_nets
        parts.append(f"random and coreset cells: {p.baseline_draws} draws x {nets} network{'s' if nets != 1 else ''}")
    if plan is not None:
        longer = ", ".join(f"{arch} {epochs}" for arch, epochs in plan.arch_epochs if arch in archs)
        parts.append(f"evaluation epochs {plan.eval_epochs or f'{p.eval_epochs} with augmentation, {p.eval_epochs_plain} without'}"
                     + (f" ({longer}: the larger networks need more on a tiny set)" if longer else ""))
    else:
        parts.append(f"evaluation epochs {p.eval_epochs}")
    if methods & GM_METHODS and plan is not None:
        dsa_multi = gm_iterations(p, 10, "dsa", chapter)
        parts.append(f"DC/DSA K = {p.gm_iterations} at 1 ipc and {gm_iterations(p, 10)} above"
                     + (f" ({dsa_multi} for this chapter's DSA sets)" if dsa_multi != gm_iterations(p, 10) else "")
                     + f" with {p.gm_batch_real} real images per class")
    elif methods & GM_METHODS and chapter == 5:  # Table 5.3's DSA set, made as chapter 4 makes its own
        parts.append(f"DSA K = {gm_iterations(p, 1, 'dsa', 5)} at 1 ipc and {gm_iterations(p, 10, 'dsa', 5)} above "
                     f"with {p.gm_batch_real} real images per class (chapter 4's)")
    if methods & DM_METHODS:
        small, large = dm_iterations(p, "mnist"), dm_iterations(p, "tinyimagenet")
        parts.append(f"DM K = {small}" + (f" ({large} for TinyImageNet)" if large != small else "")
                     + f" with {p.batch_real} real images per class")
    if methods & set(CORESETS):
        pool = "all" if p.coreset_pool is None else p.coreset_pool
        parts.append(f"coreset features from a ConvNet trained {p.feature_epochs} epochs on {pool} images per class")
    if "whole" in methods:
        parts.append(f"whole-set networks trained {p.whole_epochs} epochs")
    if any(m.startswith("ors_top") for m in raw) and plan is not None:
        parts.append(f"{plan.ors_draws} random coresets drawn for optimal random selection, one network each")
    return "; ".join(parts)


def _thesis_protocol(chapter: int | None, methods=None) -> str:
    """The thesis's protocol for the same fields, from the ``paper`` profile (nothing typed twice)."""
    t = PROFILES["paper"]
    methods = _methods(methods) if methods else set()
    parts = [f"{t.num_sets} sets x {t.num_nets} networks"]
    if methods & DM_METHODS or (not methods and chapter == 5):
        parts.append(f"DM K={t.dm_iterations} with {t.batch_real} real images per class")
    if methods & GM_METHODS or (not methods and chapter in (3, 4)):
        parts.append(f"DC/DSA K={t.gm_iterations} with {t.gm_batch_real} real images per class")
    parts.append(f"{t.eval_epochs} evaluation epochs with augmentation, {t.eval_epochs_plain} without")
    return "; ".join(parts)


def profile_line(runner: Runner, evaluation: str, chapter: int | None = None, methods=None, archs=()) -> str:
    """The sentence every table carries: which profile and budget produced it, and how sets were evaluated.

    Only the budget fields of ``methods`` (the methods of the table's rows; None = every method of
    ``chapter``) are named, and the epochs of those evaluation networks ``archs`` that train longer: see
    :func:`budget_line`.
    """
    p = runner.profile
    reduced = (f"**Reduced run** (not the thesis protocol: {_thesis_protocol(chapter, methods)})"
               if p.reduced else "Thesis protocol")
    return (f"Profile `{p.name}` ({p.description}); budget: {budget_line(p, chapter, methods, archs)} "
            f"(per-row budgets in the rows CSV). {reduced}. {evaluation} "
            f"Std is the population std over all networks of all sets.")


def file_id(table: str) -> str:
    """A table id as its files name it: ``text:5.3.2/imagenet1k`` -> ``text-5.3.2-imagenet1k``."""
    return table.replace(":", "-").replace("/", "-")


def data_caveats(summary: pd.DataFrame) -> str:
    """`` (data: ...)`` for the title of a table with rows on a stand-in copy of a dataset (the lossy
    CIFAR-10), so that its header says so, not only the note of each row; "" otherwise."""
    notes = set(summary.note) if len(summary) and "note" in summary else set()
    caveats = sorted({f"{name}: {text}" for name, text in LOSSY_FILES.items()
                      if any(text in str(note) for note in notes)})
    return f" (data: {'; '.join(caveats)})" if caveats else ""


def write_table(runner: Runner, table: str, summary: pd.DataFrame, not_run, title: str, evaluation: str, *,
                chapter: int, planned: listing.Planned | None = None, never: str = "", reproduce: str | None = None,
                extra: str = "") -> str:
    """Write a table's tidy rows (CSV), its summary (CSV + markdown); return the markdown table.

    The markdown lists every cell of the thesis's grid (run, or why not: ``planned(profile)`` is the
    table's plan, ``never`` why no profile runs a cell, ``reproduce`` the ``./reproduce.sh`` name that
    runs it; :func:`dc_lib.runs.listing.complete`) and ends with the thesis's claims on the table,
    checked on its rows, then ``extra`` (markdown, e.g. Table A.T11's costs).
    """
    listed = {cell for cell, _ in not_run}
    not_run = [*not_run, *((c, "data not available") for c in runner.unavailable.get(table, ()) if c not in listed)]
    not_run = listing.complete(runner, table, chapter, summary, not_run, planned, never, reproduce)
    rows = runner.rows(table)
    atomic_write(runner.out_dir / f"table_{file_id(table)}_rows.csv", lambda tmp: rows.to_csv(tmp, index=False))
    summaries = {table: summary}
    for claim in claims_of(table):
        summaries.update({t: summarise(runner.rows(t)) for t in claim.tables if t not in summaries})
    claims = claims_text(table, summaries)
    after = "\n".join(filter(None, (claims, extra)))
    methods = set(summary.method) if len(summary) else set()
    archs = set(summary.eval_arch) if len(summary) else set()
    title += data_caveats(summary)
    write_summary(summary, runner.out_dir, f"table_{file_id(table)}", title=title,
                  profile_line=profile_line(runner, evaluation, chapter, methods, archs), not_run=not_run,
                  after=after)
    return markdown_table(summary, not_run) + (f"\n{after}" if after else "")
