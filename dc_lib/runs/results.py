"""Results as data: tidy CSV rows, thesis reference numbers, markdown summaries.

One row per measurement (one network's test accuracy), with everything that
produced it. Tables and figures are derived from these files, never the
other way round. Writes are atomic and keyed per experiment, so an
interrupted run resumes without losing or duplicating rows.
"""

from __future__ import annotations

import csv
import fcntl
import io
import math
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from .. import __version__
from ..core.files import atomic_write
from .settings import canonical_setting, parse_setting

COLUMNS = ["chapter", "table", "dataset", "ipc", "method", "condense_arch", "eval_arch", "setting",
           "set_idx", "net_idx", "seed", "metric", "value", "profile", "budget", "data_source",
           "note", "dc_lib_version"]
# The fields that identify one experiment (one small set and its networks).
KEY = ["table", "dataset", "ipc", "method", "condense_arch", "eval_arch", "setting", "set_idx", "profile"]
GROUP = ["table", "dataset", "ipc", "method", "condense_arch", "eval_arch", "setting"]

# One row per table cell (``summarise``).
SUMMARY_COLUMNS = [*GROUP, "profile", "budget", "n", "sets", "mean", "std", "thesis_mean", "thesis_std",
                   "thesis_table", "diff", "note"]

_TEXT = ["table", "dataset", "method", "condense_arch", "eval_arch", "setting", "profile", "budget",
         "data_source", "note", "dc_lib_version"]
_DTYPES = {**{c: str for c in _TEXT}, "chapter": int, "ipc": int, "set_idx": int, "net_idx": int, "seed": int,
           "value": float}

def _parse(column: str, value: str):
    """One CSV field as its column's type (ValueError if it is not one); a missing value (empty, as
    pandas writes NaN, or ``nan``) is valid for the float column only."""
    kind = _DTYPES.get(column, str)
    if kind is float and value in ("", "nan"):
        return math.nan
    return value if kind is str else kind(value)


THESIS_CSV = Path(__file__).resolve().parents[2] / "results" / "thesis" / "thesis_results.csv"


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
        """The rows on file; a partial or unparsable row is left out, with a warning naming file and line.

        A row counts as done by being here, so a row cut short (a copy or disk that failed mid-write;
        our own writes are atomic) must not: it is left out together with the other rows of its
        experiment, and that experiment is recomputed (the next ``append`` rewrites the file without
        them). Without this, pandas took a truncated last row as done and a garbage line ended in a
        bare ``ValueError: invalid literal for int()``.
        """
        if not self.path.is_file():
            return pd.DataFrame(columns=COLUMNS)
        text = self.path.read_text(encoding="utf-8", errors="replace")
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            if text.strip():
                self._warn(1, "no header row")
            return pd.DataFrame(columns=COLUMNS)
        rows, line = [], reader.line_num + 1
        for row in reader:  # (first line of the row, fields): a quoted field may span lines
            rows.append((line, row))
            line = reader.line_num + 1
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            if any(row for _, row in rows):
                raise ValueError(f"{self.path}: not a results file (its header lacks {', '.join(missing)}); "
                                 "move it away and rerun to recompute its rows")
            self._warn(1, f"partial header (lacks {', '.join(missing)})")
            return pd.DataFrame(columns=COLUMNS)
        good, bad = [], []
        for n, (start, row) in enumerate(rows):
            if not row:
                continue
            # Every row we write ends in a newline: a last row without one was cut short.
            partial = n == len(rows) - 1 and not text.endswith("\n")
            problem = self._problem(header, row, partial)
            if problem is None:
                good.append([_parse(c, v) for c, v in zip(header, row)])
                continue
            experiment = self._experiment(header, row[:-1] if partial else row)
            self._warn(start, problem + (" -- left out with the other rows of its experiment, which will be "
                                         "recomputed" if experiment else " -- left out"))
            if experiment:
                bad.append(experiment)
        df = pd.DataFrame(good, columns=header).astype({c: t for c, t in _DTYPES.items() if c in header})
        for experiment in bad:
            same = pd.Series(True, index=df.index)
            for column, value in experiment.items():
                same &= df[column] == value
            df = df[~same]
        return df.reset_index(drop=True)

    @staticmethod
    def _experiment(header: list[str], row: list[str]) -> dict | None:
        """The experiment key fields a damaged row still shows (a partial row may lack the last ones),
        or None if it does not show the identifying ones up to ``set_idx`` (a garbage line)."""
        fields = {}
        for column in KEY:
            i = header.index(column)
            if i >= len(row):
                break
            try:
                fields[column] = _parse(column, row[i])
            except ValueError:
                break
        return fields if "set_idx" in fields else None

    @staticmethod
    def _problem(header: list[str], row: list[str], last: bool) -> str | None:
        """Why a CSV row cannot be trusted, or None."""
        if last:
            return "partial row (the file ends in the middle of it)"
        if len(row) != len(header):
            return f"{len(row)} fields, expected {len(header)}"
        for column, value in zip(header, row):
            try:
                _parse(column, value)
            except ValueError:
                kind = "an integer" if _DTYPES[column] is int else "a number"
                return f"column {column} holds {value[:40]!r}, not {kind}"
        return None

    def _warn(self, line: int, problem: str) -> None:
        warnings.warn(f"{self.path}, line {line}: {problem}", RuntimeWarning, stacklevel=3)

    def keys(self) -> set[tuple]:
        df = self.load()
        return {tuple(r) for r in df[KEY].itertuples(index=False, name=None)} if len(df) else set()

    def has(self, cell: Cell, set_idx: int, profile: str, budget: str | None = None) -> bool:
        """Whether the set's rows are recorded; with ``budget``, only rows made with that budget count
        (a row of an older budget is an experiment the profile no longer runs: it is redone and replaced)."""
        if budget is None:
            return cell.key(set_idx, profile) in self.keys()
        df = self.load()
        if not len(df):
            return False
        key = cell.key(set_idx, profile)
        same = df[[tuple(r) == key for r in df[KEY].itertuples(index=False, name=None)]]
        return bool(len(same)) and bool((same.budget == budget).all())

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
    """The thesis numbers (long format, see ../shared/paper/hyperparameters.md section 9).

    One spelling is mended on reading (the CSV itself stays a byte copy of the spec): Table 5.1's
    TinyImageNet random rows name ``convnet`` as their evaluation network, while their note and
    every other TinyImageNet row say the 4-block ConvNet of 64x64 inputs (``convnet_d4``).
    """
    df = pd.read_csv(path or THESIS_CSV, dtype=str, keep_default_na=False)
    df["ipc"] = pd.to_numeric(df["ipc"], errors="coerce").fillna(0).astype(int)
    df["mean"] = pd.to_numeric(df["mean"], errors="coerce")
    df["std"] = pd.to_numeric(df["std"], errors="coerce")
    df.loc[(df.dataset == "tinyimagenet") & (df.eval_arch == "convnet"), "eval_arch"] = "convnet_d4"
    return df


