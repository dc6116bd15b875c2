"""Figure 5.3's input assembly: real features and each set's images of the first classes, one network."""

import numpy as np
import torch
from torch import nn

from dc_lib.core.synset import SyntheticSet
from dc_lib.runs.tsne import TSNEInputs, coverage, embed_2d, tsne_inputs
from dc_lib.thesis.chapter5 import figure_5_3_verdict


class _Pixels(nn.Module):
    """An 'embedding' that is the mean pixel, so a feature says which image it came from."""

    def embed(self, x):
        return x.flatten(1).mean(1, keepdim=True)


def _set(real, method, ipc, value):
    images = torch.full((10 * ipc, 1, 28, 28), value)
    return SyntheticSet(images, torch.arange(10).repeat_interleave(ipc), "mnist", method, ipc, real.info.mean,
                        real.info.std)


def test_real_images_of_the_first_classes_come_first_then_each_sets_images_of_those_classes(tiny_real):
    sets = [_set(tiny_real, "dc", 2, 7.0), _set(tiny_real, "dm", 1, -7.0)]
    inputs = tsne_inputs(_Pixels(), tiny_real, sets, classes=3, real_per_class=4, seed=0)
    assert inputs.features.shape == (12 + 6 + 3, 1)
    assert inputs.sources.tolist() == ["real"] * 12 + ["dc"] * 6 + ["dm"] * 3
    assert inputs.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4 + [0, 0, 1, 1, 2, 2] + [0, 1, 2]
    assert np.allclose(inputs.features[12:18], 7.0) and np.allclose(inputs.features[18:], -7.0)


def test_the_real_images_are_drawn_from_their_class_and_repeat_with_the_seed(tiny_real):
    a = tsne_inputs(_Pixels(), tiny_real, [], classes=2, real_per_class=3, seed=5)
    b = tsne_inputs(_Pixels(), tiny_real, [], classes=2, real_per_class=3, seed=5)
    assert np.array_equal(a.features, b.features)
    class_1 = tiny_real.x_train[tiny_real.y_train == 1].flatten(1).mean(1).numpy()
    assert all(np.isclose(class_1, f).any() for f in a.features[3:, 0])


def test_the_map_gives_every_image_a_point_with_its_class_and_source(tiny_real):
    inputs = tsne_inputs(_Pixels(), tiny_real, [_set(tiny_real, "dsa", 1, 1.0)], classes=3, real_per_class=5)
    points = embed_2d(inputs, seed=0)
    assert list(points.columns) == ["x", "y", "label", "source"] and len(points) == 18
    assert (points.source == "dsa").sum() == 3 and np.isfinite(points[["x", "y"]].to_numpy()).all()


def _inputs(spread, gathered):
    """One class: real features at 0..9 on a line, a ``spread`` set and a ``gathered`` set."""
    features = np.array([[v] for v in [*range(10), *spread, *gathered]], dtype=np.float32)
    sources = np.array(["real"] * 10 + ["dm"] * len(spread) + ["dc"] * len(gathered))
    return TSNEInputs(features, np.zeros(len(features), dtype=int), sources)


def test_coverage_is_the_mean_distance_from_each_real_image_to_its_nearest_synthetic_one():
    covered = coverage(_inputs(spread=[2.0, 7.0], gathered=[0.0, 1.0]))
    by_source = dict(zip(covered.source, covered.distance))
    # real 0..9 to {2, 7}: 2,1,0,1,2,2,1,0,1,2 -> 1.2; to {0, 1}: 0,0,1,...,8 -> 3.6
    assert np.isclose(by_source["dm"], 1.2) and np.isclose(by_source["dc"], 3.6)
    assert covered.real.tolist() == [10, 10] and covered.synthetic.tolist() == [2, 2]


def test_the_figure_5_3_claim_holds_only_where_dms_set_covers_the_real_features_best():
    assert "**holds**" in figure_5_3_verdict(coverage(_inputs(spread=[2.0, 7.0], gathered=[0.0, 1.0])))
    assert "**does not hold**" in figure_5_3_verdict(coverage(_inputs(spread=[0.0, 1.0], gathered=[2.0, 7.0])))
