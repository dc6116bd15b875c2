from dataclasses import replace

import pytest
import torch

from dc_lib.methods.gradient_matching import (GMConfig, condense_gm, freeze_batchnorm_on_real, gradient_distance,
                                              layer_distance, loop_schedule)
from dc_lib.methods.watch import Watch
from dc_lib.core.models import get_network
from dc_lib.core.seeding import make_generator, seed_everything
from dc_lib.core.speed import Speed

SMALL = GMConfig(batch_real=4, arch="convnet", loops=(2, 1))


def small(**changes):
    """SMALL with ``changes`` (e.g. the number of iterations)."""
    return replace(SMALL, **changes)


def grads(seed, shapes=((4, 3, 3, 3), (4,), (10, 8))):
    gen = make_generator(seed)
    return [torch.randn(s, generator=gen) for s in shapes]


def test_distance_is_zero_for_identical_gradients():
    g = grads(0)
    for metric in ("ours", "mse", "cos"):
        assert gradient_distance(g, g, metric).item() == pytest.approx(0, abs=1e-5)


def test_distance_is_positive_for_different_gradients():
    for metric in ("ours", "mse", "cos"):
        assert gradient_distance(grads(0), grads(1), metric).item() > 0


def test_per_output_node_grouping_matches_a_hand_computation():
    # A 2-output, 1-input, 1x2 "conv": rows are (1, 0) vs (1, 1) and (0, 1) vs (0, 2).
    real = torch.tensor([[[[1.0, 0.0]]], [[[0.0, 1.0]]]])
    syn = torch.tensor([[[[1.0, 1.0]]], [[[0.0, 2.0]]]])
    expected = (1 - 1 / 2 ** 0.5) + (1 - 1.0)
    assert layer_distance(real, syn).item() == pytest.approx(expected, abs=1e-5)


def test_biases_and_norm_vectors_do_not_enter_the_distance():
    assert layer_distance(torch.ones(5), -torch.ones(5)).item() == 0


def test_unknown_metric_is_rejected():
    with pytest.raises(ValueError, match="valid: ours, mse, cos"):
        gradient_distance(grads(0), grads(1), "l1")


def test_loop_schedule_follows_the_thesis():
    assert [loop_schedule(i) for i in (1, 10, 20, 50)] == [(1, 1), (10, 50), (20, 25), (50, 10)]


def test_synthetic_images_move_when_the_gradients_differ(tiny_real):
    start = condense_gm(tiny_real, 1, small(iterations=0), progress=False)
    after = condense_gm(tiny_real, 1, small(iterations=1), progress=False)
    assert (after.images - start.images).abs().sum() > 0


def test_synthetic_images_stay_put_when_the_gradients_already_match(tiny_real):
    # One image per class, initialised from that image: the real and synthetic gradients are equal.
    # Squared distance, because the cosine's eps leaves a tiny pull on near-zero gradient rows.
    first = torch.stack([idx[0] for idx in tiny_real.indices_class])
    tiny_real.x_train, tiny_real.y_train = tiny_real.x_train[first], torch.arange(10)
    tiny_real.indices_class = [torch.tensor([c]) for c in range(10)]
    kept = condense_gm(tiny_real, 1, small(iterations=1, init="real", metric="mse", loops=(1, 1)), progress=False)
    assert torch.allclose(kept.images, tiny_real.x_train, atol=1e-6)


def test_dsa_is_the_same_algorithm_with_siamese_augmentation(tiny_real):
    dc = condense_gm(tiny_real, 1, small(iterations=1, init="real"), progress=False)
    dsa = condense_gm(tiny_real, 1, small(iterations=1, init="real", dsa_strategy="crop_scale"), progress=False)
    assert (dc.method, dsa.method) == ("dc", "dsa") and not torch.equal(dc.images, dsa.images)


def test_same_seed_gives_bit_identical_images(tiny_real):
    a = condense_gm(tiny_real, 2, small(iterations=1, dsa_strategy="color_crop"), seed=3, progress=False)
    b = condense_gm(tiny_real, 2, small(iterations=1, dsa_strategy="color_crop"), seed=3, progress=False)
    assert torch.equal(a.images, b.images)


