import pytest
import torch

from dc_lib.core.augment import (OPS, AugParams, apply_params, apply_params_grouped, augment,
                                 parse_strategy, sample_params)
from dc_lib.core.seeding import make_generator


def batch(n=4, c=3, size=16, seed=0):
    return torch.randn(n, c, size, size, generator=make_generator(seed))


@pytest.mark.parametrize("op", OPS)
def test_every_op_keeps_the_shape_and_passes_gradients_to_the_input(op):
    x = batch().requires_grad_(True)
    params = sample_params(op, 4, make_generator(0))
    y = apply_params(x, params)
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("op", OPS)
def test_siamese_params_transform_real_and_synthetic_batches_identically(op):
    img = batch(n=1)
    real, syn = img.repeat(5, 1, 1, 1), img.repeat(2, 1, 1, 1)
    shared = sample_params(op, 1, make_generator(3))
    out_real, out_syn = apply_params(real, shared), apply_params(syn, shared)
    assert torch.equal(out_real[0], out_syn[0]) and torch.equal(out_real[0], out_real[4])


def test_independent_params_differ_between_images():
    img = batch(n=1).repeat(8, 1, 1, 1)
    out = apply_params(img, AugParams("rotate", torch.rand(8, 1, generator=make_generator(0))))
    assert not torch.equal(out[0], out[1])


def test_sampling_repeats_with_the_same_seed_and_not_with_another():
    x = batch()
    s = "color_crop_cutout_flip_scale_rotate"
    assert torch.equal(augment(x, s, make_generator(7)), augment(x, s, make_generator(7)))
    outs = {augment(x, s, make_generator(k)).sum().item() for k in range(5)}
    assert len(outs) > 1


def test_one_op_is_drawn_per_call_from_the_strategy():
    ops = {sample_params("crop_flip", 1, make_generator(k)).op for k in range(20)}
    assert ops == {"crop", "flip"}


def test_none_strategy_is_the_identity():
    x = batch()
    assert sample_params("none", 4, make_generator(0)) is None
    assert torch.equal(augment(x, None, make_generator(0)), x)


def test_unknown_op_is_rejected_with_the_valid_ops():
    with pytest.raises(ValueError, match="Valid ops: color, crop"):
        parse_strategy("crop_blur")


def test_flip_mirrors_the_width_axis():
    x = batch(n=1)
    assert torch.equal(apply_params(x, AugParams("flip", torch.zeros(1, 1))), x.flip(3))
    assert torch.equal(apply_params(x, AugParams("flip", torch.ones(1, 1) * 0.9)), x)


def test_crop_translates_with_zero_fill():
    x = torch.arange(64.0).view(1, 1, 8, 8)
    # u = 1 - eps maps to the largest shift (+1 pixel for size 8): content moves up/left by one.
    out = apply_params(x, AugParams("crop", torch.full((1, 2), 0.999)))
    assert torch.equal(out[0, 0, :7, :7], x[0, 0, 1:, 1:])
    assert out[0, 0, 7].abs().sum() == 0 and out[0, 0, :, 7].abs().sum() == 0


def test_cutout_zeroes_a_square_of_half_the_side():
    x = torch.ones(1, 1, 8, 8)
    out = apply_params(x, AugParams("cutout", torch.full((1, 2), 0.5)))
    assert (out == 0).sum() == 16


def test_scale_and_rotate_at_the_neutral_value_leave_the_image_unchanged():
    x = batch(n=2)
    neutral_rotate = AugParams("rotate", torch.full((1, 1), 0.5))
    assert torch.allclose(apply_params(x, neutral_rotate), x, atol=1e-5)
    u = torch.full((1, 2), (1 - 1 / 1.2) / (1.2 - 1 / 1.2))  # scale factor exactly 1
    assert torch.allclose(apply_params(x, AugParams("scale", u)), x, atol=1e-5)


def test_classic_mnist_augmentation_keeps_shape_and_repeats_with_the_seed():
    from dc_lib.core.augment import CLASSIC

    x = batch(n=6, c=1, size=28)
    a, b = augment(x, CLASSIC, make_generator(2)), augment(x, CLASSIC, make_generator(2))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)


def test_classic_crop_is_an_exact_integer_shift():
    from dc_lib.core.augment import classic_augment

    x = torch.arange(64.0).view(1, 1, 8, 8)
    gen = make_generator(0)
    for _ in range(20):  # some draw picks crop; a crop keeps pixel values exactly
        out = classic_augment(x, gen)
        inner = out[0, 0, 2:6, 2:6]
        if torch.all(inner == inner.round()) and not torch.equal(out, x):
            assert set(inner.flatten().tolist()) <= set(x.flatten().tolist())
            return
    pytest.fail("no crop drawn in 20 tries")


def _grouped_draws(batches, gen):
    """One draw per batch, every op of OPS in turn (so ops repeat and mix), shared (1 row) or per image."""
    return [sample_params(OPS[i % len(OPS)], 1 if i % 2 else b.shape[0], gen) for i, b in enumerate(batches)]


def test_grouped_application_gives_each_batch_exactly_what_its_own_call_gives():
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randn(n, 3, 16, 16) for n in (4, 1, 6, 3, 2, 5, 3, 4, 1, 2, 6, 2, 3)]  # 13: each op twice
    params = _grouped_draws(batches, gen)
    params[12] = None
    assert {p.op for p in params if p is not None} == set(OPS)
    for got, b, p in zip(apply_params_grouped(batches, params), batches, params):
        ref = apply_params(b, p)
        assert torch.equal(got, ref) and got.stride() == ref.stride()  # same layout: same conv kernels after


def test_grouped_application_passes_each_batch_its_own_gradient():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(24, 3, 16, 16, requires_grad=True)
    params = _grouped_draws(list(x.split(2)), gen)
    weights = torch.randn(24, 3, 16, 16)
    (torch.cat([apply_params(b, p) for b, p in zip(x.split(2), params)]) * weights).sum().backward()
    expected, x.grad = x.grad, None
    (torch.cat(apply_params_grouped(list(x.split(2)), params)) * weights).sum().backward()
    assert torch.equal(x.grad, expected)


def test_grouped_application_wants_parameter_rows_that_fit_each_batch():
    gen = torch.Generator().manual_seed(2)
    batches = [torch.zeros(2, 1, 4, 4), torch.zeros(4, 1, 4, 4)]
    with pytest.raises(ValueError, match="batch 0: 3 parameter rows for a batch of 2"):
        apply_params_grouped(batches, [sample_params("flip", 3, gen)] * 2)


def test_grouped_application_wants_one_draw_per_batch():
    with pytest.raises(ValueError, match="2 batches and 1 parameter draws"):
        apply_params_grouped([torch.zeros(1, 1, 4, 4)] * 2, [None])
