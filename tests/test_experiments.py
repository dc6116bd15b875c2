import pandas as pd
import pytest

from dc_lib.core.config import get_profile
import dc_lib.runs.experiments as experiments
from dc_lib.runs.experiments import Runner
from dc_lib.runs.results import Cell

RANDOM = Cell(5, "5.1", "mnist", 1, "random", "none", "convnet")
DM = Cell(5, "5.1", "mnist", 1, "dm")


def record_strategies(monkeypatch):
    """From now on, the augmentation strategy of every evaluation the runner makes is appended to the
    returned list (the evaluation still runs)."""
    evaluated, real_evaluate = [], experiments.evaluate_set

    def recording(images, labels, real, config, **kw):
        evaluated.append(config.strategy)
        return real_evaluate(images, labels, real, config, **kw)

    monkeypatch.setattr(experiments, "evaluate_set", recording)
    return evaluated


@pytest.fixture
def runner(tiny_root, tmp_path):
    profile = get_profile("smoke", test_limit=20, batch_real=4)
    return Runner(profile, tmp_path / "out", data_root=tiny_root, device="cpu")


def test_a_cell_writes_one_row_per_network_and_saves_its_set(runner):
    assert runner.run(DM) == "done"
    df = runner.rows("5.1")
    assert len(df) == runner.profile.num_nets and df.budget.iloc[0] == runner.profile.budget()
    assert runner.synset_path(DM, 0).is_file()


def test_rerunning_skips_rows_that_exist(runner, monkeypatch):
    runner.run(RANDOM)
    monkeypatch.setattr(experiments, "evaluate_set", lambda *a, **k: pytest.fail("evaluated again"))
    assert runner.run(RANDOM) == "done"


def test_the_same_experiment_in_another_table_reuses_its_rows(runner, monkeypatch):
    runner.run(DM)
    monkeypatch.setattr(experiments, "evaluate_set", lambda *a, **k: pytest.fail("evaluated again"))
    runner.run(Cell(5, "5.2", "mnist", 1, "dm", setting="norm=instancenorm"))
    assert runner.rows("5.2").value.tolist() == runner.rows("5.1").value.tolist()


def test_a_dataset_without_data_is_reported_not_raised(runner):
    assert runner.run(Cell(5, "5.1", "cifar100", 1, "dm")) == "data not available"
    assert "cifar100.npz" in runner.missing("cifar100")


def test_unknown_method_is_rejected(runner):
    with pytest.raises(ValueError, match="valid: dm, mmd, dc, dsa, dc_aug, dd, random"):
        runner.run(Cell(5, "5.1", "mnist", 1, "gan"))


def test_coreset_cells_select_real_images_with_a_cached_feature_network(runner):
    cell = Cell(3, "3.1", "mnist", 1, "herding")
    assert runner.run(cell) == "done"
    assert list((runner.out_dir / "features").glob("mnist_pool*.pt"))
    assert "feature_epochs=" in runner.rows("3.1").budget.iloc[0]


def test_chapter3_sets_on_mnist_train_with_the_classical_augmentation(runner):
    real = runner.data("mnist")
    assert runner.eval_protocol(Cell(3, "3.1", "mnist", 1, "dc"), real)[0] == "classic"
    assert runner.eval_protocol(Cell(4, "4.1", "mnist", 1, "dsa"), real)[0].startswith("color_crop")
    assert runner.eval_protocol(Cell(5, "5.1", "mnist", 1, "random", "none"), real)[0].startswith("color")


def test_table_5_1_lists_thesis_cells_outside_the_profile_with_the_command_to_run_them(runner):
    from dc_lib.thesis import chapter5

    summary, not_run = chapter5.table_5_1(runner)
    assert set(summary.method) == {"random", "dm", "mmd"} and set(summary.dataset) == {"mnist"}
    lines = chapter5.write_table(runner, "5.1", summary, not_run, "Table 5.1").splitlines()
    reason = {tuple(line.split(" | ")[:3]): line.split(" | ")[6] for line in lines if line.startswith("| ")}
    assert reason[("| mnist", "50", "dm")] == "not run in this profile (cost; `./reproduce.sh chapter5 --profile paper` runs it)"
    assert reason[("| mnist", "10", "dm")] == "not run in this profile (cost; `./reproduce.sh chapter5 --profile cpu` runs it)"
    assert reason[("| cifar10", "50", "dm")] == "data not available"
    assert reason[("| mnist", "10", "dd")].startswith("not run in any profile of this companion (the thesis quotes DD")


