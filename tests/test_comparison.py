"""A set against random real images of the same size (dc_lib.runs.comparison)."""

import torch

from dc_lib.methods.baselines import select_random
from dc_lib.runs.comparison import against_random, comparison_rows, random_draws
from dc_lib.runs.results import COLUMNS, ResultStore, summarise


def test_each_random_draw_is_its_own_subset(tiny_real):
    draws = random_draws(tiny_real, 2, 3, seed=0)
    assert len({tuple(d.images.flatten()[:50].tolist()) for d in draws}) == 3
    assert all(d.ipc == 2 and d.method == "random" for d in draws)


def test_random_draws_repeat_with_the_seed(tiny_real):
    a, b = random_draws(tiny_real, 2, 2, seed=5), random_draws(tiny_real, 2, 2, seed=5)
    assert all(torch.equal(x.images, y.images) for x, y in zip(a, b))


def test_against_random_gives_one_accuracy_per_network_for_both(tiny_real):
    syn = select_random(tiny_real, 1, seed=1)
    accs = against_random(syn, tiny_real, nets=2, epochs=1, strategy=None, progress=False)
    assert set(accs) == {"set", "random"} and len(accs["set"]) == 2 and len(accs["random"]) == 2
    assert all(0.0 <= a <= 100.0 for a in accs["set"] + accs["random"])


def test_comparison_rows_are_tidy_and_summarise_per_method(tiny_real, tmp_path):
    syn = select_random(tiny_real, 1, seed=1)
    syn.method = "dm"
    accs = {"set": [50.0, 60.0], "random": [40.0, 30.0]}
    rows = comparison_rows(syn, accs, table="quickstart", profile="smoke", budget="K=1", data_source="t")
    assert all(set(r) == set(COLUMNS) for r in rows)
    store = ResultStore(tmp_path / "results.csv")
    store.append(rows)
    summary = summarise(store.load()).set_index("method")
    assert summary.loc["dm", "mean"] == 55.0 and summary.loc["random", "mean"] == 35.0
    assert summary.loc["random", "sets"] == 2  # one set per draw