def test_batchnorm_statistics_stay_frozen_during_matching(tiny_real):
    seed_everything(0)
    net = get_network("convnet_bn", 1, 10, (28, 28))
    freeze_batchnorm_on_real(net, tiny_real, make_generator(0))
    bn = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    before = [m.running_mean.clone() for m in bn]
    assert all(not m.training for m in bn) and before[0].abs().sum() > 0
    net(torch.randn(3, 1, 28, 28) * 5 + 3)
    assert all(torch.equal(m.running_mean, b) for m, b in zip(bn, before))


def test_the_condensing_network_takes_the_ablation_overrides(tiny_real, built_networks):
    import dc_lib.methods.gradient_matching as gm

    built = built_networks(gm)
    config = GMConfig(iterations=1, batch_real=4, arch_overrides={"act": "sigmoid"})
    syn = condense_gm(tiny_real, 1, config, progress=False)
    assert built == [{"act": "sigmoid"}] and syn.config["arch_overrides"] == {"act": "sigmoid"}


def test_unknown_augmentation_sides_are_rejected(tiny_real):
    with pytest.raises(ValueError, match="siamese, independent, real, syn"):
        condense_gm(tiny_real, 1, GMConfig(iterations=1, batch_real=4, dsa_strategy="crop", sides="both"),
                    progress=False)


def test_augmenting_one_side_only_is_labelled_dc_aug_and_differs_from_dsa(tiny_real):
    config = GMConfig(iterations=1, batch_real=4, dsa_strategy="crop", init="real")
    siamese = condense_gm(tiny_real, 1, config, seed=3, progress=False)
    real_only = condense_gm(tiny_real, 1, replace(config, sides="real"), seed=3, progress=False)
    assert (siamese.method, real_only.method) == ("dsa", "dc_aug")
    assert not torch.equal(siamese.images, real_only.images)


def test_on_iteration_sees_the_start_and_every_outer_iteration(tiny_real):
    seen = []
    condense_gm(tiny_real, 1, GMConfig(iterations=3, batch_real=4), progress=False,
                watch=Watch(on_iteration=lambda k, images: seen.append((k, tuple(images.shape)))))
    assert seen == [(k, (10, 1, 28, 28)) for k in range(4)]


def test_gradient_magnitudes_cover_every_class_on_both_sides(tiny_real):
    from dc_lib.methods.gradient_matching import gradient_magnitudes

    seed_everything(0)
    net = get_network("convnet", 1, 10, (28, 28))
    syn = tiny_real.x_train[::12][:10]
    mags = gradient_magnitudes(net, tiny_real, syn, 1, batch_real=4, strategy=None, generator=make_generator(0))
    weights = sum(p.numel() for p in net.parameters() if p.dim() > 1)
    assert mags["real"].shape == mags["synthetic"].shape == (10 * weights,)
    assert (mags["real"] >= 0).all()


@pytest.mark.parametrize("strategy", [None, "color_crop"])
def test_chunked_real_side_and_micro_batches_give_the_plain_paths_images(float64, strategy):
    # In float64 the two paths agree to rounding (1e-16). In float32 they agree to 1e-7 after one
    # match, but the cosine distance's small-norm rows can amplify that to 1e-3 by the next match.
    config = GMConfig(iterations=2, dsa_strategy=strategy, batch_real=12, loops=(2, 3))
    plain = condense_gm(float64, 2, config, seed=4, progress=False, speed=Speed(real_chunk=None, micro_batch=None))
    fast = condense_gm(float64, 2, config, seed=4, progress=False, speed=Speed(real_chunk=5, micro_batch=3))
    torch.testing.assert_close(fast.images, plain.images, atol=1e-10, rtol=1e-8)


def test_micro_batches_are_skipped_for_batchnorm_condensing_networks(tiny_real):
    # BN layers train on S with batch statistics, which micro-batches would change: same images as the plain path.
    config = GMConfig(iterations=1, batch_real=4, arch="convnet_bn", loops=(2, 2))
    plain = condense_gm(tiny_real, 2, config, seed=4, progress=False, speed=Speed(real_chunk=None, micro_batch=None))
    fast = condense_gm(tiny_real, 2, config, seed=4, progress=False, speed=Speed(real_chunk=None, micro_batch=3))
    assert torch.equal(fast.images, plain.images)


def test_on_match_sees_every_match_of_every_outer_iteration(tiny_real):
    seen = []
    condense_gm(tiny_real, 1, small(iterations=2), progress=False,
                watch=Watch(on_match=lambda k, t, net, images: seen.append((k, t, tuple(images.shape)))))
    assert seen == [(k, t, (10, 1, 28, 28)) for k in (1, 2) for t in (0, 1)]
