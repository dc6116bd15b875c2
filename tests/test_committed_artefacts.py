"""The committed results are what their rows give: a summary or table edited by hand, or left stale
after the rows changed, fails here."""

from pathlib import Path

import pandas as pd
import pytest

from dc_lib.runs.results import ResultStore, _pm, summarise
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
