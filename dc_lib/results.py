"""Results as data: tidy CSV rows, thesis reference numbers, markdown summaries.

One row per measurement (one network's test accuracy), with everything that
produced it. Tables and figures are derived from these files, never the
other way round. Writes are atomic and keyed per experiment, so an
interrupted run resumes without losing or duplicating rows.
"""

from __future__ import annotations

import fcntl
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from . import __version__
from .files import atomic_write
from .settings import parse_setting

COLUMNS = ["chapter", "table", "dataset", "ipc", "method", "condense_arch", "eval_arch", "setting",
           "set_idx", "net_idx", "seed", "metric", "value", "profile", "budget", "data_source",
           "note", "dc_lib_version"]
# The fields that identify one experiment (one small set and its networks).
KEY = ["table", "dataset", "ipc", "method", "condense_arch", "eval_arch", "setting", "set_idx", "profile"]
GROUP = ["table", "dataset", "ipc", "method", "condense_arch", "eval_arch", "setting"]

_TEXT = ["table", "dataset", "method", "condense_arch", "eval_arch", "setting", "profile", "budget",
         "data_source", "note", "dc_lib_version"]
_DTYPES = {**{c: str for c in _TEXT}, "chapter": int, "ipc": int, "set_idx": int, "net_idx": int, "seed": int,
           "value": float}

THESIS_CSV = Path(__file__).resolve().parent.parent / "results" / "thesis" / "thesis_results.csv"


@dataclass(frozen=True)
class Cell:
    """One cell of a thesis table: what is condensed, how and how it is evaluated.

    ``ipc`` is 0 for the whole-dataset row.
    """

    chapter: int
    table: str
    dataset: str
    ipc: int
    method: str
    condense_arch: str = "convnet"
    eval_arch: str = "convnet"
    setting: str = ""

    def key(self, set_idx: int, profile: str) -> tuple:
        return (self.table, self.dataset, self.ipc, self.method, self.condense_arch, self.eval_arch,
                self.setting, set_idx, profile)


class ResultStore:
    """An append-only tidy CSV of results."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def load(self) -> pd.DataFrame:
        if not self.path.is_file():
            return pd.DataFrame(columns=COLUMNS)
        return pd.read_csv(self.path, dtype=_DTYPES, keep_default_na=False, na_values={"value": ["nan"]})

    def keys(self) -> set[tuple]:
        df = self.load()
        return {tuple(r) for r in df[KEY].itertuples(index=False, name=None)} if len(df) else set()

    def has(self, cell: Cell, set_idx: int, profile: str) -> bool:
        return cell.key(set_idx, profile) in self.keys()

    def append(self, rows: list[dict]) -> None:
        """Add rows (dicts with COLUMNS) atomically, replacing rows of the same experiment keys."""
        new = pd.DataFrame(rows, columns=COLUMNS).astype(_DTYPES)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Read-merge-replace under an exclusive lock: two processes appending into one results directory
        # would otherwise each replace the file with their own merge and lose the other's rows. The lock is
        # a sibling file, since the CSV itself is replaced (a lock on it would be on the old inode).
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            old = self.load()
            if len(old):
                new_keys = {tuple(r) for r in new[KEY].itertuples(index=False, name=None)}
                keep = [tuple(r) not in new_keys for r in old[KEY].itertuples(index=False, name=None)]
                new = pd.concat([old[keep], new], ignore_index=True)
            atomic_write(self.path, lambda tmp: new.to_csv(tmp, index=False))


def make_rows(cell: Cell, set_idx: int, seed: int, accuracies: list[float], *, profile: str, budget: str,
              data_source: str, note: str = "") -> list[dict]:
    """Tidy rows, one per network accuracy (metric ``test_acc``, in %)."""
    base = {**asdict(cell), "set_idx": set_idx, "seed": seed, "metric": "test_acc", "profile": profile,
            "budget": budget, "data_source": data_source, "note": note, "dc_lib_version": __version__}
    return [{**base, "net_idx": i, "value": round(float(a), 4)} for i, a in enumerate(accuracies)]


def load_thesis(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The thesis numbers (long format, see ../shared/paper/hyperparameters.md section 9)."""
    df = pd.read_csv(path or THESIS_CSV, dtype=str, keep_default_na=False)
    df["ipc"] = pd.to_numeric(df["ipc"], errors="coerce").fillna(0).astype(int)
    df["mean"] = pd.to_numeric(df["mean"], errors="coerce")
    df["std"] = pd.to_numeric(df["std"], errors="coerce")
    return df


