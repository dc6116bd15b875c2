"""A committed architecture search is what its rows give: its summary's Spearman correlations, top-k and
selected candidates recomputed from ``results/nas/<profile>/results.csv``, and its test accuracies those
rows record for the selected candidates."""

from pathlib import Path

import pandas as pd
import pytest

from dc_lib.core.config import NAS
from dc_lib.runs.nas import proxy_scores, rank_agreement, sample_space
from dc_lib.runs.results import ResultStore
from dc_lib.thesis import nas_runs

RESULTS = Path(__file__).resolve().parents[1] / "results" / "nas"
SUMMARIES = sorted(RESULTS.glob("*/table_*_nas_summary.csv"))


def _search(summary_csv: Path):
    profile = summary_csv.parent.name
    table = summary_csv.name[len("table_"):-len("_nas_summary.csv")]
    plan = next(p for p in NAS[profile] if p.table == table)
    rows = ResultStore(summary_csv.with_name("results.csv")).load()
    rows = rows[(rows.table == f"{table}-nas") & (rows.profile == profile) & (rows.budget == plan.training_budget())]
    return plan, rows, pd.read_csv(summary_csv)


@pytest.mark.parametrize("summary_csv", SUMMARIES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_committed_search_summary_is_what_its_rows_give(summary_csv):
    plan, rows, committed = _search(summary_csv)
    assert len(rows), "no rows of the plan's budget: the summary is stale"
    ids = {c.id for c in sample_space(plan.candidates, seed=int(rows.seed.iloc[0]), widths=plan.widths)}
    truth = {c: v for c, v in proxy_scores(rows, "whole").items() if c in ids}
    assert len(truth) == len(ids), "the ground truth does not cover the sample"
    for proxy in committed.itertuples():
        scores = {c: v for c, v in proxy_scores(rows, proxy.proxy).items() if c in ids}
        agree = rank_agreement(scores, truth, nas_runs._top(plan, len(scores)))
        assert (agree["selected"], agree["k"], agree["candidates"]) == (proxy.selected, proxy.k, proxy.candidates)
        assert agree["spearman_topk"] == pytest.approx(proxy.spearman_topk, nan_ok=True)
        assert agree["spearman_all"] == pytest.approx(proxy.spearman_all)
        tested = rows[(rows.method == "selected") & (rows.setting.str.contains(f"candidate={proxy.selected};"))]
        assert tested.value.mean() == pytest.approx(proxy.test_acc)
