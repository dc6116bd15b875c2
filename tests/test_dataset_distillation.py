"""Dataset Distillation (Wang et al. 2018): the unrolled inner steps, their gradient, the learned step sizes."""

import torch
import torch.nn.functional as F
from torch import nn

from dc_lib.core.synset import SyntheticSet
from dc_lib.methods.dataset_distillation import (DDConfig, condense_dd, evaluate_distilled, raw_step_size, step_groups,
                                                 train_distilled, unrolled_loss)


def _linear_case():
    torch.manual_seed(0)
    net = nn.Linear(4, 3).double()
    x_syn = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)  # 3 classes x 2 images, class by class
    y_syn = torch.arange(3).repeat_interleave(2)
    raw = torch.tensor([raw_step_size(0.3), raw_step_size(0.7)], dtype=torch.float64, requires_grad=True)
    x_real, y_real = torch.randn(5, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 1, 0])
    return net, x_syn, y_syn, raw, x_real, y_real


def _library_loss(net, x_syn, y_syn, raw, x_real, y_real):
    params = {n: p.detach().clone().requires_grad_(True) for n, p in net.named_parameters()}
    groups = step_groups(x_syn, y_syn, ipc=2, steps=2)
    return unrolled_loss(net, params, groups, F.softplus(raw), 1, x_real, y_real)


def _hand_unrolled_loss(net, x_syn, y_syn, raw, x_real, y_real):
    """Two SGD steps written out: for a linear model z = x W^T + b under mean cross-entropy,
    dL/dW = (softmax(z) - onehot(y))^T x / n and dL/db = sum_rows(softmax(z) - onehot(y)) / n."""
    w, b = net.weight.detach(), net.bias.detach()
    etas = F.softplus(raw)
    # step 0 takes the first image of each class, step 1 the second
    for i, rows in enumerate(([0, 2, 4], [1, 3, 5])):
        x, y = x_syn[rows], y_syn[rows]
        err = torch.softmax(x @ w.T + b, 1) - F.one_hot(y, 3).double()
        w = w - etas[i] * err.T @ x / len(rows)
        b = b - etas[i] * err.sum(0) / len(rows)
    return F.cross_entropy(x_real @ w.T + b, y_real)


def test_each_inner_step_takes_its_own_images_of_every_class():
    images = torch.arange(12.0).view(12, 1, 1, 1)  # 3 classes x 4 ipc, class by class
    labels = torch.arange(3).repeat_interleave(4)
    groups = step_groups(images, labels, ipc=4, steps=2)
    assert [g[0].flatten().tolist() for g in groups] == [[0, 1, 4, 5, 8, 9], [2, 3, 6, 7, 10, 11]]
    assert groups[1][1].tolist() == [0, 0, 1, 1, 2, 2]


def test_the_unrolled_loss_equals_two_hand_unrolled_sgd_steps_on_a_linear_model():
    case = _linear_case()
    assert torch.allclose(_library_loss(*case), _hand_unrolled_loss(*case), atol=1e-12)


def test_the_gradients_wrt_the_synthetic_images_and_the_learned_step_sizes_match_the_hand_unrolled_ones():
    net, x_syn, y_syn, raw, x_real, y_real = _linear_case()
    got = torch.autograd.grad(_library_loss(net, x_syn, y_syn, raw, x_real, y_real), [x_syn, raw])
    want = torch.autograd.grad(_hand_unrolled_loss(net, x_syn, y_syn, raw, x_real, y_real), [x_syn, raw])
    for g, w in zip(got, want):
        assert g.abs().max() > 1e-6  # the images and both step sizes matter
        assert torch.allclose(g, w, atol=1e-10)


def test_the_step_size_gradient_agrees_with_central_finite_differences():
    net, x_syn, y_syn, raw, x_real, y_real = _linear_case()
    [grad] = torch.autograd.grad(_library_loss(net, x_syn, y_syn, raw, x_real, y_real), [raw])
    h = 1e-6
    for i in range(2):
        step = torch.zeros(2, dtype=torch.float64)
        step[i] = h
        with torch.enable_grad():
            up = _library_loss(net, x_syn, y_syn, (raw + step).detach(), x_real, y_real)
            down = _library_loss(net, x_syn, y_syn, (raw - step).detach(), x_real, y_real)
        assert abs(float((up - down).detach() / (2 * h)) - float(grad[i])) < 1e-6


def test_condense_dd_learns_the_images_and_one_step_size_per_inner_step(tiny_real):
    config = DDConfig(iterations=2, steps=2, epochs=3, batch_real=32, arch="lenet")
    syn = condense_dd(tiny_real, 2, config, seed=1, progress=False)
    assert syn.method == "dd" and syn.images.shape == (20, 1, 28, 28)
    assert syn.labels.tolist() == [c for c in range(10) for _ in range(2)]
    assert len(syn.config["etas"]) == 6 and any(abs(e - 0.02) > 1e-6 for e in syn.config["etas"])
    again = condense_dd(tiny_real, 2, config, seed=1, progress=False)
    assert torch.equal(syn.images, again.images)  # deterministic by default


def test_ipc_must_split_evenly_over_the_steps(tiny_real):
    import pytest

    with pytest.raises(ValueError, match="multiple of steps"):
        condense_dd(tiny_real, 3, DDConfig(iterations=1, steps=2, batch_real=8), progress=False)


def _set(real, etas):
    images = real.x_train[:20].clone()
    return SyntheticSet(images, torch.arange(10).repeat_interleave(2), "mnist", "dd", 2, real.info.mean,
                        real.info.std, config={"steps": 2, "epochs": 1, "etas": etas})


def test_a_distilled_set_trains_with_its_learned_step_sizes(tiny_real):
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    drawn = net[1].weight.detach().clone()
    # zero step sizes leave the network as it was drawn; positive ones move it
    assert torch.equal(train_distilled(net, _set(tiny_real, [0.0, 0.0]))[1].weight, drawn)
    assert not torch.equal(train_distilled(net, _set(tiny_real, [0.5, 0.5]))[1].weight, drawn)


def test_evaluating_a_distilled_set_gives_one_accuracy_per_network(tiny_real):
    accs = evaluate_distilled(_set(tiny_real, [0.1, 0.1]), tiny_real, arch="mlp", num_nets=2, seed=0)
    assert len(accs) == 2 and all(0 <= a <= 100 for a in accs)


def test_only_a_set_with_learned_step_sizes_is_evaluated_the_dd_way(tiny_real):
    import pytest

    syn = _set(tiny_real, [0.1, 0.1])
    syn.config = {}
    with pytest.raises(ValueError, match="learned step sizes"):
        evaluate_distilled(syn, tiny_real, arch="mlp", num_nets=1, seed=0)
