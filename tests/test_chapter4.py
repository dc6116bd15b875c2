from dataclasses import replace

import pytest

from dc_lib.core.config import get_profile
from dc_lib.runs.experiments import Runner
from dc_lib.thesis import chapter4


@pytest.fixture
def runner(tiny_root, tmp_path):
    return Runner(get_profile("smoke"), tmp_path / "out", data_root=tiny_root, device="cpu")


def test_table_4_2_lists_every_cifar100_cell_as_not_run_outside_the_paper_profile(runner):
    summary, not_run = chapter4.table_4_2(runner)
    reasons = {(c.ipc, c.method): why for c, why in not_run}
    assert summary.empty
    assert reasons[(1, "dsa")] == reasons[(10, "random")] == "not run in this profile (`./reproduce.sh chapter4 --profile paper`)"
    assert reasons[(0, "whole")].startswith("not run in this profile")
    assert reasons[(1, "ld")] == "not implemented (learned distillation baseline)"


def test_table_4_2_says_when_the_cifar100_data_are_missing(runner):
    runner.profile = replace(runner.profile, chapter4=replace(runner.profile.chapter4, cifar100_ipcs=(1,)))
    _, not_run = chapter4.table_4_2(runner)
    reasons = {(c.ipc, c.method): why for c, why in not_run}
    assert reasons[(1, "dc")] == reasons[(0, "whole")] == "data not available"
    assert reasons[(10, "dc")].startswith("not run in this profile")


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
