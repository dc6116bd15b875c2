import pytest
import torch

from dc_lib.core.models import get_network
from dc_lib.core.seeding import derive_seed, make_generator, seed_everything
from dc_lib.core.speed import Speed
import dc_lib.engines.choose as choose
from dc_lib.engines.choose import choose_path, evaluate_set
import dc_lib.engines.evaluation as evaluation
from dc_lib.engines.evaluation import EvalConfig, train_network
import dc_lib.engines.stacked as stacked
from dc_lib.engines.stacked import (STACKABLE, StackedNetworks, supports_stacking,
                                    test_accuracies as stacked_accuracies, train_stacked)

DSA = "color_crop_cutout_scale_rotate"
SMALL = {"width": 16}  # a narrow ConvNet keeps each test well under a second


def fresh_nets(arch, n, seed=3, **overrides):
    """Networks built as evaluate_set builds them (seeded right before get_network)."""
    nets = []
    for i in range(n):
        seed_everything(derive_seed(seed, "net", i))
        nets.append(get_network(arch, 1, 10, (28, 28), **overrides))
    return nets


def generators(n, seed=3):
    return [make_generator(derive_seed(seed, "net", i)) for i in range(n)]


def assert_same_weights(nets_a, nets_b, atol=1e-5):
    for a, b in zip(nets_a, nets_b):
        for (name, p), q in zip(a.named_parameters(), b.parameters()):
            torch.testing.assert_close(p, q, atol=atol, rtol=1e-4, msg=name)


@pytest.mark.parametrize("strategy", [None, DSA, "classic"])
def test_stacked_training_ends_at_the_weights_of_the_one_by_one_loop(tiny_real, strategy):
    x, y = tiny_real.x_train[::3], tiny_real.y_train[::3]
    reference = fresh_nets("convnet", 3, **SMALL)
    for net, gen in zip(reference, generators(3)):
        train_network(net, x, y, epochs=3, strategy=strategy, generator=gen, batch_size=16)
    stack = StackedNetworks(fresh_nets("convnet", 3, **SMALL))
    train_stacked(stack, x, y, epochs=3, strategy=strategy, generators=generators(3), batch_size=16)
    assert_same_weights(reference, stack.write_back())


@pytest.mark.parametrize("arch", [a for a in STACKABLE if a != "convnet"])
def test_every_stackable_architecture_trains_to_the_loop_weights(tiny_real, arch):
    x, y = tiny_real.x_train[::6], tiny_real.y_train[::6]
    reference = fresh_nets(arch, 2)
    for net, gen in zip(reference, generators(2)):
        train_network(net, x, y, epochs=2, strategy=DSA, generator=gen)
    stack = StackedNetworks(fresh_nets(arch, 2))
    train_stacked(stack, x, y, epochs=2, strategy=DSA, generators=generators(2))
    assert_same_weights(reference, stack.write_back())


def test_stacked_test_accuracies_are_each_networks_own(tiny_real):
    nets = fresh_nets("convnet", 3, **SMALL)
    expected = [evaluation.test_accuracy(n, tiny_real.x_test, tiny_real.y_test) for n in nets]
    assert stacked_accuracies(StackedNetworks(nets), tiny_real.x_test, tiny_real.y_test, batch_size=16) == expected


def test_shared_input_reaches_every_network_as_its_own_forward(tiny_real):
    nets = fresh_nets("convnet", 3, **SMALL)
    x = tiny_real.x_test[:8]
    with torch.no_grad():
        expected = torch.stack([n.eval()(x) for n in nets])
        torch.testing.assert_close(StackedNetworks(nets).train(False).forward_shared(x), expected,
                                   atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("strategy", [None, DSA])
def test_evaluate_set_stacked_gives_the_loops_accuracies(tiny_real, strategy):
    x, y = tiny_real.x_train[::4], tiny_real.y_train[::4]
    config = EvalConfig(num_nets=3, epochs=4, strategy=strategy, arch_overrides=SMALL)
    loop = evaluate_set(x, y, tiny_real, config, seed=5, progress=False, speed=Speed(engine="loop"))
    fast = evaluate_set(x, y, tiny_real, config, seed=5, progress=False, speed=Speed(engine="stacked"))
    # Float rounding may flip at most one of the 50 test images (2 %) per network.
    assert fast == pytest.approx(loop, abs=100 / 50 + 1e-9)


def test_chunks_of_networks_give_the_same_accuracies_as_one_stack(tiny_real):
    x, y = tiny_real.x_train[::4], tiny_real.y_train[::4]
    config = EvalConfig(num_nets=3, epochs=2, strategy=DSA, arch_overrides=SMALL)
    whole = stacked.evaluate_set_stacked(x, y, tiny_real, config, seed=0, progress=False)
    chunked = stacked.evaluate_set_stacked(x, y, tiny_real, config, seed=0, progress=False, chunk=2)
    assert chunked == pytest.approx(whole, abs=2 + 1e-9)


@pytest.mark.parametrize("arch, overrides", [("convnet_bn", None), ("convnet", {"norm": "batchnorm", "width": 16})])
def test_batchnorm_networks_fall_back_to_the_loop(tiny_real, monkeypatch, arch, overrides):
    x, y = tiny_real.x_train[::6], tiny_real.y_train[::6]
    config = EvalConfig(arch=arch, num_nets=2, epochs=1, strategy=None, arch_overrides=overrides)
    loop = evaluate_set(x, y, tiny_real, config, seed=0, progress=False, speed=Speed(engine="loop"))

    def must_not_run(*a, **k):
        raise AssertionError("the stacked path was taken for a BatchNorm network")

    monkeypatch.setattr(choose, "evaluate_set_stacked", must_not_run)
    # the loop itself: bit for bit
    assert evaluate_set(x, y, tiny_real, config, seed=0, progress=False, speed=Speed(engine="stacked")) == loop


@pytest.mark.parametrize("arch", ["alexnet", "vgg11", "resnet18", "resnet18_ap", "convnet_d4_bn", "resnet18_bn"])
def test_unchecked_and_batchnorm_architectures_are_not_stacked(arch):
    assert not supports_stacking(arch)


def test_automatic_choice_stacks_small_sets_on_cuda_and_runs_them_side_by_side_on_cpu():
    assert choose_path("convnet", "cuda", 20, 100) == "stacked"
    assert choose_path("convnet", "cpu", 20, 100) == "side_by_side"


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("arch, nets, size", [("convnet", 1, 100),        # nothing to run side by side
                                              ("convnet", 20, 60000),     # whole-dataset training: not measured
                                              ("convnet_bn", 20, 100)])   # BatchNorm
def test_automatic_choice_keeps_the_loop_elsewhere(device, arch, nets, size):
    assert choose_path(arch, device, nets, size) == "loop"


def test_evaluate_set_rejects_an_engine_that_is_not_one_of_its_paths(tiny_real):
    with pytest.raises(ValueError, match="unknown engine 'yes'; valid: auto, loop, stacked, side_by_side"):
        evaluate_set(tiny_real.x_train[:10], tiny_real.y_train[:10], tiny_real, EvalConfig(num_nets=1, epochs=1),
                     seed=0, progress=False, speed=Speed(engine="yes"))


def test_stacking_batchnorm_networks_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="BatchNorm"):
        StackedNetworks(fresh_nets("convnet_bn", 2))


