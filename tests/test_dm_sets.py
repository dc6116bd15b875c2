import pytest
import torch

from dataclasses import replace

from dc_lib.core.checkpoint import Checkpointing
from dc_lib.core.speed import Speed
import dc_lib.methods.dm_sets as dm_sets
from dc_lib.methods.distribution_matching import DMConfig, condense_dm
from dc_lib.methods.dm_sets import condense_dm_sets

SMALL = DMConfig(batch_real=6, iterations=3)
PLAIN_REAL = Speed(real_chunk=None)


def alone(real, ipc, config, seed, speed=PLAIN_REAL):
    return condense_dm(real, ipc, config, seed=seed, progress=False, speed=speed).images


@pytest.fixture
def real64(tiny_real):
    """tiny_real in float64, networks built in float64: the batched pass and the runs alone then agree to
    1e-13, where float32 rounding can grow to 1e-2 in a few iterations (an augmented pixel or a ReLU on
    the edge), which would hide a real difference behind a loose tolerance."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield replace(tiny_real, x_train=tiny_real.x_train.double(), x_test=tiny_real.x_test.double())
    torch.set_default_dtype(default)


def test_each_set_equals_its_run_alone(real64):
    sets = condense_dm_sets(real64, 2, SMALL, seeds=[0, 7, 3], progress=False, speed=PLAIN_REAL)
    for syn, seed in zip(sets, [0, 7, 3]):
        torch.testing.assert_close(syn.images, alone(real64, 2, SMALL, seed), rtol=0, atol=1e-10)
        assert syn.seed == seed and syn.labels.tolist() == [c for c in range(10) for _ in range(2)]


@pytest.mark.parametrize("chunk", ["all", 4])
def test_real_side_forwards_give_the_same_sets(real64, chunk, monkeypatch):
    # a cap of 24 images over the 2 sets: groups of 2 classes (6 real images each per set), 5 groups
    monkeypatch.setattr(dm_sets, "ALL_CLASSES_IMAGES", 24)
    whole = condense_dm_sets(real64, 1, SMALL, seeds=[1, 2], progress=False, speed=PLAIN_REAL)
    other = condense_dm_sets(real64, 1, SMALL, seeds=[1, 2], progress=False, speed=Speed(real_chunk=chunk))
    for a, b in zip(whole, other):
        torch.testing.assert_close(a.images, b.images, rtol=0, atol=1e-10)


def test_sets_record_what_condense_dm_records(tiny_real):
    batched = condense_dm_sets(tiny_real, 1, SMALL, seeds=[4], progress=False)[0]
    single = condense_dm(tiny_real, 1, SMALL, seed=4, progress=False)
    assert batched.config == single.config and batched.iteration == single.iteration
    assert batched.metrics["sets_in_pass"] == 1


def test_interrupted_pass_resumes_each_set_from_its_checkpoint(tiny_real, tmp_path, monkeypatch):
    config = replace(SMALL, iterations=6)
    ckpts = [Checkpointing(tmp_path / f"s{s}.ckpt", every=2) for s in (0, 1)]
    real_draw, calls = dm_sets.draw_network, {"n": 0}

    def interrupt_in_fourth_iteration(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 7:  # 2 sets per iteration: the first draw of iteration 4
            raise KeyboardInterrupt
        return real_draw(*args, **kwargs)

    monkeypatch.setattr(dm_sets, "draw_network", interrupt_in_fourth_iteration)
    with pytest.raises(KeyboardInterrupt):
        condense_dm_sets(tiny_real, 1, config, seeds=[0, 1], checkpoints=ckpts, progress=False)
    monkeypatch.setattr(dm_sets, "draw_network", real_draw)
    resumed = condense_dm_sets(tiny_real, 1, config, seeds=[0, 1], checkpoints=ckpts, progress=False)
    straight = condense_dm_sets(tiny_real, 1, config, seeds=[0, 1], progress=False)
    assert [s.metrics["resumed_from"] for s in resumed] == [2, 2]
    for a, b in zip(resumed, straight):
        assert torch.equal(a.images, b.images)
    assert not any(c.path.exists() for c in ckpts)


def test_a_set_checkpointed_alone_joins_the_pass_where_it_stopped(real64, tmp_path):
    config = replace(SMALL, iterations=4)
    ahead = Checkpointing(tmp_path / "ahead.ckpt", every=2, keep=True)
    condense_dm(real64, 1, config, seed=9, checkpoint=ahead, progress=False,
                speed=PLAIN_REAL)  # kept: its last save is at iteration 2
    sets = condense_dm_sets(real64, 1, config, seeds=[9, 8], checkpoints=[ahead, None], progress=False,
                            speed=PLAIN_REAL)
    assert [s.metrics["resumed_from"] for s in sets] == [2, 0]
    for syn in sets:
        torch.testing.assert_close(syn.images, alone(real64, 1, config, syn.seed), rtol=0, atol=1e-10)


@pytest.mark.parametrize("seeds", [[], [1, 1]])
def test_seeds_must_be_given_and_differ(tiny_real, seeds):
    with pytest.raises(ValueError, match="different integers"):
        condense_dm_sets(tiny_real, 1, SMALL, seeds=seeds, progress=False)


def test_one_checkpoint_per_seed(tiny_real, tmp_path):
    with pytest.raises(ValueError, match="one per seed"):
        condense_dm_sets(tiny_real, 1, SMALL, seeds=[1, 2], checkpoints=[tmp_path / "a.ckpt"], progress=False)


@pytest.mark.parametrize("change, words", [({"arch": "convnet_bn"}, "batch norm"),
                                           ({"arch": "vgg11"}, "checked against the plain path"),
                                           ({"embedding": "pixels"}, "pixels"),
                                           ({"networks": "pool.pt"}, "pool")])
def test_configs_it_cannot_batch_are_refused_with_the_way_round(tiny_real, change, words):
    with pytest.raises(ValueError, match=words) as error:
        condense_dm_sets(tiny_real, 1, replace(SMALL, **change), seeds=[1, 2], progress=False)
    assert "condense_dm" in str(error.value)


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@cuda
def test_on_cuda_each_set_equals_its_run_alone(real64):
    real = real64.to("cuda")
    sets = condense_dm_sets(real, 2, SMALL, seeds=[0, 7], progress=False, speed=Speed(real_chunk="all"))
    for syn, seed in zip(sets, [0, 7]):
        torch.testing.assert_close(syn.images, alone(real, 2, SMALL, seed, Speed(real_chunk="all")),
                                   rtol=0, atol=1e-9)
