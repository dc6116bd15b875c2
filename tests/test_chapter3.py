import pandas as pd

from dc_lib.thesis.chapter3 import ors_rows


def _draws(values):
    return pd.DataFrame({"dataset": "mnist", "ipc": 1, "method": "random", "value": values, "note": ""})


def test_ors_keeps_the_best_draws_and_reports_all_draws_as_top1000():
    rows = ors_rows(_draws([float(v) for v in range(20)]), tops=(10, 100))
    top10 = rows[rows.method == "ors_top10"].value
    assert sorted(top10) == [float(v) for v in range(10, 20)]
    assert len(rows[rows.method == "ors_top1000"]) == 20 and "ors_top100" not in set(rows.method)


def test_table_3_1s_whole_set_row_runs_for_every_dataset_of_the_paper_and_cpu_profiles():
    from dc_lib.core.config import get_profile
    from dc_lib.thesis.chapter3 import planned_3_1

    assert {c.dataset for c in planned_3_1(get_profile("paper")) if c.method == "whole"} == {
        "mnist", "fashionmnist", "svhn", "cifar10"}
    assert {c.dataset for c in planned_3_1(get_profile("cpu")) if c.method == "whole"} == {"mnist", "fashionmnist"}


def test_a_t7s_own_distance_rows_run_without_new_condensation_the_other_distances_do_not():
    from dc_lib.core.config import get_profile
    from dc_lib.thesis.chapter3 import planned_ablation

    cells = planned_ablation(get_profile("cpu"), "A.T7")
    assert [(c.condense_arch, c.setting) for c in cells] == [("convnet", "distance=ours_layerwise_cosine")]
    assert len(planned_ablation(get_profile("paper"), "A.T7")) == 18


def test_optimal_random_selection_reports_a_top_k_only_below_the_number_of_draws():
    from dc_lib.core.config import get_profile
    from dc_lib.thesis.chapter3 import planned_a_t8

    assert {c.method for c in planned_a_t8(get_profile("cpu"))} == {"dc", "ors_top10", "ors_top1000"}
    assert {c.method for c in planned_a_t8(get_profile("paper"))} == {"dc", "ors_top10", "ors_top100", "ors_top1000"}