def thesis_reference(thesis: pd.DataFrame, cell: Cell) -> tuple[float, float, str]:
    """(mean, std, table) the thesis reports for a cell, or (nan, nan, "") if it reports none.

    Preference: the cell's own table with the same evaluation architecture (and
    norm setting if the table has several), then the same (dataset, ipc, method,
    eval_arch) in any other table -- e.g. FashionMNIST random selection is in
    Tables 3.1/4.1, not 5.1.
    """
    t = thesis[(thesis.metric == "test_acc") & (thesis.dataset == cell.dataset)
               & (thesis.ipc == cell.ipc) & (thesis.method == cell.method)
               & (thesis.eval_arch == cell.eval_arch)]
    own = t[t.table == cell.table]
    # Narrow by condensing architecture (Tables 3.2 / 4.3) and setting (ablations) when they decide.
    for column, value in (("condense_arch", cell.condense_arch), ("setting", cell.setting)):
        if len(own) > 1 and (own[column] == value).any():
            own = own[own[column] == value]
    # Another table's number stands in only for a cell of the standard setting: an ablation's
    # variant has no counterpart elsewhere.
    pick = own if len(own) or parse_setting(cell.setting).canonical else t
    if not len(pick):
        return math.nan, math.nan, ""
    row = pick.iloc[0]
    return float(row["mean"]), float(row["std"]), str(row["table"])


def summarise(results: pd.DataFrame, thesis: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mean and std (population std, as the authors' ``np.std``) per table cell, beside the thesis."""
    thesis = load_thesis() if thesis is None else thesis
    df = results[results.metric == "test_acc"]
    if not len(df):
        return pd.DataFrame()
    out = []
    for keys, g in df.groupby(GROUP + ["profile", "budget"], sort=False):
        rec = dict(zip(GROUP + ["profile", "budget"], keys))
        cell = Cell(chapter=int(g.chapter.iloc[0]), **{k: rec[k] for k in GROUP})
        mean, std, table = thesis_reference(thesis, cell)
        values = g.value.astype(float).to_numpy()
        rec.update(n=len(values), sets=g.set_idx.nunique(), mean=values.mean(), std=values.std(ddof=0),
                   thesis_mean=mean, thesis_std=std, thesis_table=table,
                   diff=values.mean() - mean if not math.isnan(mean) else math.nan,
                   note="; ".join(sorted({n for n in g.note if n})))
        out.append(rec)
    return pd.DataFrame(out)


def _pm(mean: float, std: float) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    return f"{mean:.1f} ± {std:.1f}" if not math.isnan(std) else f"{mean:.1f}"


def markdown_table(summary: pd.DataFrame, not_run: list[tuple[Cell, str]] = ()) -> str:
    """A markdown table: reproduced mean ± std, thesis mean ± std, difference; then cells not run."""
    lines = ["| dataset | ipc | method | C arch | T arch | setting | reproduced | n (sets) | thesis | Δ | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples(index=False):
        ref = _pm(r.thesis_mean, r.thesis_std)
        if r.thesis_table and r.thesis_table != r.table:
            ref += f" (Table {r.thesis_table})"
        diff = "-" if math.isnan(r.diff) else f"{r.diff:+.1f}"
        ipc = "whole" if r.ipc == 0 else r.ipc
        lines.append(f"| {r.dataset} | {ipc} | {r.method} | {r.condense_arch} | {r.eval_arch} | {r.setting} "
                     f"| {_pm(r.mean, r.std)} | {r.n} ({r.sets}) | {ref} | {diff} | {r.note} |")
    for cell, reason in not_run:
        ipc = "whole" if cell.ipc == 0 else cell.ipc
        lines.append(f"| {cell.dataset} | {ipc} | {cell.method} | {cell.condense_arch} | {cell.eval_arch} "
                     f"| {cell.setting} | {reason} | 0 | - | - | |")
    return "\n".join(lines) + "\n"


def write_summary(summary: pd.DataFrame, out_dir: str | os.PathLike, name: str, *, title: str,
                  profile_line: str, not_run: list[tuple[Cell, str]] = ()) -> Path:
    """Write ``<name>_summary.csv`` and ``<name>.md`` (the markdown table) into ``out_dir``."""
    out_dir = Path(out_dir)
    atomic_write(out_dir / f"{name}_summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    text = f"# {title}\n\n{profile_line}\n\n" + markdown_table(summary, not_run)
    return atomic_write(out_dir / f"{name}.md", lambda tmp: Path(tmp).write_text(text))
