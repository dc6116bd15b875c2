import math
from pathlib import Path

import pandas as pd
import pytest

from dc_lib.runs.results import (Cell, ResultStore, chapter_of, load_thesis, make_rows, markdown_table, summarise,
                                 thesis_origin, thesis_reference, thesis_text)

SHARED_THESIS = Path(__file__).resolve().parents[1].parent / "shared" / "paper" / "thesis_results.csv"
CELL = Cell(5, "5.1", "mnist", 1, "dm")


def rows(accs, set_idx=0, cell=CELL):
    return make_rows(cell, set_idx, 11, accs, profile="smoke", budget="K=1", data_source="test")


def test_one_row_per_network_accuracy(tmp_path):
    store = ResultStore(tmp_path / "r.csv")
    store.append(rows([80.0, 82.0]))
    df = store.load()
    assert len(df) == 2 and df.metric.unique().tolist() == ["test_acc"] and df.net_idx.tolist() == [0, 1]


def test_rewriting_an_experiment_replaces_its_rows_instead_of_duplicating(tmp_path):
    store = ResultStore(tmp_path / "r.csv")
    store.append(rows([80.0, 82.0]))
    store.append(rows([81.0, 83.0]))
    store.append(rows([70.0], set_idx=1))
    df = store.load()
    assert sorted(df.value.tolist()) == [70.0, 81.0, 83.0]
    assert store.has(CELL, 1, "smoke") and not store.has(CELL, 2, "smoke")


def test_summary_uses_the_population_std_and_the_thesis_number(tmp_path):
    store = ResultStore(tmp_path / "r.csv")
    store.append(rows([80.0, 84.0]))
    s = summarise(store.load()).iloc[0]
    assert (s["mean"], s["std"], s["n"]) == (82.0, 2.0, 2)
    assert (s.thesis_mean, s.thesis_std) == (89.7, 0.6) and s["diff"] == pytest.approx(82.0 - 89.7)


def test_thesis_reference_falls_back_to_another_table():
    mean, std, table = thesis_reference(load_thesis(), Cell(5, "5.1", "fashionmnist", 10, "random", "none"))
    assert (mean, std, table) == (73.8, 0.7, "3.1")


def test_cells_the_thesis_does_not_report_have_no_reference():
    mean, _, table = thesis_reference(load_thesis(), Cell(5, "5.1", "fashionmnist", 10, "dm"))
    assert math.isnan(mean) and table == ""


def test_markdown_puts_reproduced_and_thesis_numbers_side_by_side_and_lists_cells_not_run(tmp_path):
    store = ResultStore(tmp_path / "r.csv")
    store.append(rows([80.0, 84.0]))
    text = markdown_table(summarise(store.load()), [(Cell(5, "5.1", "cifar100", 1, "dm"), "data not available")])
    assert "| 82.0 ± 2.0 |" in text and "| 89.7 ± 0.6 |" in text and "-7.7" in text
    assert "cifar100 | 1 | dm" in text and "data not available" in text


@pytest.mark.skipif(not SHARED_THESIS.is_file(), reason="../shared not present")
def test_project_copy_of_the_thesis_numbers_matches_the_shared_one():
    ours = Path(__file__).resolve().parents[1] / "results" / "thesis" / "thesis_results.csv"
    assert ours.read_bytes() == SHARED_THESIS.read_bytes()


def test_thesis_reference_of_a_cross_architecture_cell_uses_its_condensing_network():
    from dc_lib.runs.results import Cell, load_thesis, thesis_reference

    thesis = load_thesis()
    assert thesis_reference(thesis, Cell(3, "3.2", "mnist", 1, "dc", "convnet", "mlp"))[0] == 69.6
    assert thesis_reference(thesis, Cell(3, "3.2", "mnist", 1, "dc", "mlp", "mlp"))[0] == 70.5


@pytest.mark.parametrize("table, chapter", [("3.1", 3), ("F3.3", 3), ("A.T8", 3), ("4.1_same_evaluation", 4),
                                            ("B.T1", 5), ("text:5.3.2", 5)])
def test_a_table_id_names_its_chapter(table, chapter):
    assert chapter_of(table) == chapter


def test_a_number_the_thesis_repeats_from_an_earlier_table_has_that_tables_origin():
    thesis = load_thesis()
    assert thesis_origin(thesis, Cell(5, "5.1", "mnist", 1, "random", "none")) == "3.1"
    assert thesis_origin(thesis, Cell(5, "5.1", "mnist", 1, "dsa")) == "4.1"
    assert thesis_origin(thesis, Cell(5, "5.1", "mnist", 1, "dm")) == "5.1"


def test_table_4_1s_coresets_come_from_table_3_1_even_where_it_prints_them_differently():
    # Herding at MNIST 50 ipc: 94.9 in Table 3.1, 94.8 in Table 4.1, which notes the copy.
    assert thesis_origin(load_thesis(), Cell(4, "4.1", "mnist", 50, "herding")) == "3.1"


def test_the_thesis_column_says_when_its_number_is_another_chapters_protocol():
    thesis = load_thesis()
    assert thesis_text(thesis, Cell(5, "5.1", "mnist", 1, "random", "none")) == (
        "64.9 ± 3.5 (Table 3.1's number, chapter 3's protocol)")
    assert thesis_text(thesis, Cell(5, "5.1", "mnist", 1, "dm")) == "89.7 ± 0.6"
    assert thesis_text(thesis, Cell(5, "5.2", "mnist", 10, "dm", setting="norm=instancenorm")) == "97.5 ± 0.1 (Table 5.1)"


def test_a_quoted_baseline_keeps_its_own_table_whatever_table_printed_it_first():
    assert thesis_text(load_thesis(), Cell(4, "4.1", "mnist", 10, "dd", "lenet", "lenet")) == "79.5 ± 8.1"


def test_tinyimagenets_random_rows_are_read_with_the_four_block_convnet():
    thesis = load_thesis()
    random = thesis[(thesis.table == "5.1") & (thesis.dataset == "tinyimagenet") & (thesis.method == "random")]
    assert set(random.eval_arch) == {"convnet_d4"}


def test_a_cell_not_run_shows_the_thesis_number_beside_its_reason():
    text = markdown_table(summarise(pd.DataFrame(columns=["metric"])), [(Cell(5, "5.1", "mnist", 1, "dm"), "why")])
    assert "| why | 0 | 89.7 ± 0.6 | - |" in text


@pytest.mark.skipif(not SHARED_THESIS.with_name("experiments.csv").is_file(), reason="../shared not present")
def test_project_copy_of_the_experiment_list_matches_the_shared_one():
    ours = Path(__file__).resolve().parents[1] / "results" / "thesis" / "experiments.csv"
    assert ours.read_bytes() == SHARED_THESIS.with_name("experiments.csv").read_bytes()
