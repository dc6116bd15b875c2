"""Architecture search with proxy sets (dc_lib.runs.nas): the behaviours issue 16 pins."""

import pytest
import torch

from dc_lib.runs import nas
from dc_lib.core.speed import Speed
from dc_lib.runs.nas import (Candidate, Proxy, ProxyTraining, SearchRows, proxy_scores, rank_agreement, ranks,
                             sample_space, search_space, spearman, top_k, train_candidates, validation_split)
from dc_lib.runs.results import ResultStore


def test_the_space_has_720_distinct_candidates():
    space = search_space()
    assert len(space) == 720 and len({c.id for c in space}) == 720


def test_a_candidate_id_round_trips():
    c = Candidate(64, 2, "groupnorm", "leakyrelu", "maxpooling")
    assert Candidate.from_id(c.id) == c and c.id == "w64-d2-groupnorm-leakyrelu-maxpooling"


def test_an_unknown_architecture_option_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown width 48 in the NAS space; valid: 32, 64, 128, 256"):
        Candidate(48, 2, "instancenorm", "relu", "avgpooling")


def test_a_sample_is_seeded_and_distinct():
    a, b = sample_space(30, seed=1), sample_space(30, seed=1)
    assert a == b and len(set(a)) == 30 and a != sample_space(30, seed=2)


def test_a_sample_larger_than_the_space_is_refused():
    with pytest.raises(ValueError, match="721 candidates is larger than the space"):
        sample_space(721)


def test_ties_get_their_average_rank():
    assert ranks([10, 20, 20, 30]) == [1.0, 2.5, 2.5, 4.0]


def test_spearman_on_a_hand_computed_case_with_ties():
    # ranks x: 1, 2.5, 2.5, 4; y: 1, 2, 3, 4 -> Pearson of the ranks = 4.5 / sqrt(4.5 * 5)
    assert spearman([1, 2, 2, 3], [10, 20, 30, 40]) == pytest.approx(4.5 / (4.5 * 5) ** 0.5)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


def test_top_k_is_chosen_by_proxy_accuracy():
    assert top_k({"a": 50.0, "b": 70.0, "c": 60.0, "d": 70.0}, 3) == ["b", "d", "c"]


def test_rank_agreement_selects_the_proxy_best_and_scores_its_top_k():
    proxy = {"a": 1.0, "b": 4.0, "c": 3.0, "d": 2.0}
    truth = {"a": 10.0, "b": 30.0, "c": 40.0, "d": 20.0}
    r = rank_agreement(proxy, truth, 2)
    assert r["selected"] == "b" and r["k"] == 2 and r["spearman_topk"] == pytest.approx(-1.0)
    assert r["spearman_all"] == pytest.approx(0.8)


def test_the_validation_split_is_disjoint_from_the_training_and_test_images(tiny_real):
    split = validation_split(tiny_real, 20, seed=0)
    train = {tuple(x.flatten().tolist()) for x in split.x_train}
    val = {tuple(x.flatten().tolist()) for x in split.x_test}
    assert len(split.x_test) == 20 and len(split.x_train) == len(tiny_real.x_train) - 20
    assert not train & val
    assert not val & {tuple(x.flatten().tolist()) for x in tiny_real.x_test}


def _search(tiny_real, tmp_path, **training):
    split = validation_split(tiny_real, 20)
    store = ResultStore(tmp_path / "r.csv")
    kw = dict(epochs=1, batch=10, strategy=None, repeats=1) | training
    return split, store, ProxyTraining(**kw), SearchRows("5.5-nas", 1, "smoke", "b")


def test_a_proxy_of_other_classes_is_refused(tiny_real, tmp_path):
    split, store, training, rows = _search(tiny_real, tmp_path)
    proxy = Proxy("random", split.x_train[:2], torch.tensor([0, 12]), storage=2)
    with pytest.raises(ValueError, match="do not fit mnist"):
        train_candidates(sample_space(1), proxy, split, store, training, rows, progress=False)


