"""Tests for dc_lib.methods.gradient_probe: Figure 4.5's look inside DC/DSA's bi-level loop."""

import copy
from dataclasses import replace

import pytest
import torch

from dc_lib.core.seeding import make_generator
from dc_lib.core.synset import SyntheticSet
from dc_lib.methods.gradient_matching import GMConfig, condense_gm, gradient_magnitudes
from dc_lib.methods.watch import Watch
from dc_lib.methods.gradient_probe import MagnitudeCapture, last_round, replay_outer_iteration

# K = 1; T = 2 matches per outer iteration, varsigma_theta = 2 epochs on S between them.
SMALL = GMConfig(iterations=1, batch_real=4, loops=(2, 2))


def capture_at(real, k, t, seed=5):
    return MagnitudeCapture(real, 1, k, t, batch_real=4, strategy=None, generator=make_generator(seed))


def test_the_last_round_follows_the_thesis_schedule():
    assert last_round(GMConfig(), 10) == (9, 9 * 50)  # T = 10, varsigma_theta = 50
    assert last_round(GMConfig(), 1) == (0, 0)  # T = 1: no epochs on S before the only match
    assert last_round(SMALL, 1) == (1, 2)


def test_the_capture_measures_the_in_loop_network_at_the_requested_match(tiny_real):
    capture = capture_at(tiny_real, 1, 1)
    seen = {}

    def watch(k, t, net, images):
        if k == 1:
            seen[t] = (copy.deepcopy(net), images.clone())
        capture(k, t, net, images)

    condense_gm(tiny_real, 1, SMALL, seed=0, progress=False, watch=Watch(on_match=watch))
    (fresh, _), (trained, images) = seen[0], seen[1]
    expected = gradient_magnitudes(trained, tiny_real, images, 1, batch_real=4, strategy=None,
                                   generator=make_generator(5))
    assert torch.equal(capture.magnitudes["real"], expected["real"])
    assert torch.equal(capture.magnitudes["synthetic"], expected["synthetic"])
    # the network measured has had its epochs on S since it was drawn at the start of k
    assert any(not torch.equal(a, b) for a, b in zip(fresh.parameters(), trained.parameters()))


def test_the_capture_records_nothing_away_from_its_match(tiny_real):
    capture = capture_at(tiny_real, 2, 1)  # k = 2 is never reached with K = 1
    condense_gm(tiny_real, 1, SMALL, seed=0, progress=False, watch=Watch(on_match=capture))
    assert capture.magnitudes is None


def test_watching_a_condensation_leaves_its_set_unchanged(tiny_real):
    plain = condense_gm(tiny_real, 1, SMALL, seed=0, progress=False)
    capture = capture_at(tiny_real, 1, 1)
    watched = condense_gm(tiny_real, 1, SMALL, seed=0, progress=False, watch=Watch(on_match=capture))
    assert capture.magnitudes is not None
    assert torch.equal(plain.images, watched.images)


def test_the_replay_runs_outer_iteration_k_plus_1_from_the_saved_set(tiny_real):
    syn = condense_gm(tiny_real, 1, SMALL, seed=0, progress=False)
    seen = []
    k = replay_outer_iteration(tiny_real, syn, SMALL, seed=1,
                               on_match=lambda k, t, net, images: seen.append((k, t, images.clone())))
    assert k == 2
    assert [(k, t) for k, t, _ in seen] == [(2, 0), (2, 1)]
    assert torch.equal(seen[0][2], syn.images)  # its first match sees S_K as saved
    assert not torch.equal(seen[1][2], syn.images)  # and S is updated by the match, as in the loop


def test_the_replay_leaves_the_saved_set_unchanged(tiny_real):
    syn = condense_gm(tiny_real, 1, SMALL, seed=0, progress=False)
    before = syn.images.clone()
    replay_outer_iteration(tiny_real, syn, SMALL, seed=1, on_match=capture_at(tiny_real, 2, 1))
    assert torch.equal(syn.images, before) and syn.iteration == 1


def test_the_replay_refuses_a_config_of_another_method(tiny_real):
    images = tiny_real.x_train[::12][:10]
    syn = SyntheticSet(images, torch.arange(10), "mnist", "dc", 1, (0.1307,), (0.3081,), iteration=1)
    with pytest.raises(ValueError, match="'dc' set"):
        replay_outer_iteration(tiny_real, syn, replace(SMALL, dsa_strategy="crop"), seed=1,
                               on_match=capture_at(tiny_real, 2, 1))