def chapter_of(table: str) -> int | None:
    """The thesis chapter of a table or figure id: ``3.1``, ``F3.3`` -> 3; ``A.T8`` -> 3 (appendix A
    holds chapter 3's extra tables); ``B.T1`` -> 5; ``text:4.4.5`` -> 4; None for an id of no chapter."""
    name = table.removeprefix("text:")
    if name.startswith("A."):
        return 3
    if name.startswith("B."):
        return 5
    head = name.removeprefix("F").split(".")[0]
    return int(head) if head.isdigit() else None


def table_name(table: str) -> str:
    """How a table id reads in a sentence: ``Table 3.1``, ``Figure 3.3``, ``the prose of section 5.3.2``."""
    if table.startswith("text:"):
        return f"the prose of section {table.removeprefix('text:')}"
    return f"Figure {table[1:]}" if table.startswith("F") else f"Table {table}"


def _thesis_row(thesis: pd.DataFrame, cell: Cell) -> pd.Series | None:
    """The thesis row that is the reference of ``cell`` (see :func:`thesis_reference`), or None."""
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
    return pick.iloc[0] if len(pick) else None


def thesis_reference(thesis: pd.DataFrame, cell: Cell) -> tuple[float, float, str]:
    """(mean, std, table) the thesis reports for a cell, or (nan, nan, "") if it reports none.

    Preference: the cell's own table with the same evaluation architecture (and
    norm setting if the table has several), then the same (dataset, ipc, method,
    eval_arch) in any other table -- e.g. FashionMNIST random selection is in
    Tables 3.1/4.1, not 5.1.
    """
    row = _thesis_row(thesis, cell)
    if row is None:
        return math.nan, math.nan, ""
    return float(row["mean"]), float(row["std"]), str(row["table"])


# Baselines whose numbers the thesis quotes from their papers (DD, LD): their protocol is their
# papers', whichever of its tables prints them first.
QUOTED_METHODS = ("dd", "ld")
# The note with which the thesis CSV marks Table 4.1's coreset numbers, repeated from the DC paper's
# Table 3.1 (where two of them print differently: hyperparameters.md section 8, item 1).
_COPIED_FROM_3_1 = "copied from DC paper (Ch.3)"


