import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from dc_lib.core.config import get_profile
from dc_lib.core.models import get_network
from dc_lib.runs.experiments import Runner
from dc_lib.thesis import chapter4


@pytest.fixture
def runner(tiny_root, tmp_path):
    return Runner(get_profile("smoke"), tmp_path / "out", data_root=tiny_root, device="cpu")


def reasons_of(markdown: str) -> dict:
    """{(dataset, ipc, method): the reproduced column} of a table's lines."""
    cells = [line.split(" | ") for line in markdown.splitlines() if line.startswith("| ") and " | 0 | " in line]
    return {(c[0][2:], c[1], c[2]): c[6] for c in cells}


def test_table_4_2_lists_every_thesis_cell_with_why_it_has_no_number(runner):
    summary, not_run = chapter4.table_4_2(runner)
    reasons = reasons_of(chapter4.write_table(runner, "4.2", summary, not_run, "Table 4.2"))
    assert summary.empty and len(reasons) == 10
    assert reasons[("cifar100", "1", "dsa")] == reasons[("cifar100", "whole", "whole")] == "data not available"
    assert reasons[("cifar100", "1", "ld")].startswith("not implemented in this companion (LD")


def test_table_4_2_names_the_profile_that_runs_cifar100_where_the_data_are(runner):
    (runner.data_root / "cifar100.npz").write_bytes(b"")  # labelling checks that a source exists, never reads it
    reasons = reasons_of(chapter4.write_table(runner, "4.2", *chapter4.table_4_2(runner), "Table 4.2"))
    assert reasons[("cifar100", "10", "dc")] == "not run in this profile (cost; `./reproduce.sh chapter4 --profile paper` runs it)"


def test_table_4_2_says_when_the_cifar100_data_are_missing_for_a_cell_it_runs(runner):
    runner.profile = replace(runner.profile, chapter4=replace(runner.profile.chapter4, cifar100_ipcs=(1,)))
    _, not_run = chapter4.table_4_2(runner)
    reasons = {(c.ipc, c.method): why for c, why in not_run}
    assert reasons[(1, "dc")] == reasons[(0, "whole")] == "data not available" and (10, "dc") not in reasons


def test_the_same_evaluation_check_evaluates_each_set_both_ways(runner):
    plan = replace(runner.profile.chapter4, same_evaluation=(("mnist",), (1,)))
    runner.profile = replace(runner.profile, chapter4=plan)
    summary, not_run = chapter4.table_same_evaluation(runner)
    assert not_run == []
    assert sorted(zip(summary.method, summary.setting)) == sorted(
        (m, f"eval_aug={a}") for m in chapter4.SAME_EVALUATION_METHODS for a in chapter4.SAME_EVALUATION_AUGS)
    assert summary.budget.str.contains("eval_aug=classic;").sum() == 3


def test_the_same_evaluation_check_is_skipped_when_the_profile_has_none(runner):
    runner.profile = replace(runner.profile, chapter4=replace(runner.profile.chapter4, same_evaluation=None))
    summary, not_run = chapter4.table_same_evaluation(runner)
    assert summary.empty and not_run == []


def test_figure_4_5_histogram_is_tidy_and_says_where_in_the_loop_it_was_measured(runner):
    hist = chapter4.figure_4_5(runner)  # smoke: MNIST, 1 ipc, K = 1, so the replay is k = 2
    assert list(hist.columns) == chapter4.HISTOGRAM_COLUMNS
    assert list(pd.read_csv(runner.out_dir / "figure_4.5_histogram.csv").columns) == chapter4.HISTOGRAM_COLUMNS
    assert set(hist.method) == {"dc", "dsa"} and set(hist.side) == {"real", "synthetic"}
    assert set(hist.outer_iteration) == {2} and set(hist["round"]) == {0} and set(hist.epochs_on_syn) == {0}
    weights = sum(p.numel() for p in get_network("convnet", 1, 10, (28, 28)).parameters() if p.dim() > 1)
    assert (hist.groupby(["method", "side"])["count"].sum() == 10 * weights).all()  # every class's entries


def test_figure_4_5_is_read_back_not_replayed_when_its_sets_are_the_same(runner, monkeypatch):
    first = chapter4.figure_4_5(runner)
    monkeypatch.setattr(chapter4, "replay_outer_iteration", lambda *a, **k: pytest.fail("replayed again"))
    pd.testing.assert_frame_equal(chapter4.figure_4_5(runner), first)


def test_figure_4_5_is_replayed_when_a_set_changed(runner, monkeypatch):
    chapter4.figure_4_5(runner)
    record = json.loads((runner.out_dir / "figure_4.5_record.json").read_text())
    record["sets"]["dsa"][2] = "another set"
    (runner.out_dir / "figure_4.5_record.json").write_text(json.dumps(record))
    replays = []
    real_replay = chapter4.replay_outer_iteration
    monkeypatch.setattr(chapter4, "replay_outer_iteration", lambda *a, **k: replays.append(1) or real_replay(*a, **k))
    chapter4.figure_4_5(runner)
    assert len(replays) == 2


