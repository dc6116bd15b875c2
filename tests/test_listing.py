"""Every thesis cell of a table is listed: run, or with the reason true for the profile that printed it."""

from dataclasses import replace

import pytest

from dc_lib.core.config import get_profile
from dc_lib.runs import listing
from dc_lib.runs.experiments import Runner
from dc_lib.runs.results import Cell, make_rows


@pytest.fixture
def runner(tiny_root, tmp_path):
    return Runner(get_profile("cpu"), tmp_path / "out", data_root=tiny_root, device="cpu")


def planned_mnist_1(profile):
    """A plan holding MNIST 1-ipc DC in the paper profile only."""
    return [Cell(3, "3.1", "mnist", 1, "dc")] if profile.name == "paper" else []


def test_a_tables_grid_is_every_test_accuracy_the_thesis_prints_for_it():
    cells = listing.thesis_cells("4.2")
    assert len(cells) == 10
    assert Cell(4, "4.2", "cifar100", 1, "ld", "alexnet", "alexnet") in cells
    assert Cell(4, "4.2", "cifar100", 0, "whole", "none", "convnet") in cells


def test_a_figures_grid_comes_from_experiments_csv():
    cells = listing.thesis_cells("F5.5")
    assert {(c.dataset, c.ipc, c.method) for c in cells} == {
        ("cifar10", i, m) for i in (100, 200, 500, 1000, 1250) for m in ("dm", "random")}
    assert {c.condense_arch for c in cells if c.method == "random"} == {"none"}


def test_a_figure_whose_ipcs_the_thesis_does_not_state_takes_the_authors_code_grid():
    cells = listing.thesis_cells("F3.3")
    assert sorted({c.ipc for c in cells}) == [1, 10, 20, 30, 40, 50]
    assert len({c.dataset for c in cells}) == 4


def test_the_ors_draw_count_does_not_make_another_cell():
    ours = Cell(3, "A.T8", "mnist", 1, "ors_top10", "none", "convnet", "ors=20")
    assert listing.same_cell(ours, Cell(3, "A.T8", "mnist", 1, "ors_top10", "none", "convnet", ""))
    assert not listing.same_cell(ours, Cell(3, "A.T8", "mnist", 1, "ors_top100", "none", "convnet", ""))


def test_a_method_this_companion_lacks_says_so(runner):
    why = listing.reason(runner, Cell(4, "4.1", "cifar100", 1, "ld", "alexnet", "alexnet"), 4)
    assert why.startswith("not implemented in this companion (LD")


def test_dd_outside_its_comparison_tables_is_the_thesis_quoting_its_paper(runner):
    why = listing.reason(runner, Cell(4, "4.1", "mnist", 10, "dd", "lenet", "lenet"), 4)
    assert why.startswith("not run in any profile of this companion (the thesis quotes DD's published number")
    assert "./reproduce.sh distillation" in why


def test_a_dd_comparison_cell_another_profile_runs_names_the_distillation_notebook(tiny_root, tmp_path):
    from dc_lib.thesis import distillation

    runner = Runner(get_profile("smoke"), tmp_path, data_root=tiny_root, device="cpu")  # smoke: no whole-set bound
    cell = Cell(3, "3.3", "mnist", 0, "whole", "none", "lenet")
    why = listing.reason(runner, cell, 3, distillation.PLANNED["3.3"], reproduce=distillation.REPRODUCE)
    assert why == "not run in this profile (cost; `./reproduce.sh distillation --profile cpu` runs it)"


def test_a_dataset_missing_here_reads_data_not_available_even_if_another_profile_plans_it(runner):
    cell = Cell(4, "4.2", "cifar100", 1, "dc")
    assert listing.reason(runner, cell, 4, lambda p: [cell] if p.name == "paper" else []) == "data not available"


def test_a_cell_another_profile_runs_names_that_profile_and_the_cost(runner):
    why = listing.reason(runner, Cell(3, "3.1", "mnist", 1, "dc"), 3, planned_mnist_1)
    assert why == "not run in this profile (cost; `./reproduce.sh chapter3 --profile paper` runs it)"


def test_a_cell_this_profile_plans_but_the_notebook_left_out_says_so(runner):
    why = listing.reason(runner, Cell(3, "3.1", "mnist", 1, "dc"), 3, lambda p: [Cell(3, "3.1", "mnist", 1, "dc")])
    assert why.startswith("not run in this run")


def test_a_cell_no_profile_runs_says_so_with_the_tables_why(runner):
    why = listing.reason(runner, Cell(3, "F3.3", "mnist", 20, "dc"), 3, lambda p: [], "first dataset only")
    assert why == "not run in any profile of this companion (first dataset only)"


def test_a_cell_the_thesis_repeats_from_another_table_names_that_table(runner):
    why = listing.reason(runner, Cell(4, "4.1", "mnist", 0, "whole", "none"), 4, lambda p: [])
    assert why == "not run for Table 4.1: the thesis repeats this cell from Table 3.1 (chapter 3's protocol)"


def test_the_same_experiment_recorded_under_another_table_is_shown_with_its_protocol(runner, tmp_path):
    chapter3 = Runner(runner.profile, tmp_path / "chapter3", data_root=runner.data_root, device="cpu")
    herding = Cell(3, "3.1", "mnist", 1, "herding")
    chapter3.store.append(make_rows(herding, 0, 1, [80.0, 82.0], profile="cpu", budget="b", data_source="t"))
    reader = Runner(runner.profile, tmp_path / "chapter5", data_root=runner.data_root, device="cpu",
                    reuse_from=[tmp_path / "chapter3"])
    why = listing.reason(reader, Cell(5, "5.1", "mnist", 1, "herding"), 5)
    assert why == "in Table 3.1 (chapter 3's protocol): 81.0 ± 1.0 (2 networks of 1 set)"


def test_rows_of_another_profile_are_not_shown(runner, tmp_path):
    herding = Cell(3, "3.1", "mnist", 1, "herding")
    runner.store.append(make_rows(herding, 0, 1, [80.0], profile="smoke", budget="b", data_source="t"))
    assert not listing.reason(runner, replace(herding, table="F3.3"), 3).startswith("in Table")


def test_complete_adds_only_the_cells_nothing_lists(runner):
    grid = listing.thesis_cells("4.2")
    listed = [(grid[0], "data not available")]
    out = listing.complete(runner, "4.2", 4, runner.rows("4.2"), listed)
    assert len(out) == len(grid) and out[0] == listed[0]
