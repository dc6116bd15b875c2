"""Table B.T1's small class-conditional generators: what they train on and the sets they give."""

import pytest
import torch

from dc_lib.methods.generators import METHODS, ConditionalGenerator, GeneratorConfig, mmd2, sample_set, train_generator


@pytest.mark.parametrize("method", METHODS)
def test_a_generator_gives_ipc_images_of_every_class_in_the_datasets_shape(tiny_real, method):
    config = GeneratorConfig(method, iterations=2, per_class=4)
    g = train_generator(tiny_real, config, seed=0)
    syn = sample_set(g, tiny_real, 3, config, seed=1)
    assert syn.images.shape == (30, 1, 28, 28) and syn.method == method
    assert syn.labels.tolist() == [c for c in range(10) for _ in range(3)]
    assert torch.isfinite(syn.images).all() and syn.iteration == 2


def test_training_repeats_with_the_seed_and_the_samples_with_theirs(tiny_real):
    config = GeneratorConfig("vae", iterations=2, per_class=4)
    a = sample_set(train_generator(tiny_real, config, seed=3), tiny_real, 1, config, seed=0)
    b = sample_set(train_generator(tiny_real, config, seed=3), tiny_real, 1, config, seed=0)
    assert torch.equal(a.images, b.images)


def test_the_class_input_changes_the_image():
    g = ConditionalGenerator(8, 10, 1, (28, 28)).eval()
    z = torch.randn(1, 8).repeat(2, 1)
    out = g(z, torch.tensor([0, 1]))
    assert not torch.allclose(out[0], out[1])


def test_mmd_is_zero_between_a_sample_and_itself_and_grows_with_a_shift():
    a = torch.randn(20, 5)
    assert float(mmd2(a, a, (1.0,))) == pytest.approx(0.0, abs=1e-6)
    assert float(mmd2(a, a + 3.0, (1.0,))) > float(mmd2(a, a + 0.5, (1.0,))) > 0


def test_an_unknown_generator_is_refused(tiny_real):
    with pytest.raises(ValueError, match="valid: gmmn, vae, biggan"):
        train_generator(tiny_real, GeneratorConfig("diffusion", iterations=1))


def test_a_gmmn_step_moves_its_samples_towards_the_real_class(tiny_real):
    config = GeneratorConfig("gmmn", iterations=1, per_class=8, lr=1e-2)
    x = tiny_real.x_train[tiny_real.y_train == 0].flatten(1)
    before = sample_set(train_generator(tiny_real, GeneratorConfig("gmmn", iterations=1, per_class=8, lr=1e-12), seed=0),
                        tiny_real, 8, config, seed=0)
    after = sample_set(train_generator(tiny_real, GeneratorConfig("gmmn", iterations=30, per_class=8, lr=1e-2), seed=0),
                       tiny_real, 8, config, seed=0)
    dist = lambda s: float(mmd2(s.images[s.labels == 0].flatten(1), x, config.bandwidths))  # noqa: E731
    assert dist(after) < dist(before)


def test_a_cached_generator_is_trained_once_and_again_for_another_seed(tiny_real, tmp_path, monkeypatch):
    from dc_lib.methods import generators

    config = GeneratorConfig("gmmn", iterations=1, per_class=2)
    first = generators.cached_generator(tiny_real, config, seed=0, cache=tmp_path / "g.pt")
    calls = []
    monkeypatch.setattr(generators, "train_generator", lambda *a, **k: calls.append(k) or first)
    again = generators.cached_generator(tiny_real, config, seed=0, cache=tmp_path / "g.pt")
    assert calls == [] and all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), first.state_dict().values()))
    generators.cached_generator(tiny_real, config, seed=1, cache=tmp_path / "g.pt")
    assert len(calls) == 1