def _hist(medians, epochs=450, k=(7, 13)):
    """A Figure 4.5 histogram whose every (method, side) has all its entries in the bin of ``medians[...]``."""
    edges = np.logspace(-10, 0, 61)
    rows = []
    for (method, side), value in medians.items():
        at = np.searchsorted(edges, value) - 1
        rows += [{"dataset": "mnist", "ipc": 10, "method": method, "outer_iteration": k[method == "dsa"],
                  "round": 9, "epochs_on_syn": epochs, "side": side, "bin_low": lo, "bin_high": hi,
                  "count": 1000 * (i == at)} for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))]
    return pd.DataFrame(rows, columns=chapter4.HISTOGRAM_COLUMNS)


VANISHING = {("dc", "real"): 1e-3, ("dc", "synthetic"): 1e-6, ("dsa", "real"): 1e-3, ("dsa", "synthetic"): 5e-4}
ALIKE = {key: 1e-3 for key in VANISHING}


def test_figure_4_5_summary_reads_medians_and_near_zero_shares_off_the_histogram():
    summary = chapter4.figure_4_5_summary(_hist(VANISHING)).set_index(["method", "side"])
    for key, value in VANISHING.items():
        assert value / 10 ** (1 / 6) < summary.loc[key, "median"] < value * 10 ** (1 / 6)  # within its bin
    assert summary.loc[("dc", "synthetic"), "ratio"] < 0.01 and summary.loc[("dc", "real"), "ratio"] == 1
    assert summary.loc[("dc", "synthetic"), "near_zero"] == 1 and summary.loc[("dsa", "synthetic"), "near_zero"] == 0


def test_figure_4_5_finding_holds_when_only_dc_synthetic_gradients_vanish():
    finding = chapter4.figure_4_5_finding(chapter4.figure_4_5_summary(_hist(VANISHING)))
    assert "k = 7 (DC) and k = 13 (DSA), after 450 epochs on S" in finding
    assert finding.endswith("holds at this budget.")


def test_figure_4_5_finding_does_not_hold_when_real_and_synthetic_gradients_are_alike():
    finding = chapter4.figure_4_5_finding(chapter4.figure_4_5_summary(_hist(ALIKE)))
    assert "does not hold at this budget: DC's synthetic gradients do not vanish." in finding


def test_figure_4_5_finding_notes_the_thesis_direction_when_dc_gradients_shrink_short_of_vanishing():
    shrinking = {**VANISHING, ("dc", "synthetic"): 2e-4}  # DC 0.2 x real, DSA 0.5 x real
    finding = chapter4.figure_4_5_finding(chapter4.figure_4_5_summary(_hist(shrinking)))
    assert "does not hold at this budget: DC's synthetic gradients do not vanish, although" in finding
    assert finding.endswith("smaller for DC than for DSA, the direction the thesis describes.")
    assert "although" not in chapter4.figure_4_5_finding(chapter4.figure_4_5_summary(_hist(ALIKE)))


def test_figure_4_5_finding_does_not_hold_when_dsa_synthetic_gradients_vanish_too():
    both = {**VANISHING, ("dsa", "synthetic"): 1e-6}
    assert chapter4.figure_4_5_finding(chapter4.figure_4_5_summary(_hist(both))).endswith(
        "does not hold at this budget: DSA's vanish too.")


def test_figure_4_5_finding_says_a_network_without_epochs_on_the_set_cannot_test_it():
    finding = chapter4.figure_4_5_finding(chapter4.figure_4_5_summary(_hist(VANISHING, epochs=0)))
    assert "cannot be tested at this budget" in finding and "holds" not in finding


def test_table_4_4_in_cpu_runs_the_seven_schemes_with_crop_on_cifar10_at_1_ipc():
    cells = chapter4.planned_4_4(get_profile("cpu"))
    assert {(c.dataset, c.ipc) for c in cells} == {("cifar10", 1)}
    assert sorted(c.setting.split(";")[0] for c in cells) == [f"scheme={s}" for s in ("A", "B", "C", "D", "E", "F",
                                                                                       "ours")]
    assert all(c.setting.endswith(";aug=crop") for c in cells)


def test_table_4_4_in_paper_runs_every_cell_of_the_thesiss_grid():
    from dc_lib.runs import listing

    cells = chapter4.planned_4_4(get_profile("paper"))
    assert len(cells) == 28 and all(listing.contains(cells, c) for c in listing.thesis_cells("4.4"))
