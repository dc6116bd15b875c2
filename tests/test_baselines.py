import pytest
import torch

from dc_lib.methods.baselines import (forgetting_counts, herding, k_center, select_forgetting, select_herding,
                                      select_k_center)
from dc_lib.core.models import get_network
from dc_lib.core.seeding import seed_everything

POINTS = torch.tensor([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [5.0, 5.0], [0.2, 0.1]])


def test_herding_picks_the_sample_nearest_the_class_mean_first():
    mean = POINTS.mean(0)
    assert herding(POINTS, 1).tolist() == [int((POINTS - mean).norm(dim=1).argmin())]


def test_herding_keeps_the_running_mean_close_to_the_class_mean():
    order = herding(POINTS, 3).tolist()
    assert len(set(order)) == 3
    assert (POINTS[order].mean(0) - POINTS.mean(0)).norm() < (POINTS[:3].mean(0) - POINTS.mean(0)).norm() + 1e-6


def test_k_center_starts_at_the_centre_then_takes_the_farthest_point():
    order = k_center(POINTS, 2).tolist()
    assert order[0] == int((POINTS - POINTS.mean(0)).norm(dim=1).argmin())
    assert order[1] == 3


def test_forgetting_counts_correct_then_wrong_transitions():
    correct = torch.tensor([[1, 0, 1, 0],
                            [0, 0, 1, 1],
                            [1, 1, 0, 1],
                            [0, 1, 0, 0]], dtype=torch.bool)
    assert forgetting_counts(correct).tolist() == [2, 0, 1, 1]


def test_forgetting_selection_keeps_the_most_forgotten_per_class(tiny_real):
    counts = torch.zeros(tiny_real.x_train.shape[0], dtype=torch.long)
    favourites = [int(idx[3]) for idx in tiny_real.indices_class]
    counts[favourites] = 5
    syn = select_forgetting(tiny_real, 1, counts)
    assert torch.equal(syn.images, tiny_real.x_train[favourites])


def test_herding_and_k_center_sets_are_balanced_real_images(tiny_real):
    seed_everything(0)
    net = get_network("convnet", 1, 10, (28, 28), width=8)
    for select in (select_herding, select_k_center):
        syn = select(tiny_real, 2, net)
        assert syn.images.shape == (20, 1, 28, 28) and syn.labels.bincount().tolist() == [2] * 10


def test_herding_on_given_features_ignores_the_network(tiny_real):
    features = torch.randn(tiny_real.x_train.shape[0], 5, generator=torch.Generator().manual_seed(0))
    syn = select_herding(tiny_real, 1, None, features=features)
    picks = [int(idx[herding(features[idx], 1)[0]]) for idx in tiny_real.indices_class]
    assert torch.equal(syn.images, tiny_real.x_train[picks])


def test_features_of_another_length_are_refused(tiny_real):
    with pytest.raises(ValueError, match="rows for"):
        select_k_center(tiny_real, 1, None, features=torch.zeros(3, 5))