def test_an_ablation_row_with_default_networks_reuses_the_table_3_1_cell(runner, monkeypatch):
    runner.run(Cell(3, "3.1", "mnist", 1, "random", "none"))
    monkeypatch.setattr(experiments, "evaluate_set", lambda *a, **k: pytest.fail("evaluated again"))
    runner.run(Cell(3, "A.T2", "mnist", 1, "random", "none", setting="act_c=relu;act_t=relu"))
    assert runner.rows("A.T2").value.tolist() == runner.rows("3.1").value.tolist()


def test_an_ablation_row_with_another_evaluation_network_is_evaluated_with_it(runner, monkeypatch):
    runner.run(Cell(3, "3.1", "mnist", 1, "random", "none"))
    seen = {}

    def fake_evaluate(images, labels, real, config, **kwargs):
        seen.update(config.arch_overrides)
        return [50.0] * config.num_nets

    monkeypatch.setattr(experiments, "evaluate_set", fake_evaluate)
    runner.run(Cell(3, "A.T2", "mnist", 1, "random", "none", setting="act_c=relu;act_t=sigmoid"))
    assert seen == {"act": "sigmoid"}


def test_a_condensing_variant_is_saved_under_its_own_name(runner):
    base = runner.synset_path(Cell(3, "3.1", "mnist", 1, "dc"), 0)
    variant = runner.synset_path(Cell(3, "A.T4", "mnist", 1, "dc", setting="norm_c=batchnorm;norm_t=none"), 0)
    same = runner.synset_path(Cell(3, "A.T4", "mnist", 1, "dc", setting="norm_c=instancenorm;norm_t=none"), 0)
    assert variant != base and same == base and "norm_c-batchnorm" in variant.name


def test_another_chapters_rows_are_reused_and_marked_with_their_origin(runner, tiny_root, monkeypatch):
    runner.run(Cell(3, "3.1", "mnist", 1, "random", "none"))
    ch4 = Runner(runner.profile, runner.out_dir.parent / "ch4", data_root=tiny_root, device="cpu",
                 reuse_from=[runner.out_dir])
    monkeypatch.setattr(experiments, "evaluate_set", lambda *a, **k: pytest.fail("evaluated again"))
    ch4.run(Cell(4, "4.1", "mnist", 1, "random", "none"))
    rows = ch4.rows("4.1")
    assert rows.value.tolist() == runner.rows("3.1").value.tolist()
    assert set(rows.chapter) == {4} and "Table 3.1" in rows.note.iloc[0]


def test_an_eval_aug_setting_overrides_the_methods_own_evaluation_augmentation(runner):
    real = runner.data("mnist")
    protocol = {aug: runner.eval_protocol(Cell(4, "4.1", "mnist", 1, "dsa", setting=f"eval_aug={aug}"), real)[0]
                for aug in ("classic", "dsa", "none")}
    assert protocol["classic"] == "classic" and protocol["dsa"].startswith("color_crop") and protocol["none"] is None
    assert runner.eval_protocol(Cell(3, "3.1", "mnist", 1, "dc", setting="eval_aug=dsa"), real)[0].startswith("color")


def test_an_eval_aug_cell_shares_the_rows_of_the_same_evaluation_and_reruns_another(runner, monkeypatch):
    runner.run(Cell(4, "4.1", "mnist", 1, "random", "none"))
    evaluated = record_strategies(monkeypatch)
    runner.run(Cell(4, "4.1x", "mnist", 1, "random", "none", setting="eval_aug=classic"))
    assert evaluated == []
    assert runner.rows("4.1x").value.tolist() == runner.rows("4.1").value.tolist()
    runner.run(Cell(4, "4.1x", "mnist", 1, "random", "none", setting="eval_aug=dsa"))
    assert len(evaluated) == 1 and evaluated[0].startswith("color")


def test_an_eval_aug_cell_of_chapter_5_is_not_mistaken_for_the_standard_one(runner, monkeypatch):
    runner.run(RANDOM)
    evaluated = record_strategies(monkeypatch)
    runner.run(Cell(5, "5.1x", "mnist", 1, "random", "none", setting="eval_aug=none"))
    assert evaluated == [None] and ";eval_aug=none;" in runner.rows("5.1x").budget.iloc[0]


