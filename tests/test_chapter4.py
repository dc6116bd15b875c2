from dataclasses import replace

import pytest

from dc_lib.core.config import get_profile
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
