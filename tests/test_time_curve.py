"""Figure 5.4's timed runs: snapshots of one condensation against the wall time spent to reach them."""

import math

import pandas as pd
import pytest
import torch

from dc_lib.methods.distribution_matching import DMConfig, condense_dm
from dc_lib.runs.time_curve import snapshot_iterations, time_curve_rows, time_to_reach, timed_snapshots

SMALL = DMConfig(batch_real=6, iterations=4)


def test_snapshots_are_geometrically_spaced_and_end_at_k():
    assert snapshot_iterations(1000, 4) == [1, 10, 100, 1000]
    assert snapshot_iterations(3, 6) == [1, 2, 3]


@pytest.mark.parametrize("iterations, snapshots", [(0, 3), (10, 0)])
def test_a_run_without_iterations_or_snapshots_is_refused(iterations, snapshots):
    with pytest.raises(ValueError):
        snapshot_iterations(iterations, snapshots)


def test_the_last_snapshot_is_the_finished_set_and_the_clock_only_moves_forward(tiny_real):
    run = timed_snapshots(lambda watch: condense_dm(tiny_real, 1, SMALL, seed=3, progress=False, watch=watch),
                          [1, 2, 4], {"method": "dm"})
    finished = condense_dm(tiny_real, 1, SMALL, seed=3, progress=False)
    assert run.images.shape == (3, 10, 1, 28, 28) and run.iterations == [1, 2, 4]
    assert torch.equal(run.images[-1], finished.images)
    assert 0 < run.seconds[0] <= run.seconds[1] <= run.seconds[2]


def test_a_run_that_does_not_start_at_iteration_0_is_not_timed(tiny_real):
    def resumed(watch):
        watch.on_iteration(2, torch.zeros(1))

    with pytest.raises(RuntimeError, match="iteration 0"):
        timed_snapshots(resumed, [4], {})


def test_time_to_reach_is_the_first_time_a_curve_gets_there_and_nan_if_never():
    curve = pd.DataFrame({"seconds": [30.0, 10.0, 20.0], "mean": [80.0, 50.0, 75.0]})
    assert time_to_reach(curve, 70.0) == 20.0
    assert math.isnan(time_to_reach(curve, 90.0))


def test_the_curve_has_one_point_per_method_and_iteration_with_its_networks_and_seconds():
    base = {"dataset": "mnist", "ipc": 1, "profile": "smoke", "budget": "b"}
    rows = pd.DataFrame([{**base, "method": "dm", "setting": "iteration=5", "metric": "test_acc", "value": v}
                         for v in (60.0, 62.0)]
                        + [{**base, "method": "dm", "setting": "iteration=5", "metric": "seconds", "value": 1.5},
                           {**base, "method": "dm", "setting": "iteration=1", "metric": "test_acc", "value": 40.0},
                           {**base, "method": "dm", "setting": "iteration=1", "metric": "seconds", "value": 0.3}])
    curve = time_curve_rows(rows)
    assert curve.iteration.tolist() == [1, 5] and curve.seconds.tolist() == [0.3, 1.5]
    assert curve["mean"].tolist() == [40.0, 61.0] and curve.n.tolist() == [1, 2] and curve["std"].iloc[1] == 1.0


def _curve(dsa_points, dm_points):
    return pd.DataFrame([{"method": m, "iteration": i, "seconds": t, "mean": a, "std": 0.0, "n": 1}
                         for m, points in (("dsa", dsa_points), ("dm", dm_points)) for i, (t, a) in enumerate(points, 1)])


@pytest.mark.parametrize("dm_points, verdict", [([(1.0, 80.0)], "holds at this budget"),
                                                ([(50.0, 80.0)], "holds in direction"),
                                                ([(50.0, 60.0)], "does not hold here")])
def test_the_figure_5_4_verdict_compares_dms_time_to_reach_dsas_final_accuracy_with_the_thesis(dm_points, verdict):
    from dc_lib.thesis.chapter5 import figure_5_4_verdict

    text = figure_5_4_verdict(_curve([(100.0, 70.0), (1000.0, 75.0)], dm_points), "CPU")
    assert verdict in text
