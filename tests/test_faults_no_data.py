"""A run without some dataset's data (issue 13): tables say "data not available", figures are skipped
with a line saying why, summary CSVs keep their header. Before, an empty data root ended the chapter 5
notebook in matplotlib's "Number of columns must be a positive integer, not 0"."""

import pandas as pd
import pytest

from dc_lib.core.config import get_profile
from dc_lib.runs import listing
from dc_lib.runs.experiments import Runner
from dc_lib.thesis import chapter4, chapter5
from dc_lib.runs.plotting import (plot_accuracy_vs_ipc, plot_evolution, plot_gradient_histograms, plot_synsets,
                                  save_figure)
from dc_lib.runs.results import SUMMARY_COLUMNS, summarise


@pytest.fixture
def empty_runner(tmp_path):
    (tmp_path / "empty").mkdir()
    return Runner(get_profile("smoke"), tmp_path / "out", data_root=tmp_path / "empty", device="cpu")


def test_plot_synsets_without_sets_skips_and_says_why(capsys):
    assert plot_synsets([]) is None
    assert "skipped: no synthetic sets to draw" in capsys.readouterr().out


@pytest.mark.parametrize("summary", [pd.DataFrame(), pd.DataFrame(columns=SUMMARY_COLUMNS)])
def test_plot_accuracy_vs_ipc_without_results_skips_and_says_why(summary, capsys):
    assert plot_accuracy_vs_ipc(summary, title="Figure 5.5") is None
    assert "Figure 5.5 skipped: no results to plot" in capsys.readouterr().out


def test_save_figure_of_nothing_writes_nothing_and_removes_a_stale_figure(tmp_path, capsys):
    stale = tmp_path / "figure_5.2.png"
    stale.write_bytes(b"old run")
    assert save_figure(None, stale) is None and not stale.exists()
    assert "removed the earlier run's figure" in capsys.readouterr().out
    assert save_figure(None, tmp_path / "never.png") is None and not (tmp_path / "never.png").exists()


def test_an_empty_summary_keeps_its_columns_so_its_csv_keeps_the_header():
    empty = summarise(pd.DataFrame(columns=["metric"]))
    assert list(empty.columns) == SUMMARY_COLUMNS and not len(empty)


def test_a_table_without_data_lists_every_cell_as_data_not_available(empty_runner, capsys):
    summary, not_run = chapter5.table_5_1(empty_runner)
    assert "data not available" in capsys.readouterr().out  # said once, with where it looked
    assert any("data not available" in reason for _, reason in not_run)
    # Figure 5.5's cell passes no not-run list of its own; the Runner remembers its cells.
    chapter5.write_table(empty_runner, "F5.5", chapter5.figure_5_5(empty_runner), [], "Figure 5.5")
    table = (empty_runner.out_dir / "table_F5.5.md").read_text()
    # The profile's points and the thesis's own (CIFAR10, absent here too).
    assert table.count("data not available") == (2 * len(empty_runner.profile.chapter5.figure_5_5[1])
                                                  + len(listing.thesis_cells("F5.5")))
    assert (empty_runner.out_dir / "table_F5.5_summary.csv").read_text().startswith("table,dataset,ipc")
    assert chapter5.figure_5_2_sets(empty_runner) == []


def test_the_missing_dataset_is_reported_once_with_where_it_looked(empty_runner, capsys):
    empty_runner.data("mnist")
    empty_runner.data("mnist")
    out = capsys.readouterr().out
    assert out.count("mnist: data not available") == 1 and str(empty_runner.data_root) in out


def test_chapter_4_figures_without_data_are_skipped_saying_why(empty_runner, capsys):
    hist = chapter4.figure_4_5(empty_runner)
    assert not len(hist) and (empty_runner.out_dir / "figure_4.5_histogram.csv").read_text().startswith("dataset,")
    assert plot_gradient_histograms(hist, "Figure 4.5") is None
    frames, iterations = chapter4.figure_4_6(empty_runner)
    info = empty_runner.info(empty_runner.profile.chapter4.evolution[0])  # known without the data
    assert plot_evolution(frames, iterations, info.mean, info.std) is None
    out = capsys.readouterr().out
    assert "Figure 4.5 skipped: no gradient histogram" in out and "skipped: no snapshots to draw" in out
