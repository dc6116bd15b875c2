"""Baseline draws, coreset networks and the whole-set bound of a profile (issue 19's budgets)."""

import dataclasses

import pytest
import torch

import dc_lib.runs.experiments as experiments
from dc_lib.core.config import get_profile
from dc_lib.methods.baselines import forgetting_counts, select_forgetting
from dc_lib.runs.experiments import Runner
from dc_lib.runs.results import Cell

RANDOM = Cell(3, "3.1", "mnist", 1, "random", "none", "convnet")
HERDING = Cell(3, "3.1", "mnist", 1, "herding")
DM = Cell(5, "5.1", "mnist", 1, "dm")


@pytest.fixture
def runner(tiny_root, tmp_path):
    profile = get_profile("smoke", test_limit=20, batch_real=4, baseline_draws=3, feature_nets=1,
                          coreset_fraction=0.5)
    return Runner(profile, tmp_path / "out", data_root=tiny_root, device="cpu")


def _images(x):
    return {tuple(i.flatten().tolist()) for i in x}


def test_a_random_cell_evaluates_every_draw_and_says_how_many(runner):
    runner.run(RANDOM)
    rows = runner.rows("3.1")
    assert sorted(rows.set_idx.unique()) == [0, 1, 2]
    assert rows.budget.str.endswith(";draws=3").all()


def test_a_condensed_cell_keeps_the_profiles_set_count(runner):
    runner.run(DM)
    assert runner.rows("5.1").set_idx.unique().tolist() == [0]


def test_coreset_draws_choose_from_different_halves_of_each_class(runner):
    sets = [runner.synset(dataclasses.replace(HERDING, ipc=2), d) for d in range(3)]
    assert len({tuple(sorted(_images(s.images))) for s in sets}) > 1
    real = runner.data("mnist")
    for s in sets:
        assert _images(s.images) <= _images(real.x_train)


def test_one_coreset_network_serves_every_draw(runner):
    for d in range(3):
        runner.synset(HERDING, d)
    assert [p.name for p in (runner.out_dir / "features").glob("*.pt")] == ["mnist_pool40_net0.pt"]


def test_the_draws_of_one_coreset_network_embed_its_pool_once(runner, monkeypatch):
    calls = []
    embed = experiments.embed_all
    monkeypatch.setattr(experiments, "embed_all", lambda net, x: calls.append(x.shape[0]) or embed(net, x))
    for method in ("herding", "kcenter"):
        for d in range(3):
            runner.synset(dataclasses.replace(HERDING, method=method), d)
    assert calls == [runner.data("mnist").x_train.shape[0]]


def test_a_coreset_chosen_from_the_shared_embedding_matches_one_that_embeds_its_own_half(runner):
    shared = runner.synset(HERDING, 1)
    real = runner.data("mnist")
    pool = experiments._class_pool(real, runner.profile.coreset_pool)
    keep = experiments._class_fraction(pool, runner.profile.coreset_fraction, shared.seed)
    half = experiments.RealData(pool.info, pool.x_train[keep], pool.y_train[keep], pool.x_test, pool.y_test,
                                pool.source)
    own = experiments.select_herding(half, 1, runner.coreset_network(real, 1)[0], shared.seed)
    assert torch.equal(own.images, shared.images)


def test_a_row_of_an_older_budget_is_redone(runner, monkeypatch):
    runner.run(RANDOM)
    older = Runner(dataclasses.replace(runner.profile, baseline_draws=None), runner.out_dir,
                   data_root=runner.data_root, device="cpu")
    evaluated = []
    real_evaluate = experiments.evaluate_set
    monkeypatch.setattr(experiments, "evaluate_set", lambda *a, **k: evaluated.append(1) or real_evaluate(*a, **k))
    older.run(RANDOM)
    redone = older.rows("3.1").query("set_idx == 0")
    assert evaluated == [1] and not redone.budget.str.contains("draws").any()


def test_the_whole_set_bound_trains_whole_nets_networks(runner):
    runner.profile = dataclasses.replace(runner.profile, num_nets=2, whole_nets=1, whole_epochs=0)
    runner.run(Cell(3, "3.1", "mnist", 0, "whole", "none", "convnet"))
    rows = runner.rows("3.1")
    assert len(rows) == 1 and rows.budget.iloc[0].endswith(";whole_nets=1")


def test_an_architecture_listed_in_arch_epochs_trains_that_long(runner):
    plan = dataclasses.replace(runner.profile.chapter3, eval_epochs=7, arch_epochs=(("lenet", 11),))
    runner.profile = dataclasses.replace(runner.profile, chapter3=plan)
    real = runner.data("mnist")
    assert runner.eval_protocol(Cell(3, "3.2", "mnist", 1, "dc", "convnet", "lenet"), real)[1] == 11
    assert runner.eval_protocol(Cell(3, "3.2", "mnist", 1, "dc", "convnet", "convnet"), real)[1] == 7


def test_a_never_learned_sample_counts_as_forgotten_at_every_presentation():
    correct = torch.tensor([[1, 0, 0], [0, 0, 1], [1, 0, 1]], dtype=torch.bool)  # sample 1: never right
    assert forgetting_counts(correct).tolist() == [1, 3, 0]


def test_forgetting_picks_never_learned_samples_first(tiny_real):
    history = torch.ones(4, tiny_real.x_train.shape[0], dtype=torch.bool)
    hard = [int(idx[5]) for idx in tiny_real.indices_class]
    history[:, hard] = False
    syn = select_forgetting(tiny_real, 1, forgetting_counts(history))
    assert torch.equal(syn.images, tiny_real.x_train[hard])


def test_each_draw_of_a_baseline_is_evaluated_by_draw_nets_networks_and_its_budget_says_so(tmp_path):
    from dataclasses import replace

    from dc_lib.core.config import get_profile
    from dc_lib.runs.experiments import Runner
    from dc_lib.runs.results import Cell

    runner = Runner(replace(get_profile("smoke"), baseline_draws=4, draw_nets=2, num_nets=3), tmp_path, device="cpu")
    random_cell = Cell(3, "3.1", "mnist", 1, "random", "none", "convnet", "")
    dc_cell = Cell(3, "3.1", "mnist", 1, "dc", "convnet", "convnet", "")
    assert (runner.num_sets(random_cell), runner.num_nets(random_cell)) == (4, 2)
    assert runner.num_nets(dc_cell) == 3
    assert runner.budget(random_cell, None, 10).endswith(";draws=4;draw_nets=2")
    assert "draw_nets" not in runner.budget(dc_cell, None, 10)


def test_a_saved_coreset_chosen_under_another_feature_budget_is_chosen_again(runner):
    first = runner.synset(HERDING, 0)
    assert runner.find_synset(HERDING, 0).config["coreset"] == runner.coreset_record()
    longer = runner.with_profile(dataclasses.replace(runner.profile, feature_epochs=runner.profile.feature_epochs + 1))
    assert longer.find_synset(HERDING, 0) is None
    assert first.config["coreset"]["feature_epochs"] == runner.profile.feature_epochs