def test_stacking_different_architectures_is_refused():
    with pytest.raises(ValueError, match="same architecture"):
        StackedNetworks([get_network("convnet", 1, 10, (28, 28), width=16), get_network("mlp", 1, 10, (28, 28))])


def test_one_generator_per_network_is_required(tiny_real):
    stack = StackedNetworks(fresh_nets("mlp", 2))
    with pytest.raises(ValueError, match="one per network"):
        train_stacked(stack, tiny_real.x_train[:10], tiny_real.y_train[:10], epochs=1, generators=generators(1))


def test_labels_that_do_not_match_the_images_are_refused(tiny_real):
    with pytest.raises(ValueError, match="labels must be"):
        stacked.evaluate_set_stacked(tiny_real.x_train[:10], tiny_real.y_train[:9], tiny_real,
                                     EvalConfig(arch="mlp", num_nets=2, epochs=1, strategy=None), seed=0,
                                     progress=False)


def test_asking_evaluate_set_stacked_for_an_unstackable_network_names_the_alternative(tiny_real):
    with pytest.raises(ValueError, match="choose.evaluate_set"):
        stacked.evaluate_set_stacked(tiny_real.x_train[:10], tiny_real.y_train[:10], tiny_real,
                                     EvalConfig(arch="convnet_bn", num_nets=2, epochs=1, strategy=None), seed=0,
                                     progress=False)


# Side by side (the CPU path): micro-batches per network, networks on separate cores.

@pytest.mark.parametrize("strategy", [None, DSA, "classic"])
def test_micro_batched_training_ends_at_the_weights_of_whole_batches(tiny_real, strategy):
    from dc_lib.engines.side_by_side import train_micro_batched

    x, y = tiny_real.x_train[::3], tiny_real.y_train[::3]
    whole, micro = fresh_nets("convnet", 1, **SMALL)[0], fresh_nets("convnet", 1, **SMALL)[0]
    train_network(whole, x, y, epochs=3, strategy=strategy, generator=make_generator(7), batch_size=32)
    train_micro_batched(micro, x, y, epochs=3, strategy=strategy, generator=make_generator(7), batch_size=32,
                        micro_batch=5)
    assert_same_weights([whole], [micro])


def test_side_by_side_gives_the_loops_accuracies(tiny_real):
    from dc_lib.engines.side_by_side import evaluate_set_side_by_side

    x, y = tiny_real.x_train[::4], tiny_real.y_train[::4]
    config = EvalConfig(num_nets=3, epochs=4, strategy=DSA, arch_overrides=SMALL)
    loop = evaluate_set(x, y, tiny_real, config, seed=5, progress=False, speed=Speed(engine="loop"))
    side_by_side = evaluate_set_side_by_side(x, y, tiny_real, config, seed=5, progress=False, workers=2, micro_batch=4)
    assert side_by_side == pytest.approx(loop, abs=100 / 50 + 1e-9)


def test_side_by_side_leaves_torchs_thread_count_as_it_was(tiny_real):
    from dc_lib.engines.side_by_side import evaluate_set_side_by_side

    before = torch.get_num_threads()
    evaluate_set_side_by_side(tiny_real.x_train[:10], tiny_real.y_train[:10], tiny_real,
                              EvalConfig(arch="mlp", num_nets=2, epochs=1, strategy=None), seed=0, workers=2)
    assert torch.get_num_threads() == before


def test_micro_batching_a_batchnorm_network_is_refused(tiny_real):
    from dc_lib.engines.side_by_side import train_micro_batched

    with pytest.raises(ValueError, match="BatchNorm"):
        train_micro_batched(fresh_nets("convnet_bn", 1)[0], tiny_real.x_train[:4], tiny_real.y_train[:4], epochs=1,
                            generator=make_generator(0))
