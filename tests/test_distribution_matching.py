import pytest
import torch

from dataclasses import replace

from dc_lib.core.checkpoint import Checkpointing
from dc_lib.core.models import get_network
from dc_lib.core.seeding import make_generator, seed_everything
from dc_lib.core.speed import Speed
import dc_lib.methods.distribution_matching as dm
from dc_lib.methods.distribution_matching import DMConfig, class_mean_embeddings, condense_dm, condense_mmd_pixels
from dc_lib.methods.watch import Watch

SMALL = DMConfig(batch_real=6)


def small(**changes):
    """SMALL with ``changes`` (e.g. the number of iterations)."""
    return replace(SMALL, **changes)


def test_synthetic_set_has_ipc_images_per_class_in_class_order(tiny_real):
    syn = condense_dm(tiny_real, 2, small(iterations=1), progress=False)
    assert syn.images.shape == (20, 1, 28, 28)
    assert syn.labels.tolist() == [c for c in range(10) for _ in range(2)]
    assert syn.iteration == 1 and syn.method == "dm"


def test_same_seed_gives_bit_identical_images(tiny_real):
    a = condense_dm(tiny_real, 1, small(iterations=3), seed=5, progress=False)
    b = condense_dm(tiny_real, 1, small(iterations=3), seed=5, progress=False)
    assert torch.equal(a.images, b.images)


def test_different_seeds_give_different_images(tiny_real):
    a = condense_dm(tiny_real, 1, small(iterations=2), seed=0, progress=False)
    b = condense_dm(tiny_real, 1, small(iterations=2), seed=1, progress=False)
    assert not torch.equal(a.images, b.images)


def test_matching_moves_the_synthetic_pixels(tiny_real):
    start = condense_dm(tiny_real, 1, small(iterations=0), seed=0, progress=False)
    after = condense_dm(tiny_real, 1, small(iterations=1), seed=0, progress=False)
    assert (after.images - start.images).abs().sum() > 0


def test_embedding_distance_shrinks_under_a_fixed_network(tiny_real):
    seed_everything(123)
    net = get_network("convnet", 1, 10, (28, 28)).eval()

    def distance(images):
        with torch.no_grad():
            real = torch.stack([net.embed(tiny_real.x_train[i]).mean(0) for i in tiny_real.indices_class])
            syn = class_mean_embeddings(net.embed(images), [1] * 10)
        return ((real - syn) ** 2).sum().item()

    start = condense_dm(tiny_real, 1, small(iterations=0), seed=0, progress=False)
    after = condense_dm(tiny_real, 1, DMConfig(iterations=30, strategy=None, batch_real=12), seed=0, progress=False)
    assert distance(after.images) < 0.7 * distance(start.images)


def test_pixel_mmd_baseline_pulls_images_towards_the_class_mean(tiny_real):
    start = condense_mmd_pixels(tiny_real, 1, DMConfig(iterations=0, batch_real=12), progress=False)
    after = condense_mmd_pixels(tiny_real, 1, DMConfig(iterations=20, batch_real=12, lr=0.05), progress=False)
    means = torch.stack([tiny_real.x_train[i].mean(0) for i in tiny_real.indices_class])
    assert (after.images - means).norm() < (start.images - means).norm()
    assert after.method == "mmd" and after.config["strategy"] is None


def test_batchnorm_embedding_runs_all_classes_together(tiny_real):
    syn = condense_dm(tiny_real, 2, small(iterations=2, arch="convnet_bn"), progress=False)
    assert torch.isfinite(syn.images).all()


def test_noise_initialisation_is_gaussian_and_seeded(tiny_real):
    a = condense_dm(tiny_real, 1, small(iterations=0, init="noise"), seed=3, progress=False)
    b = condense_dm(tiny_real, 1, small(iterations=0, init="noise"), seed=3, progress=False)
    assert torch.equal(a.images, b.images) and abs(a.images.std().item() - 1) < 0.1


