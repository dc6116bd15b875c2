"""torch.compile is speed only: the same numbers as the eager path up to float rounding, eager when it fails."""

import pytest
import torch
import torch.nn.functional as F

from dc_lib.core.config import get_profile
from dc_lib.core.models import get_network
from dc_lib.core.seeding import seed_everything
from dc_lib.core.speed import Speed
from dc_lib.engines import compiled
from dc_lib.engines.choose import evaluate_set
from dc_lib.engines.compiled import maybe_compile
from dc_lib.engines.evaluation import EvalConfig
from dc_lib.methods.distribution_matching import DMConfig, condense_dm
from dc_lib.methods.gradient_matching import GMConfig, condense_gm


def _net():
    seed_everything(0)
    return get_network("convnet", 1, 10, (28, 28))


def test_switched_off_it_returns_the_function_itself():
    net = _net()
    assert maybe_compile(net, False, "cpu") is net


def test_a_setting_other_than_true_or_false_is_rejected():
    with pytest.raises(ValueError, match="compile must be True, False or"):
        maybe_compile(_net(), "yes", "cpu")


def test_compiled_network_gives_the_eager_outputs_and_parameter_gradients(tiny_real):
    net = _net()
    x, y = tiny_real.x_train[:6], tiny_real.y_train[:6]
    eager_loss = F.cross_entropy(net(x), y)
    eager_grads = torch.autograd.grad(eager_loss, list(net.parameters()))
    fast_loss = F.cross_entropy(maybe_compile(net, True, "cpu")(x), y)
    fast_grads = torch.autograd.grad(fast_loss, list(net.parameters()))
    torch.testing.assert_close(fast_loss, eager_loss, atol=1e-5, rtol=1e-5)
    # As one vector: biases before instance norm have a true gradient of 0, so per tensor only
    # rounding noise would be compared.
    fast, eager = torch.cat([g.flatten() for g in fast_grads]), torch.cat([g.flatten() for g in eager_grads])
    assert (fast - eager).norm() <= 1e-4 * eager.norm()


def test_inputs_with_unusual_strides_give_the_same_outputs(tiny_real):
    net = _net()
    x = tiny_real.x_train[:4]
    strided = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)  # channels-last layout, same values
    with torch.no_grad():
        torch.testing.assert_close(maybe_compile(net, True, "cpu")(strided), net(x), atol=1e-5, rtol=1e-5)


def test_when_compiling_fails_it_warns_and_runs_eagerly(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(torch, "compile", broken)
    compiled.compile_works.cache_clear()
    try:
        net = _net()
        with pytest.warns(UserWarning, match="running without it"):
            assert maybe_compile(net, True, "cpu") is net
    finally:
        compiled.compile_works.cache_clear()


# In float64, as the chunked DC path's test: in float32 the compiled kernels' rounding (1e-6 relative)
# is amplified by DM's lr of 1 and by the cosine distance's small-norm rows to 1e-3 in a few pixels.
def test_dm_with_compile_gives_the_eager_images(float64):
    config = DMConfig(iterations=2, batch_real=6)
    eager = condense_dm(float64, 1, config, seed=2, progress=False)
    fast = condense_dm(float64, 1, config, seed=2, progress=False, speed=Speed(compile=True))
    torch.testing.assert_close(fast.images, eager.images, atol=1e-9, rtol=1e-7)


def test_dc_with_compile_gives_the_eager_images(float64):
    config = GMConfig(iterations=1, batch_real=6, loops=(2, 2), dsa_strategy="crop", init="real")
    eager = condense_gm(float64, 2, config, seed=4, progress=False)
    fast = condense_gm(float64, 2, config, seed=4, progress=False, speed=Speed(compile=True))
    torch.testing.assert_close(fast.images, eager.images, atol=1e-9, rtol=1e-7)


@pytest.mark.parametrize("engine", ["loop", "auto"])  # auto: on CPU, side by side
def test_evaluation_with_compile_gives_the_eager_accuracies(tiny_real, engine):
    images, labels = tiny_real.x_train[::6], tiny_real.y_train[::6]
    config = EvalConfig(num_nets=2, epochs=3, strategy="crop")
    eager = evaluate_set(images, labels, tiny_real, config, seed=1, progress=False, speed=Speed(engine=engine))
    fast = evaluate_set(images, labels, tiny_real, config, seed=1, progress=False,
                        speed=Speed(engine=engine, compile=True))
    # 50 test images: rounding may flip at most a borderline prediction (2 points) per network.
    assert all(abs(f - e) <= 2.0 for f, e in zip(fast, eager)), (fast, eager)


def test_the_cpu_profile_compiles_and_the_smoke_profile_does_not():
    # smoke's notebook outputs are compared bit for bit by nbval; compiled kernels round differently.
    assert get_profile("cpu").compile and not get_profile("smoke").compile


def test_speed_takes_reduce_overhead_and_refuses_other_modes():
    assert Speed(compile="reduce-overhead").compile == "reduce-overhead"
    with pytest.raises(ValueError, match="compile must be True, False or 'reduce-overhead'"):
        Speed(compile="max-autotune")


def test_cuda_graphs_are_asked_for_only_on_cuda():
    assert not compiled.graphs_on("reduce-overhead", "cpu")
    assert not compiled.graphs_on(True, "cuda")
