"""Chapter 4's experiments (DSA) as cells: Table 4.1 and Figure 4.2."""

from __future__ import annotations

import itertools

import pandas as pd

from . import tables
from .experiments import Runner
from .results import Cell, summarise

THESIS_DATASETS = ("mnist", "fashionmnist", "svhn", "cifar10")
THESIS_IPCS = (1, 10, 50)
# The thesis copies random/herding/forgetting from chapter 3; we rerun random and DC beside DSA
# so that the comparison in this table shares one budget. Herding and forgetting: chapter 3.
METHODS = ("random", "dc", "dsa")
EVALUATION = ("DSA sets train the evaluation networks with DSA augmentation; random and DC sets without "
              "augmentation, except on MNIST (crop/scale/rotate).")


def _cell(table: str, dataset: str, ipc: int, method: str) -> Cell:
    condense = "none" if method == "random" else "convnet"
    return Cell(4, table, dataset, ipc, method, condense, "convnet")


def table_4_1(runner: Runner, datasets=None, ipcs=None) -> tuple[pd.DataFrame, list[tuple[Cell, str]]]:
    """DSA next to random selection and DC on the profile's grid."""
    plan = runner.profile.chapter4
    grid = itertools.product(tuple(datasets or plan.datasets), tuple(ipcs or plan.ipcs))
    cells, skipped = tables.grid_cells(_cell, "4.1", grid, itertools.product(THESIS_DATASETS, THESIS_IPCS), METHODS)
    not_run = tables.run_cells(runner, cells, skipped, chapter=4)
    return summarise(runner.rows("4.1")), not_run


def figure_4_2_sets(runner: Runner, datasets=None, ipc: int | None = None) -> list:
    """DSA sets drawn in Figure 4.2 (the profile's largest ipc; made if missing)."""
    plan = runner.profile.chapter4
    ipc = ipc or max(plan.ipcs)
    return [runner.synset(_cell("4.1", d, ipc, "dsa")) for d in tuple(datasets or plan.datasets)
            if runner.data(d) is not None]


def write_table(runner: Runner, table: str, summary: pd.DataFrame, not_run, title: str) -> str:
    return tables.write_table(runner, table, summary, not_run, title, EVALUATION)