def test_ipc_larger_than_a_class_stops_with_a_message(tiny_real):
    with pytest.raises(ValueError, match="ipc=50 needs 50 training images per class.*too few in class"):
        condense_dm(tiny_real, 50, small(iterations=1), progress=False)


def test_nan_in_the_data_stops_the_run_with_a_message(tiny_real):
    tiny_real.x_train[:] = float("nan")
    with pytest.raises(FloatingPointError, match="NaN"):
        condense_dm(tiny_real, 1, small(iterations=3), progress=False)


def test_an_interrupted_run_resumes_from_its_checkpoint_to_the_same_result(tiny_real, tmp_path, monkeypatch):
    ckpt = tmp_path / "run.ckpt"
    full = condense_dm(tiny_real, 1, small(iterations=4), seed=2, progress=False)

    real_draw, calls = dm._draw_embedding, {"n": 0}

    def interrupt_at_third(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_draw(*args)

    monkeypatch.setattr(dm, "_draw_embedding", interrupt_at_third)
    with pytest.raises(KeyboardInterrupt):
        condense_dm(tiny_real, 1, small(iterations=4), seed=2, checkpoint=Checkpointing(ckpt, 2), progress=False)
    assert ckpt.is_file()
    monkeypatch.setattr(dm, "_draw_embedding", real_draw)
    resumed = condense_dm(tiny_real, 1, small(iterations=4), seed=2, checkpoint=Checkpointing(ckpt, 2), progress=False)
    assert resumed.metrics["resumed_from"] == 2
    assert torch.equal(resumed.images, full.images)
    assert not ckpt.exists()


def test_default_learning_rate_follows_the_thesis():
    assert dm.default_lr(10) == 1.0 and dm.default_lr(100) == 10.0


def test_chunked_real_side_gives_the_same_class_means(tiny_real):
    seed_everything(0)
    net = get_network("convnet", 1, 10, (28, 28))
    batches = [tiny_real.x_train[:6], tiny_real.x_train[6:11]]
    with torch.no_grad():
        whole = dm._real_class_means(net.embed, batches, batch_norm=False)
        chunked = dm._real_class_means(net.embed, batches, batch_norm=False, chunk=4)  # chunks 4+2 and 4+1
    torch.testing.assert_close(chunked, whole, atol=1e-6, rtol=1e-5)


def test_all_classes_in_shared_forwards_give_the_same_class_means(tiny_real, monkeypatch):
    seed_everything(0)
    net = get_network("convnet", 1, 10, (28, 28))
    batches = [tiny_real.x_train[:6], tiny_real.x_train[6:11], tiny_real.x_train[11:14]]
    with torch.no_grad():
        alone = dm._real_class_means(net.embed, batches, batch_norm=False)
        shared = dm._real_class_means(net.embed, batches, batch_norm=False, chunk="all")
        monkeypatch.setattr(dm, "ALL_CLASSES_IMAGES", 11)  # forwards of classes 1+2, then 3
        capped = dm._real_class_means(net.embed, batches, batch_norm=False, chunk="all")
    torch.testing.assert_close(shared, alone, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(capped, alone, atol=1e-6, rtol=1e-5)


def test_all_classes_in_shared_forwards_give_the_same_synthetic_images(tiny_real):
    alone = condense_dm(tiny_real, 1, small(iterations=1), seed=2, progress=False, speed=Speed(real_chunk=None))
    shared = condense_dm(tiny_real, 1, small(iterations=1), seed=2, progress=False, speed=Speed(real_chunk="all"))
    torch.testing.assert_close(shared.images, alone.images, atol=1e-5, rtol=1e-4)


def test_chunked_real_side_gives_the_same_synthetic_images(tiny_real):
    # One iteration: later ones may differ in a few pixels where rounding flips a ReLU (a 3x3 receptive field).
    whole = condense_dm(tiny_real, 1, small(iterations=1), seed=2, progress=False)
    # 6 images: chunks 4 + 2
    chunked = condense_dm(tiny_real, 1, small(iterations=1), seed=2, progress=False, speed=Speed(real_chunk=4))
    torch.testing.assert_close(chunked.images, whole.images, atol=1e-5, rtol=1e-4)


def test_on_iteration_sees_the_start_and_every_iteration(tiny_real):
    seen = []
    condense_dm(tiny_real, 1, small(iterations=3), progress=False,
                watch=Watch(on_iteration=lambda k, images: seen.append((k, tuple(images.shape)))))
    assert seen == [(k, (10, 1, 28, 28)) for k in range(4)]


def test_a_watched_run_gives_the_same_images_as_an_unwatched_one(tiny_real):
    frames = {}
    watched = condense_dm(tiny_real, 1, small(iterations=3), seed=2, progress=False,
                          watch=Watch(on_iteration=lambda k, images: frames.setdefault(k, images.clone())))
    plain = condense_dm(tiny_real, 1, small(iterations=3), seed=2, progress=False)
    assert torch.equal(watched.images, plain.images)
    assert torch.equal(frames[3], plain.images)


def test_a_network_drawn_into_another_gets_the_weights_of_a_new_draw(tiny_real):
    info = tiny_real.info
    fresh_gen, into_gen = make_generator(3), make_generator(3)
    fresh = dm.draw_network("convnet", info, fresh_gen, "cpu")
    kept = dm.draw_network("convnet", info, make_generator(99), "cpu")
    drawn = dm.draw_network("convnet", info, into_gen, "cpu", into=kept)
    assert drawn is kept
    for (name, a), b in zip(fresh.state_dict().items(), drawn.state_dict().values()):
        assert torch.equal(a, b), name
    assert torch.equal(fresh_gen.get_state(), into_gen.get_state())


def test_a_kept_network_redrawn_each_iteration_gives_the_set_of_fresh_networks(tiny_real, monkeypatch):
    # the CUDA-graph path's bookkeeping, run on the CPU: one network kept, its weights re-drawn in place
    fresh = condense_dm(tiny_real, 1, small(iterations=3), progress=False, speed=Speed(real_chunk=None))
    monkeypatch.setattr(dm, "graphs_on", lambda compile, device: True)
    drawn = []
    real_draw = dm.draw_network
    monkeypatch.setattr(dm, "draw_network", lambda *a, **kw: drawn.append(kw.get("into")) or real_draw(*a, **kw))
    kept = condense_dm(tiny_real, 1, small(iterations=3), progress=False, speed=Speed(real_chunk=None))
    assert drawn[0] is None and drawn[1] is not None and all(n is drawn[1] for n in drawn[1:])
    assert torch.equal(kept.images, fresh.images)


def test_reduce_overhead_on_cpu_is_accepted_and_runs_as_the_default_compile(tiny_real):
    default = condense_dm(tiny_real, 1, small(iterations=2), progress=False, speed=Speed(compile=True))
    graphs = condense_dm(tiny_real, 1, small(iterations=2), progress=False, speed=Speed(compile="reduce-overhead"))
    assert torch.equal(default.images, graphs.images)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_cuda_graphs_give_the_set_of_compile_alone(tiny_real):
    # float64, so that the comparison is exact enough to see a graph replaying stale weights
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        real = replace(tiny_real, x_train=tiny_real.x_train.double(), x_test=tiny_real.x_test.double()).to("cuda")
        config = small(iterations=4)
        compiled = condense_dm(real, 1, config, progress=False, speed=Speed(real_chunk="all", compile=True))
        graphs = condense_dm(real, 1, config, progress=False, speed=Speed(real_chunk="all", compile="reduce-overhead"))
    finally:
        torch.set_default_dtype(default)
    torch.testing.assert_close(graphs.images, compiled.images, rtol=0, atol=1e-9)