def test_chapter_plans_can_fix_the_evaluation_epochs(runner):
    from dataclasses import replace

    runner.profile = replace(runner.profile, chapter3=replace(runner.profile.chapter3, eval_epochs=7))
    real = runner.data("mnist")
    assert runner.eval_protocol(Cell(3, "3.1", "mnist", 1, "dc"), real)[1] == 7
    assert runner.eval_protocol(Cell(5, "5.1", "mnist", 1, "dm"), real)[1] == runner.profile.eval_epochs


def test_a_chapter_4_dsa_set_with_its_own_iterations_records_them_in_its_budget(runner):
    from dataclasses import replace

    runner.profile = replace(runner.profile, gm_iterations_multi=2,
                             chapter4=replace(runner.profile.chapter4, dsa_iterations_multi=3))
    dsa, dc = Cell(4, "4.1", "mnist", 10, "dsa"), Cell(4, "4.1", "mnist", 10, "dc")
    assert runner.gm_iterations(dsa) == 3 and runner.gm_iterations(dc) == 2
    assert ";K_gm=3;" in runner.budget(dsa, "crop", 4) and ";K_gm=2;" in runner.budget(dc, None, 4)


def test_table_4_5_turns_augmentation_off_or_to_one_transformation(runner):
    real = runner.data("mnist")
    assert runner.dsa_strategy(Cell(4, "4.5", "mnist", 10, "dsa", setting="aug=none"), real) is None
    assert runner.dsa_strategy(Cell(4, "4.5", "mnist", 10, "dsa", setting="aug=crop"), real) == "crop"
    assert runner.dsa_strategy(Cell(4, "4.5", "mnist", 10, "dsa", setting="aug=combination"), real).startswith("color")


def test_chapter_3_and_4_tables_state_the_gradient_matching_budget(runner):
    from dataclasses import replace

    from dc_lib.runs.tables import profile_line

    runner.profile = replace(runner.profile, gm_iterations=5, gm_iterations_multi=2,
                             chapter4=replace(runner.profile.chapter4, dsa_iterations_multi=3, eval_epochs=9))
    line = profile_line(runner, "", chapter=4)
    assert "DC/DSA K = 5 at 1 ipc and 2 above (3 for this chapter's DSA sets)" in line
    assert "evaluation epochs 9" in line
    assert "at 1 ipc and" not in profile_line(runner, "", chapter=5)


def test_a_table_states_the_longer_epochs_of_its_larger_evaluation_networks_only(runner):
    from dataclasses import replace

    from dc_lib.runs.tables import profile_line

    runner.profile = replace(runner.profile, chapter3=replace(runner.profile.chapter3, eval_epochs=200,
                                                              arch_epochs=(("lenet", 500), ("vgg11", 1000))))
    assert "evaluation epochs 200 (lenet 500: the larger networks" in profile_line(runner, "", 3, {"dc"}, {"lenet"})
    assert "evaluation epochs 200 (" not in profile_line(runner, "", 3, {"dc"}, {"convnet"})


def test_a_chapter_3_table_names_no_dm_budget_and_a_chapter_5_table_no_gradient_matching_one(runner):
    from dc_lib.runs.tables import profile_line

    chapter3 = profile_line(runner, "", chapter=3, methods={"dc", "herding"})
    chapter5 = profile_line(runner, "", chapter=5, methods={"dm", "random"})
    assert "DM K" not in chapter3 and "DC/DSA K = 1 at 1 ipc" in chapter3 and "coreset features" in chapter3
    assert "DC/DSA K" not in chapter5 and f"DM K = {runner.profile.dm_iterations} with" in chapter5


def test_a_table_names_only_the_budgets_of_the_methods_it_ran(runner):
    from dc_lib.runs.tables import profile_line

    assert "coreset features" not in profile_line(runner, "", chapter=3, methods={"dc"})
    assert "whole-set networks" in profile_line(runner, "", chapter=5, methods={"whole"})
    assert "no cell of this table was run" in profile_line(runner, "", chapter=4, methods=set())


def test_a_table_with_rows_on_the_lossy_cifar10_copy_says_so_in_its_header():
    from dc_lib.core.data import LOSSY_FILES
    from dc_lib.runs.tables import data_caveats

    lossy = pd.DataFrame({"note": ["", LOSSY_FILES["cifar10_jpeg.npz"]]})
    assert "cifar10_jpeg.npz: lossy JPEG copy of CIFAR-10" in data_caveats(lossy)
    assert data_caveats(pd.DataFrame({"note": ["", "copied from chapter 3"]})) == ""