def test_a_proxy_of_another_image_shape_is_refused(tiny_real, tmp_path):
    split, store, training, rows = _search(tiny_real, tmp_path)
    proxy = Proxy("random", torch.zeros(2, 3, 32, 32), torch.tensor([0, 1]), storage=2)
    with pytest.raises(ValueError, match=r"images \(3, 32, 32\) .* do not fit mnist \(\(1, 28, 28\)"):
        train_candidates(sample_space(1), proxy, split, store, training, rows, progress=False)


def test_a_rerun_trains_no_finished_candidate_again(tiny_real, tmp_path, monkeypatch):
    split, store, training, rows = _search(tiny_real, tmp_path)
    proxy = Proxy("random", split.x_train[:10], split.y_train[:10], storage=10)
    cands = sample_space(2, seed=3)
    train_candidates(cands, proxy, split, store, training, rows, progress=False)
    assert len(store.load()) == 4  # per candidate: one val_acc row and one seconds row
    monkeypatch.setattr(nas, "evaluate_set", lambda *a, **k: pytest.fail("trained again"))
    train_candidates(cands, proxy, split, store, training, rows, progress=False)


def test_candidates_side_by_side_score_as_one_after_another(tiny_real, tmp_path):
    split, _, training, rows = _search(tiny_real, tmp_path, epochs=3)
    proxy = Proxy("random", split.x_train[:20], split.y_train[:20], storage=20)
    cands = sample_space(4, seed=1, widths=(32,))
    scores = {}
    for engine in ("loop", "side_by_side"):
        store = ResultStore(tmp_path / f"{engine}.csv")
        train_candidates(cands, proxy, split, store, training, rows, progress=False, speed=Speed(engine=engine))
        scores[engine] = proxy_scores(store.load(), "random")
    assert scores["side_by_side"].keys() == {c.id for c in cands}
    # one thread sums in another order than two: a validation image may flip (20 images: 5 points each)
    assert scores["side_by_side"] == pytest.approx(scores["loop"], abs=5 + 1e-9)


def test_each_finished_candidate_is_recorded_before_the_next_one_ends(tiny_real, tmp_path, monkeypatch):
    split, store, training, rows = _search(tiny_real, tmp_path)
    proxy = Proxy("random", split.x_train[:10], split.y_train[:10], storage=10)
    trained = []

    def second_fails(*args, **kwargs):
        trained.append(1)
        if len(trained) == 2:
            raise KeyboardInterrupt
        return [50.0]

    monkeypatch.setattr(nas, "evaluate_set", second_fails)
    with pytest.raises(KeyboardInterrupt):
        train_candidates(sample_space(3, seed=0), proxy, split, store, training, rows, progress=False,
                         speed=Speed(engine="loop"))
    assert sorted(store.load().metric) == ["seconds", "val_acc"]


def test_a_narrower_space_keeps_every_other_option():
    space = search_space(widths=(32, 64))
    assert len(space) == 360 and {c.width for c in space} == {32, 64}
    assert set(sample_space(50, seed=0, widths=(32, 64))) <= set(space)


def test_an_unknown_width_of_a_narrower_space_is_named():
    with pytest.raises(ValueError, match="unknown width 48"):
        search_space(widths=(32, 48))


def test_a_candidate_recorded_under_another_budget_is_trained_again(tiny_real, tmp_path, monkeypatch):
    split, store, training, rows = _search(tiny_real, tmp_path)
    proxy = Proxy("random", split.x_train[:10], split.y_train[:10], storage=10)
    cands = sample_space(1, seed=3)
    train_candidates(cands, proxy, split, store, training, rows, progress=False)
    trained = []
    monkeypatch.setattr(nas, "evaluate_set", lambda *a, **k: trained.append(1) or [50.0])
    train_candidates(cands, proxy, split, store, training, SearchRows("5.5-nas", 1, "smoke", "other"), progress=False)
    assert trained == [1] and store.load().budget.unique().tolist() == ["other"]
