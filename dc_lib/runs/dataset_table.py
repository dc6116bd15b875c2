"""Table A.T1, the datasets' statistics, computed from the loaders (never typed).

For each dataset of the thesis's Table A.T1 (the datasets of its rows in ``thesis_results.csv``)
the numbers come from the arrays :func:`dc_lib.core.data.load_arrays` returns: training and test
images, classes (labels present in the training split) and image size. A dataset that is not
under the data root is listed as "data not available", with the thesis's numbers beside it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.data import DATASETS, DatasetNotFoundError, canonical_name, dataset_available, load_arrays
from ..core.files import atomic_write
from .results import load_thesis

TABLE = "A.T1"
# The statistics a row holds, as the thesis CSV names them where it has them (n_train, n_test).
METRICS = ("n_train", "n_test", "classes", "image_size")
COLUMNS = ["table", "dataset", "metric", "value", "thesis", "status", "data_source", "note"]
NOT_AVAILABLE = "data not available"


def dataset_statistics(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """The statistics of a dataset's uint8 arrays: ``n_train``, ``n_test`` (images), ``classes``
    (distinct training labels) and ``image_size`` (``HxWxC``)."""
    x = arrays["x_train"]
    channels = x.shape[3] if x.ndim == 4 else 1
    return {"n_train": str(len(x)), "n_test": str(len(arrays["x_test"])),
            "classes": str(len(np.unique(arrays["y_train"]))),
            "image_size": f"{x.shape[1]}x{x.shape[2]}x{channels}"}


def thesis_datasets(thesis: pd.DataFrame | None = None) -> list[str]:
    """The datasets of the thesis's Table A.T1, in its order."""
    thesis = load_thesis() if thesis is None else thesis
    return list(dict.fromkeys(thesis[thesis.table == TABLE].dataset))


def table_a_t1(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per (dataset, statistic): the value computed from the data under ``root`` (or
    ``NaN`` and status "data not available"), the thesis's number where it prints one."""
    thesis = load_thesis()
    rows = []
    for dataset in thesis_datasets(thesis):
        printed = thesis[(thesis.table == TABLE) & (thesis.dataset == dataset)]
        printed = {m: f"{v:.0f}" for m, v in zip(printed.metric, printed["mean"])}
        info = DATASETS[canonical_name(dataset)]
        stats, source, note, status = {}, "", "", NOT_AVAILABLE
        if dataset_available(dataset, root):
            try:
                arrays, source, note = load_arrays(dataset, root, download=False)
            except DatasetNotFoundError:
                pass
            else:
                stats, status = dataset_statistics(arrays), "computed"
        # What the thesis states beside A.T1 without printing it in the table (classes, size used).
        printed.setdefault("classes", str(info.num_classes))
        for metric in METRICS:
            rows.append({"table": TABLE, "dataset": dataset, "metric": metric, "value": stats.get(metric, ""),
                         "thesis": printed.get(metric, ""), "status": status, "data_source": source, "note": note})
    return pd.DataFrame(rows, columns=COLUMNS)


def markdown_a_t1(df: pd.DataFrame) -> str:
    """The table as markdown: one line per dataset, computed value / thesis value per statistic."""
    lines = ["| dataset | train (here / thesis) | test (here / thesis) | classes (here / thesis) | image size here "
             "| status | note |", "|---|---|---|---|---|---|---|"]
    for dataset, g in df.groupby("dataset", sort=False):
        by = {r.metric: r for r in g.itertuples(index=False)}
        status = g.status.iloc[0]

        def pair(metric: str) -> str:
            here = by[metric].value if status != NOT_AVAILABLE else NOT_AVAILABLE
            return f"{here} / {by[metric].thesis or '-'}"

        size = by["image_size"].value if status != NOT_AVAILABLE else NOT_AVAILABLE
        lines.append(f"| {dataset} | {pair('n_train')} | {pair('n_test')} | {pair('classes')} | {size} | {status} "
                     f"| {g.note.iloc[0]} |")
    return "\n".join(lines) + "\n"


def write_a_t1(df: pd.DataFrame, out_dir: str | os.PathLike) -> str:
    """Write ``table_A.T1.csv`` (the rows) and ``table_A.T1.md`` into ``out_dir``; return the markdown."""
    out_dir = Path(out_dir)
    atomic_write(out_dir / "table_A.T1.csv", lambda tmp: df.to_csv(tmp, index=False))
    text = ("# Table A.T1: datasets (computed from the loaders)\n\nEach number is counted in the arrays the "
            "loader returns for the data root of this run; the thesis's number is beside it. The classes of a "
            "dataset without data are the library's entry for it.\n\n" + markdown_a_t1(df))
    atomic_write(out_dir / "table_A.T1.md", lambda tmp: Path(tmp).write_text(text))
    return markdown_a_t1(df)
