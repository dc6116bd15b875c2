"""The committed results are what their rows give: a summary or table edited by hand, or left stale
after the rows changed, fails here. And every committed chapter table lists every cell of the
thesis's grid, with a number or a reason, and names as running a cell only a profile whose plan does."""

import re
from pathlib import Path

import pandas as pd
import pytest

from dc_lib.core.config import get_profile
from dc_lib.runs import listing
from dc_lib.runs.results import Cell, ResultStore, _pm, chapter_of, summarise
from dc_lib.thesis import chapter3, chapter4, chapter5
from dc_lib.thesis.chapter3 import ors_rows

RESULTS = Path(__file__).resolve().parents[1] / "results"
ROWS = sorted(p for p in RESULTS.glob("*/*/table_*_rows.csv") if p.with_name(p.name[:-9] + "_summary.csv").is_file())
NUMBERS = ["n", "sets", "mean", "std", "thesis_mean", "thesis_std", "diff"]
# Tables whose summary is not the plain mean of their rows: Table A.T8 ranks the random draws it stores.
DERIVED = {"A.T8": lambda rows: pd.concat([rows[rows.method != "random"], ors_rows(rows[rows.method == "random"])])}


def _summary_of(rows_csv: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    committed = pd.read_csv(rows_csv.with_name(rows_csv.name[:-9] + "_summary.csv"))
    rows = ResultStore(rows_csv).load()
    table = rows_csv.name[len("table_"):-len("_rows.csv")]
    return summarise(DERIVED.get(table, lambda r: r)(rows)), committed


def test_there_are_committed_tables_to_check():
    assert len(ROWS) >= 10


@pytest.mark.parametrize("rows_csv", ROWS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_committed_summary_is_what_its_rows_give(rows_csv):
    derived, committed = _summary_of(rows_csv)
    assert len(derived) == len(committed)
    for column in NUMBERS:
        pd.testing.assert_series_equal(derived[column].astype(float).reset_index(drop=True),
                                       committed[column].astype(float).reset_index(drop=True),
                                       check_names=False, atol=1e-6, rtol=0)


@pytest.mark.parametrize("rows_csv", ROWS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_reproduced_number_of_a_summary_is_in_its_markdown_table(rows_csv):
    derived, _ = _summary_of(rows_csv)
    markdown = rows_csv.with_name(rows_csv.name[:-9] + ".md").read_text()
    for r in derived.itertuples(index=False):
        assert f"| {_pm(r.mean, r.std)} | {r.n} ({r.sets}) |" in markdown, (r.dataset, r.ipc, r.method, r.setting)


# The committed chapter tables and what a markdown line of one says.
TABLES = sorted(p for p in RESULTS.glob("chapter*/*/table_*.md"))
NUMBER = re.compile(r"^\d+\.\d ± \d+\.\d$")
LABELS = ("not run in this profile (cost; ", "not run in this run", "not run for ", "not run in any profile",
          "data not available", "not implemented in this companion", "in Table ", "in Figure ")
RUNS_IT = re.compile(r"`\./reproduce\.sh chapter(\d)(?:_analyses)? --profile (\w+)` runs it")
PLANNED = {**chapter3.PLANNED, **chapter4.PLANNED, **chapter5.PLANNED}


def _lines(md: Path) -> list[tuple[Cell, str]]:
    """(cell, reproduced column) of every line of a committed table."""
    table = md.stem[len("table_"):]
    out = []
    for line in md.read_text().splitlines():
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if len(parts) != 11 or parts[0] in ("dataset", "---"):
            continue
        dataset, ipc, method, c_arch, t_arch, setting, reproduced = parts[:7]
        out.append((Cell(chapter_of(table), table, dataset, 0 if ipc == "whole" else int(ipc), method, c_arch, t_arch,
                         setting), reproduced))
    return out


def test_there_are_committed_chapter_tables_to_list():
    assert len(TABLES) >= 15


@pytest.mark.parametrize("md", TABLES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_thesis_cell_of_a_committed_table_is_in_it_with_a_number_or_a_reason(md):
    lines = _lines(md)
    for cell in listing.thesis_cells(md.stem[len("table_"):]):
        said = [text for c, text in lines if listing.same_cell(c, cell)]
        assert said, f"{md.name} does not list {cell}"
        assert all(NUMBER.match(t) or t.startswith(LABELS) for t in said), (cell, said)


@pytest.mark.parametrize("md", TABLES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_committed_not_run_label_names_only_a_profile_whose_plan_runs_the_cell(md):
    table, profile = md.stem[len("table_"):], md.parent.name
    for cell, text in _lines(md):
        named = RUNS_IT.search(text)
        if text.startswith("not run in this profile"):
            assert named, text
            assert int(named.group(1)) == chapter_of(table), text
            assert listing.contains(PLANNED[table](get_profile(named.group(2))), cell), (cell, text)
            assert not listing.contains(PLANNED[table](get_profile(profile)), cell), (cell, "its own profile runs it")
        if text.startswith("not run in any profile"):
            assert not listing.profiles_running(cell, PLANNED.get(table)), (cell, text)
