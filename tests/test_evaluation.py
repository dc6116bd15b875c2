import torch

from dc_lib.core.models import get_network
from dc_lib.core.seeding import make_generator, seed_everything
from dc_lib.engines.choose import evaluate_set
from dc_lib.engines.evaluation import EvalConfig, test_accuracy as accuracy_of, train_network


def test_training_on_a_separable_set_fits_it(tiny_real):
    seed_everything(0)
    net = get_network("convnet", 1, 10, (28, 28), width=16)
    train_network(net, tiny_real.x_train, tiny_real.y_train, epochs=30, generator=make_generator(0))
    assert accuracy_of(net, tiny_real.x_test, tiny_real.y_test) > 80


def test_evaluate_set_returns_one_accuracy_per_network_and_repeats_with_the_seed(tiny_real):
    x, y = tiny_real.x_train[::4], tiny_real.y_train[::4]
    config = EvalConfig(num_nets=2, epochs=2, strategy="crop_scale")
    a = evaluate_set(x, y, tiny_real, config, seed=1, progress=False)
    assert len(a) == 2 and all(0 <= v <= 100 for v in a)
    assert a == evaluate_set(x, y, tiny_real, config, seed=1, progress=False)


def test_test_limit_uses_only_the_first_test_images(tiny_real):
    x, y = tiny_real.x_train[:10], tiny_real.y_train[:10]
    acc = evaluate_set(x, y, tiny_real, EvalConfig(arch="mlp", num_nets=1, epochs=1, strategy=None, test_limit=7),
                       seed=0, progress=False)[0]
    correct = acc * 7 / 100
    assert abs(correct - round(correct)) < 1e-9


def test_learning_rate_is_decayed_once_after_half_the_epochs(tiny_real, monkeypatch):
    seen = []
    original = torch.optim.SGD

    def spy(params, lr, **kw):
        seen.append(lr)
        return original(params, lr=lr, **kw)

    monkeypatch.setattr(torch.optim, "SGD", spy)
    net = get_network("mlp", 1, 10, (28, 28))
    train_network(net, tiny_real.x_train[:10], tiny_real.y_train[:10], epochs=4, lr=0.01,
                  generator=make_generator(0))
    assert seen == [0.01, 0.01 * 0.1]


def test_evaluation_networks_take_the_ablation_overrides(tiny_real, built_networks):
    import dc_lib.engines.evaluation as evaluation

    built = built_networks(evaluation)
    evaluation.evaluate_set_loop(tiny_real.x_train[:10], tiny_real.y_train[:10], tiny_real,
                                 EvalConfig(num_nets=1, epochs=1, strategy=None, arch_overrides={"width": 16}),
                                 seed=0, progress=False)
    assert built == [{"width": 16}]
