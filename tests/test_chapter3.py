import pandas as pd

from dc_lib.thesis.chapter3 import ors_rows


def _draws(values):
    return pd.DataFrame({"dataset": "mnist", "ipc": 1, "method": "random", "value": values, "note": ""})


def test_ors_keeps_the_best_draws_and_reports_all_draws_as_top1000():
    rows = ors_rows(_draws([float(v) for v in range(20)]), tops=(10, 100))
    top10 = rows[rows.method == "ors_top10"].value
    assert sorted(top10) == [float(v) for v in range(10, 20)]
    assert len(rows[rows.method == "ors_top1000"]) == 20 and "ors_top100" not in set(rows.method)


def test_table_3_1s_whole_set_row_runs_for_every_dataset_of_the_paper_profile():
    from dc_lib.core.config import get_profile
    from dc_lib.thesis.chapter3 import planned_3_1

    assert {c.dataset for c in planned_3_1(get_profile("paper")) if c.method == "whole"} == {
        "mnist", "fashionmnist", "svhn", "cifar10"}


def test_the_cpu_plan_runs_the_whole_set_row_exactly_when_the_committed_cpu_table_has_it():
    from pathlib import Path

    import pandas as pd

    from dc_lib.core.config import get_profile
    from dc_lib.thesis.chapter3 import planned_3_1

    rows = pd.read_csv(Path(__file__).parent.parent / "results" / "chapter3" / "cpu" / "table_3.1_rows.csv")
    planned = {c.dataset for c in planned_3_1(get_profile("cpu")) if c.method == "whole"}
    assert planned == set(rows[rows.method == "whole"].dataset)


def test_a_t7_in_cpu_runs_every_distance_on_the_three_small_networks_and_no_deep_one():
    from dc_lib.core.config import get_profile
    from dc_lib.thesis.chapter3 import planned_ablation

    cells = planned_ablation(get_profile("cpu"), "A.T7")
    assert {(c.condense_arch, c.setting.split("=")[1]) for c in cells} == {
        (a, d) for a in ("mlp", "convnet", "lenet") for d in ("euclidean", "cosine", "ours_layerwise_cosine")}
    assert all(c.condense_arch == c.eval_arch for c in cells)
    assert len(planned_ablation(get_profile("paper"), "A.T7")) == 18


def test_without_distance_archs_a_t7_runs_only_its_own_distance_on_table_3_2s_sets():
    from dataclasses import replace

    from dc_lib.core.config import get_profile
    from dc_lib.thesis.chapter3 import planned_ablation

    cpu = get_profile("cpu")
    profile = replace(cpu, chapter3=replace(cpu.chapter3, distance_archs=()))
    cells = planned_ablation(profile, "A.T7")
    assert [(c.condense_arch, c.setting) for c in cells] == [("convnet", "distance=ours_layerwise_cosine")]


def test_optimal_random_selection_reports_a_top_k_only_below_the_number_of_draws():
    from dc_lib.core.config import get_profile
    from dc_lib.thesis.chapter3 import planned_a_t8

    assert {c.method for c in planned_a_t8(get_profile("cpu"))} == {"dc", "ors_top10", "ors_top1000"}
    assert {c.method for c in planned_a_t8(get_profile("paper"))} == {"dc", "ors_top10", "ors_top100", "ors_top1000"}


def test_table_a_t9_runs_cifar100_in_paper_only_and_lists_the_thesis_grid_as_data_not_available_here(tmp_path):
    from dc_lib.core.config import get_profile
    from dc_lib.runs import listing
    from dc_lib.runs.experiments import Runner
    from dc_lib.thesis.chapter3 import planned_a_t9

    paper = planned_a_t9(get_profile("paper"))
    assert {(c.ipc, c.method) for c in paper} == {(i, m) for i in (1, 10) for m in
                                                  ("random", "herding", "kcenter", "forgetting", "dc")} | {(0, "whole")}
    assert planned_a_t9(get_profile("cpu")) == []
    runner = Runner(get_profile("cpu"), tmp_path, data_root=tmp_path)  # an empty data root
    listed = dict(listing.complete(runner, "A.T9", 3, pd.DataFrame(), [], planned_a_t9))
    dc = next(c for c in listed if c.method == "dc" and c.ipc == 10)
    assert listed[dc] == "data not available"
    assert next(r for c, r in listed.items() if c.method == "ld").startswith("not implemented")


def test_figure_a_f3_draws_only_the_10_ipc_dc_sets_table_3_1_made(tmp_path, tiny_root):
    from dc_lib.core.config import get_profile
    from dc_lib.runs.experiments import Runner
    from dc_lib.thesis.chapter3 import _cell, figure_a_f3_sets

    profile = get_profile("smoke")
    runner = Runner(profile, tmp_path, data_root=tiny_root)
    assert figure_a_f3_sets(runner, ["mnist"]) == []  # nothing is made for the figure
    runner.synset(_cell("3.1", "mnist", 10, "random"))  # another method's set is not drawn either
    assert figure_a_f3_sets(runner, ["mnist"]) == []
    cell = _cell("3.1", "mnist", 10, "dc")
    real = runner.data("mnist")
    images = real.x_train[:100].clone()
    import torch

    from dc_lib.core.synset import SyntheticSet

    made = SyntheticSet(images, torch.arange(10).repeat_interleave(10), "mnist", "dc", 10, real.info.mean,
                        real.info.std, config={"batch_real": profile.gm_batch_real}, seed=runner.set_seed(cell, 0),
                        iteration=runner.gm_iterations(cell))
    made.save(runner.synset_path(cell, 0))
    [drawn] = figure_a_f3_sets(runner, ["mnist"])
    assert (drawn.method, drawn.ipc) == ("dc", 10) and torch.equal(drawn.images, images)
