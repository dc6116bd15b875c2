"""Figure A.F2: DC's sensitivity to K (outer iterations) and T (matching rounds), as snapshots of one run per T."""

from dataclasses import replace

import pandas as pd
import pytest

from dc_lib.core.config import get_profile
from dc_lib.runs import time_curve
from dc_lib.runs.experiments import Runner
from dc_lib.runs.results import Cell
from dc_lib.runs.settings import parse_setting
from dc_lib.thesis import chapter3


def test_rounds_is_part_of_the_experiment_and_of_the_set_name():
    setting = parse_setting("rounds=5")
    assert setting.rounds == 5 and setting.canonical == "rounds=5" and "rounds-5" in setting.condense_tag
    assert parse_setting("").rounds is None


@pytest.mark.parametrize("value", ["0", "two"])
def test_rounds_must_be_a_positive_integer(value):
    with pytest.raises(ValueError, match="rounds must be a positive integer"):
        parse_setting(f"rounds={value}")


def test_rounds_sets_t_and_keeps_the_ipcs_network_epochs(tiny_real, tmp_path):
    runner = Runner(get_profile("smoke"), tmp_path, device="cpu")
    cell = Cell(3, "A.F2", "mnist", 10, "dc", "convnet", "convnet", "rounds=3")
    assert runner.method_config(cell, tiny_real).loops == (3, 50)
    assert runner.method_config(replace(cell, setting=""), tiny_real).loops is None


def test_each_t_is_one_run_whose_snapshots_are_evaluated_once(tiny_root, tmp_path, monkeypatch):
    smoke = get_profile("smoke", gm_iterations=2, gm_batch_real=2)
    profile = replace(smoke, chapter3=replace(smoke.chapter3, sensitivity=(("mnist",), 1, (1, 2), 2)))
    runner = Runner(profile, tmp_path / "out", data_root=tiny_root, device="cpu")
    curve = chapter3.figure_a_f2(runner)
    assert sorted(zip(curve.rounds, curve.iteration)) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert (curve.n == 1).all() and (curve.seconds > 0).all()
    assert len(list((tmp_path / "out" / "timed").glob("A.F2_mnist_ipc1_dc_rounds-*_K2.pt"))) == 2
    monkeypatch.setattr(time_curve, "evaluate_set", lambda *a, **k: pytest.fail("evaluated again"))
    monkeypatch.setattr(chapter3, "condense_gm", lambda *a, **k: pytest.fail("condensed again"))
    pd.testing.assert_frame_equal(chapter3.figure_a_f2(runner), curve)


def test_the_cpu_profile_says_why_it_has_no_sensitivity_study():
    cpu = get_profile("cpu")
    text = chapter3.figure_a_f2_reading(cpu, pd.DataFrame())
    assert "not run in this profile (cost)" in text and "K = 6 of the thesis's 1000" in text


def test_the_paper_profile_studies_the_thesis_datasets_at_10_ipc_up_to_k_1000():
    datasets, ipc, rounds, snapshots = get_profile("paper").chapter3.sensitivity
    assert datasets == ("mnist", "fashionmnist", "svhn", "cifar10") and ipc == 10 and 10 in rounds
    assert get_profile("paper").gm_iterations == 1000


def _curve(best: dict[str, tuple[int, int]]) -> pd.DataFrame:
    points = []
    for dataset, (rounds, k) in best.items():
        for t in (1, 10):
            for iteration in (1, 1000):
                points.append({"dataset": dataset, "rounds": t, "iteration": iteration,
                               "mean": 90.0 if (t, iteration) == (rounds, k) else 50.0})
    return pd.DataFrame(points)


@pytest.mark.parametrize("best, verdict", [
    ({"mnist": (10, 1000), "svhn": (10, 1000)}, "holds at this budget: T = 10, K = 1000"),
    ({"mnist": (10, 1000), "svhn": (1, 1000)}, "does not hold at this budget"),
])
def test_the_claim_holds_when_one_t_and_k_is_near_every_datasets_best(best, verdict):
    text = chapter3.figure_a_f2_reading(get_profile("paper"), _curve(best))
    assert verdict in text


def test_one_dataset_cannot_check_the_claim():
    assert "not checked, one dataset" in chapter3.figure_a_f2_reading(get_profile("paper"),
                                                                      _curve({"mnist": (10, 1000)}))


def test_a_t_and_k_within_a_point_of_each_best_counts_as_alike():
    curve = _curve({"mnist": (10, 1000), "svhn": (1, 1000)})
    curve.loc[(curve.dataset == "svhn") & (curve.rounds == 10) & (curve.iteration == 1000), "mean"] = 89.5
    text = chapter3.figure_a_f2_reading(get_profile("paper"), curve)
    assert "holds at this budget: T = 10, K = 1000 is within 0.5 points" in text
