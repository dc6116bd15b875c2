"""The thesis's searches in a profile (dc_lib.thesis.nas_runs): protocols, proxies, selection."""

import dataclasses

import pytest
import torch

from dc_lib.core.config import NAS
from dc_lib.methods.baselines import select_random
from dc_lib.runs.nas import proxy_steps, validation_split
from dc_lib.runs.results import ResultStore
from dc_lib.thesis import nas_runs

SMOKE = NAS["smoke"][0]


def _images(x):
    return {tuple(i.flatten().tolist()) for i in x}


def test_the_paper_profile_runs_the_three_thesis_searches_with_their_epochs():
    plans = {p.table: p for p in NAS["paper"]}
    assert {t: p.proxy_epochs for t, p in plans.items()} == {"3.4": 100, "4.6": 300, "5.5": 200}
    assert plans["5.5"].batch == 250 and plans["5.5"].augment and not plans["3.4"].augment
    assert {t: p.proxies for t, p in plans.items()} == {"3.4": ("random", "herding", "dc"), "4.6": ("random", "dsa"),
                                                         "5.5": ("random", "dsa", "dm")}
    assert all(nas_runs.is_thesis_protocol(p) for p in plans.values())


def test_the_cpu_search_is_labelled_a_substitute():
    assert not any(nas_runs.is_thesis_protocol(p) for p in NAS["cpu"])


@pytest.mark.parametrize("name", ["random", "herding"])
def test_proxy_sets_come_from_the_training_split_only(tiny_real, name):
    split = validation_split(tiny_real, 20)
    plan = dataclasses.replace(SMOKE, ipc=2, feature_epochs=0)
    proxy = nas_runs.make_proxy(split, name, plan, seed=0)
    assert _images(proxy.images) <= _images(split.x_train)
    assert not _images(proxy.images) & (_images(split.x_test) | _images(tiny_real.x_test))


@pytest.mark.parametrize("name, init, augmented", [("dc", "noise", False), ("dsa", "real", True)])
def test_a_gradient_matching_proxy_is_condensed_as_its_chapter_does(tiny_real, monkeypatch, name, init, augmented):
    seen = {}

    def fake_condense_gm(split, ipc, config, **kw):
        seen.update(split=split, ipc=ipc, config=config)
        return select_random(split, ipc)

    monkeypatch.setattr(nas_runs, "condense_gm", fake_condense_gm)
    split = validation_split(tiny_real, 20)
    nas_runs.make_proxy(split, name, dataclasses.replace(SMOKE, ipc=2, gm_iterations=7), seed=0)
    config = seen["config"]
    assert seen["split"] is split and seen["ipc"] == 2 and config.iterations == 7
    assert config.init == init and (config.dsa_strategy is not None) == augmented


def test_early_stopping_takes_as_many_steps_as_a_proxy_on_the_whole_split(tiny_real):
    split = validation_split(tiny_real, 20)  # 100 training images
    plan = dataclasses.replace(SMOKE, ipc=2, proxy_epochs=4, batch=25)
    proxy = nas_runs.make_proxy(split, "early_stopping", plan, seed=0)
    steps = proxy_steps(2 * 10, 4, 25)  # 5 steps of 25 images: more than one pass over 100 images
    assert proxy.images.shape[0] == steps * 25 and proxy.storage == 100
    assert _images(proxy.images) == _images(split.x_train)


def test_a_saved_proxy_set_is_reused_not_made_again(tiny_real, tmp_path, monkeypatch):
    split = validation_split(tiny_real, 20)
    plan = dataclasses.replace(SMOKE, ipc=1, dm_iterations=1)
    first = nas_runs.make_proxy(split, "dm", plan, seed=0, out_dir=tmp_path)
    monkeypatch.setattr(nas_runs, "condense_dm", lambda *a, **k: pytest.fail("condensed again"))
    again = nas_runs.make_proxy(split, "dm", plan, seed=0, out_dir=tmp_path)
    assert torch.equal(first.images, again.images) and again.seconds == first.seconds


def test_an_unknown_proxy_is_refused_with_the_valid_ones(tiny_real):
    with pytest.raises(ValueError, match="unknown proxy 'kip'; valid: random, herding, dc, dsa, dm"):
        nas_runs.make_proxy(validation_split(tiny_real, 20), "kip", SMOKE, seed=0)


def test_a_candidate_selected_by_two_proxies_is_retrained_once(tiny_real, tmp_path, monkeypatch):
    from dc_lib.runs.nas import Candidate, SearchRows

    store = ResultStore(tmp_path / "r.csv")
    rows = SearchRows("5.5-nas", 2, "smoke", "b")
    cand = Candidate(32, 1, "none", "relu", "avgpooling")
    plan = dataclasses.replace(SMOKE, whole_epochs=0)
    first = nas_runs.selected_test(tiny_real, tiny_real, cand, plan, store, rows, None)
    monkeypatch.setattr(nas_runs, "evaluate_set", lambda *a, **k: pytest.fail("retrained"))
    assert nas_runs.selected_test(tiny_real, tiny_real, cand, plan, store, rows, None) == first


def _summary(**spearman):
    import pandas as pd

    return pd.DataFrame([{"proxy": p, "spearman_topk": v, "spearman_all": v, "time_min": 1.0 if p != "whole" else 50.0}
                         for p, v in spearman.items()])


def test_a_claim_that_the_rows_contradict_is_stated_as_not_holding():
    lines = nas_runs.claims(_summary(random=0.5, dm=0.2, early_stopping=0.1, whole=1.0))
    assert "dm ranks better than random over the proxy's top-k: **does not hold** at this budget " \
           "(Spearman 0.20 vs 0.50)." in lines
    assert any(line.startswith("dm ranks better than early stopping over all candidates: **holds**") for line in lines)


def test_the_cost_claim_gives_the_measured_ratio():
    lines = nas_runs.claims(_summary(dm=0.5, whole=1.0))
    assert any("**holds** at this budget (1.0 vs 50.0 min, 2 %)" in line for line in lines)


def test_a_reduced_search_says_how_it_differs_from_the_thesis():
    text = nas_runs.differences(NAS["cpu"][0])
    assert "fashionmnist instead of CIFAR-10" in text and "only the widths 32/64" in text


def test_the_ground_truth_step_ratio_counts_whole_set_steps_per_proxy_step():
    table_5_5 = next(p for p in NAS["paper"] if p.table == "5.5")
    # 100 epochs x 45,000 / 250 steps on the whole split; 201 passes x 2 batches of the 500-image proxy
    assert nas_runs.step_ratio(table_5_5) == pytest.approx(100 * 180 / (201 * 2))
    reduced = dataclasses.replace(table_5_5, dataset="fashionmnist", ipc=10, train_per_class=2000, whole_epochs=5)
    assert nas_runs.step_ratio(reduced) == pytest.approx(5 * 72 / 201)


def test_a_reduced_search_states_how_far_its_ground_truth_sees_beyond_early_stopping():
    assert "a ground truth of 1.8x the SGD steps" in nas_runs.differences(NAS["cpu"][0])


def test_a_larger_sample_or_another_top_k_keeps_the_rows_budget():
    plan = NAS["cpu"][0]
    same = dataclasses.replace(plan, candidates=plan.candidates + 16, top=0.05)
    assert same.training_budget() == plan.training_budget() and same.budget() != plan.budget()
    assert dataclasses.replace(plan, proxy_epochs=50).training_budget() != plan.training_budget()
