"""Architecture search with proxy sets (dc_lib.runs.nas): the behaviours issue 16 pins."""

import pytest
import torch

from dc_lib.runs import nas
from dc_lib.runs.nas import (Candidate, rank_agreement, ranks, sample_space, search_space, spearman, top_k,
                             train_candidates, validation_split)
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


def test_a_proxy_of_other_classes_is_refused(tiny_real, tmp_path):
    split = validation_split(tiny_real, 20)
    with pytest.raises(ValueError, match="do not fit mnist"):
        train_candidates(sample_space(1), "random", split.x_train[:2], torch.tensor([0, 12]), split,
                         ResultStore(tmp_path / "r.csv"), table="5.5-nas", ipc=1, epochs=1, batch=10, strategy=None,
                         repeats=1, profile="smoke", budget="b", progress=False)


def test_a_rerun_trains_no_finished_candidate_again(tiny_real, tmp_path, monkeypatch):
    split = validation_split(tiny_real, 20)
    store = ResultStore(tmp_path / "r.csv")
    kw = dict(table="5.5-nas", ipc=1, epochs=1, batch=10, strategy=None, repeats=1, profile="smoke", budget="b",
              progress=False)
    cands = sample_space(2, seed=3)
    train_candidates(cands, "random", split.x_train[:10], split.y_train[:10], split, store, **kw)
    assert len(store.load()) == 4  # per candidate: one val_acc row and one seconds row
    monkeypatch.setattr(nas, "evaluate_set", lambda *a, **k: pytest.fail("trained again"))
    train_candidates(cands, "random", split.x_train[:10], split.y_train[:10], split, store, **kw)