def thesis_origin(thesis: pd.DataFrame, cell: Cell) -> str:
    """The table whose experiment the thesis's reference number of ``cell`` measures ("" if none).

    That is the reference's own table, unless the thesis repeats there a number of an earlier
    table: Tables 4.1 and 5.1 repeat Table 3.1's coresets and DC, 5.1 and 5.2 repeat 4.1's DSA.
    A repeat is recognised by the CSV's note, or by the same mean and std for the same dataset,
    ipc, method, networks and setting in an earlier table (an earlier chapter, or earlier in the
    same chapter); the earliest wins, followed back (5.1 -> 4.1 -> 3.1).
    """
    row = _thesis_row(thesis, cell)
    if row is None:
        return ""
    order = {t: (chapter_of(t) or 99, i) for i, t in enumerate(dict.fromkeys(thesis.table))}
    seen = set()
    while row["table"] not in seen:
        seen.add(row["table"])
        if _COPIED_FROM_3_1 in row["note"] and row["table"] != "3.1":
            return "3.1"
        same = thesis[(thesis.metric == "test_acc") & (thesis.dataset == row["dataset"])
                      & (thesis.ipc == row["ipc"]) & (thesis.method == row["method"])
                      & (thesis.condense_arch == row["condense_arch"]) & (thesis.eval_arch == row["eval_arch"])
                      & (thesis["mean"] == row["mean"])
                      & ((thesis["std"] == row["std"]) | (thesis["std"].isna() & pd.isna(row["std"])))]
        earlier = pd.Series([order[t] < order[row["table"]] and canonical_setting(s) == canonical_setting(row["setting"])
                             for t, s in zip(same.table, same.setting)], index=same.index, dtype=bool)
        same = same[earlier]
        if not len(same):
            break
        row = same.loc[min(same.index, key=lambda i: order[same.at[i, "table"]])]
    return str(row["table"])


def summarise(results: pd.DataFrame, thesis: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mean and std (population std, as the authors' ``np.std``) per table cell, beside the thesis."""
    thesis = load_thesis() if thesis is None else thesis
    df = results[results.metric == "test_acc"]
    if not len(df):  # keep the columns: the summary CSV of a run without data still has its header
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
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
    return pd.DataFrame(out, columns=SUMMARY_COLUMNS)


def _pm(mean: float, std: float) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    return f"{mean:.1f} ± {std:.1f}" if not math.isnan(std) else f"{mean:.1f}"


def thesis_text(thesis: pd.DataFrame, cell: Cell) -> str:
    """The thesis column of ``cell``'s line: mean ± std, and where the number comes from when it is
    not the cell's own table's measurement: ``(Table 3.1)`` for another table of the same chapter,
    ``(Table 3.1's number, chapter 3's protocol)`` for another chapter's, whose evaluation differs
    (chapter 5 trains every network with DSA augmentation, chapter 3 only MNIST's, with crop/scale/rotate)."""
    mean, std, table = thesis_reference(thesis, cell)
    text = _pm(mean, std)
    origin = thesis_origin(thesis, cell) if cell.method not in QUOTED_METHODS else table
    if origin and chapter_of(origin) != chapter_of(cell.table):
        text += f" ({table_name(origin)}'s number, chapter {chapter_of(origin)}'s protocol)"
    elif table and table != cell.table:
        text += f" ({table_name(table)})"
    return text


def markdown_table(summary: pd.DataFrame, not_run: list[tuple[Cell, str]] = (),
                   thesis: pd.DataFrame | None = None) -> str:
    """A markdown table: reproduced mean ± std, thesis mean ± std, difference; then the cells not
    run, each with why and the thesis's number."""
    thesis = load_thesis() if thesis is None else thesis
    lines = ["| dataset | ipc | method | C arch | T arch | setting | reproduced | n (sets) | thesis | Δ | note |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples(index=False):
        cell = Cell(chapter_of(r.table) or 0, r.table, r.dataset, int(r.ipc), r.method, r.condense_arch,
                    r.eval_arch, r.setting)
        diff = "-" if math.isnan(r.diff) else f"{r.diff:+.1f}"
        ipc = "whole" if r.ipc == 0 else r.ipc
        lines.append(f"| {r.dataset} | {ipc} | {r.method} | {r.condense_arch} | {r.eval_arch} | {r.setting} "
                     f"| {_pm(r.mean, r.std)} | {r.n} ({r.sets}) | {thesis_text(thesis, cell)} | {diff} | {r.note} |")
    for cell, reason in not_run:
        ipc = "whole" if cell.ipc == 0 else cell.ipc
        lines.append(f"| {cell.dataset} | {ipc} | {cell.method} | {cell.condense_arch} | {cell.eval_arch} "
                     f"| {cell.setting} | {reason} | 0 | {thesis_text(thesis, cell)} | - | |")
    return "\n".join(lines) + "\n"


def write_summary(summary: pd.DataFrame, out_dir: str | os.PathLike, name: str, *, title: str,
                  profile_line: str, not_run: list[tuple[Cell, str]] = (), after: str = "") -> Path:
    """Write ``<name>_summary.csv`` and ``<name>.md`` (the markdown table, then ``after``) into ``out_dir``."""
    out_dir = Path(out_dir)
    atomic_write(out_dir / f"{name}_summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    text = f"# {title}\n\n{profile_line}\n\n" + markdown_table(summary, not_run) + (f"\n{after}" if after else "")
    return atomic_write(out_dir / f"{name}.md", lambda tmp: Path(tmp).write_text(text))
