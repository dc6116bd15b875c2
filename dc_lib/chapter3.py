"""Chapter 3's experiments (DC, gradient matching) as cells: Table 3.1, Figures 3.2 and 3.3."""

from __future__ import annotations

import itertools

import pandas as pd

from . import tables
from .experiments import Runner
from .results import Cell, summarise

THESIS_DATASETS = ("mnist", "fashionmnist", "svhn", "cifar10")
THESIS_IPCS = (1, 10, 50)
METHODS = ("random", "herding", "kcenter", "forgetting", "dc")
EVALUATION = ("DC and coreset sets train the evaluation networks without augmentation, except on MNIST "
              "(crop/scale/rotate, thesis A.1).")


def _cell(table: str, dataset: str, ipc: int, method: str) -> Cell:
    condense = "none" if method in ("random", "whole") else "convnet"
    return Cell(3, table, dataset, ipc, method, condense, "convnet")


def table_3_1(runner: Runner, datasets=None, ipcs=None) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """Coreset baselines vs DC on the profile's grid; the rest of the thesis grid listed as not run."""
    plan = runner.profile.chapter3
    grid = itertools.product(tuple(datasets or plan.datasets), tuple(ipcs or plan.ipcs))
    cells, skipped = tables.grid_cells(_cell, "3.1", grid, itertools.product(THESIS_DATASETS, THESIS_IPCS), METHODS)
    skipped += [_cell("3.1", d, 0, "whole") for d in THESIS_DATASETS]
    not_run = tables.run_cells(runner, cells, skipped, chapter=3)
    return summarise(runner.rows("3.1")), not_run


def figure_3_2_sets(runner: Runner, datasets=None) -> list:
    """The 1-ipc DC sets drawn in Figure 3.2 (made if missing)."""
    datasets = tuple(datasets or runner.profile.chapter3.datasets)
    return [runner.synset(_cell("3.1", d, 1, "dc")) for d in datasets if runner.data(d) is not None]


def figure_3_3(runner: Runner, dataset=None, ipcs=None) -> pd.DataFrame:
    """DC vs herding as the number of images per class grows (Figure 3.3)."""
    plan = runner.profile.chapter3
    dataset = dataset or plan.datasets[0]
    ipcs = tuple(ipcs or sorted(set(plan.ipcs) | set(plan.curve_ipcs)))
    for ipc, method in itertools.product(ipcs, ("herding", "dc")):
        runner.run(_cell("F3.3", dataset, ipc, method))
    return summarise(runner.rows("F3.3"))


def write_table(runner: Runner, table: str, summary: pd.DataFrame, not_run, title: str) -> str:
    return tables.write_table(runner, table, summary, not_run, title, EVALUATION)
