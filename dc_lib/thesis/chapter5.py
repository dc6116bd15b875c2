"""Chapter 5's experiments as cells: which to run in a profile, and their summaries.

Each ``table_*`` function builds the thesis table's cells, runs those the
profile covers (skipping rows already recorded), and returns the summary
beside the thesis numbers plus the cells it did not run and why.
"""

from __future__ import annotations

import itertools

import pandas as pd

from ..runs import tables
from ..runs.experiments import Runner
from ..runs.results import Cell, summarise

def _arch(dataset: str, bn: bool = False) -> str:
    arch = "convnet_d4" if dataset == "tinyimagenet" else "convnet"
    return arch + ("_bn" if bn else "")


def _cell(table: str, dataset: str, ipc: int, method: str, bn: bool = False, setting: str = "") -> Cell:
    arch = _arch(dataset, bn)
    condense = "none" if method in ("random", "whole") else arch
    return Cell(5, table, dataset, ipc, method, condense, arch, setting)


def _run_all(runner: Runner, cells: list[Cell], skipped: list[Cell]) -> list[tuple[Cell, str]]:
    return tables.run_cells(runner, cells, skipped, chapter=5)


def table_5_1(runner: Runner, datasets=None, ipcs=None) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DM and random selection (and the whole-set bound) for Table 5.1.

    ``datasets``/``ipcs`` default to the profile's plan; the thesis's other cells
    are listed as not run.
    """
    plan = runner.profile.chapter5
    datasets = tuple(datasets or plan.table_5_1[0])
    ipcs = tuple(ipcs or plan.table_5_1[1])
    thesis_grid = list(itertools.product(("mnist", "cifar10", "cifar100", "tinyimagenet"), (1, 10, 50)))
    grid = list(itertools.product(datasets, ipcs))
    methods = ("random", "dm") + (("mmd",) if plan.mmd else ())
    cells = [_cell("5.1", d, i, m) for d, i in grid for m in methods]
    whole = [_cell("5.1", d, 0, "whole") for d in dict.fromkeys(datasets + ("mnist", "cifar10", "cifar100",
                                                                             "tinyimagenet"))]
    run_whole = [c for c in whole if plan.whole and c.dataset in datasets]
    skipped = [_cell("5.1", d, i, m) for d, i in thesis_grid if (d, i) not in grid for m in ("random", "dm")]
    skipped += [c for c in whole if c not in run_whole]
    not_run = _run_all(runner, cells + run_whole, skipped)
    return summarise(runner.rows("5.1")), not_run


def table_5_2(runner: Runner, pairs=None) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DM with instance norm vs batch norm (BN statistics from the synthetic images of all classes)."""
    pairs = tuple(pairs or runner.profile.chapter5.table_5_2)
    thesis_pairs = (("cifar10", 50), ("cifar100", 50), ("tinyimagenet", 50))
    cells = [_cell("5.2", d, i, "dm", bn, f"norm={'batchnorm' if bn else 'instancenorm'}")
             for d, i in pairs for bn in (False, True)]
    skipped = [_cell("5.2", d, i, "dm", bn, f"norm={'batchnorm' if bn else 'instancenorm'}")
               for d, i in thesis_pairs if (d, i) not in pairs for bn in (False, True)]
    not_run = _run_all(runner, cells, skipped)
    not_run += [(_cell("5.2", d, i, "dsa", bn, f"norm={'batchnorm' if bn else 'instancenorm'}"),
                 "DSA rows come with the chapter 4 notebook") for d, i in thesis_pairs[:2] for bn in (False, True)]
    return summarise(runner.rows("5.2")), not_run


def figure_5_5(runner: Runner, dataset=None, ipcs=None) -> pd.DataFrame:
    """DM vs random as the set grows (Figure 5.5); returns the summary per (method, ipc)."""
    plan_dataset, plan_ipcs = runner.profile.chapter5.figure_5_5
    dataset, ipcs = dataset or plan_dataset, tuple(ipcs or plan_ipcs)
    for ipc, method in itertools.product(ipcs, ("random", "dm")):
        runner.run(_cell("F5.5", dataset, ipc, method))
    return summarise(runner.rows("F5.5"))


def figure_5_2_sets(runner: Runner, pairs=None) -> list:
    """The DM sets drawn in Figure 5.2 (made if missing)."""
    pairs = tuple(pairs or runner.profile.chapter5.figure_5_2)
    return [runner.synset(_cell("5.1", d, i, "dm")) for d, i in pairs if runner.data(d) is not None]



EVALUATION = ("Every set (DM and random alike) is evaluated with DSA augmentation while training the "
              "networks, as in the authors' DM code.")


def write_table(runner: Runner, table: str, summary: pd.DataFrame, not_run, title: str) -> str:
    """Write a chapter 5 table (rows CSV, summary CSV, markdown); return the markdown table."""
    return tables.write_table(runner, table, summary, not_run, title, EVALUATION)


def all_cells(runner: Runner, datasets=None, ipcs=None) -> None:
    """Every table cell the chapter 5 notebook runs, in its order (Tables 5.1, 5.2, Figure 5.5). With a
    :class:`~dc_lib.runs.jobs.Planner` this records them as jobs instead of running them; the sets
    Figure 5.2 draws are Table 5.1's."""
    table_5_1(runner, datasets, ipcs)
    table_5_2(runner)
    figure_5_5(runner)
