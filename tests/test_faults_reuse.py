"""Runner.synset reuses a set file only if it is a set of this cell's data, ipc and method (issue 13).

Seed, iterations and real batch used to be the only checks, so a file of another dataset, ipc or
method at a cell's path (copied in, or left by another run) was scored as the cell's set. Now it is
made again, with a warning naming the path; so is a truncated file (it stopped every rerun).
"""

import dataclasses

import pytest
import torch

from dc_lib.core.config import get_profile
from dc_lib.core.synset import SyntheticSet
from dc_lib.runs.experiments import Runner
from dc_lib.runs.results import Cell

RANDOM = Cell(5, "5.1", "mnist", 1, "random", "none", "convnet")


@pytest.fixture
def runner(tiny_root, tmp_path):
    return Runner(get_profile("smoke", test_limit=20, batch_real=4), tmp_path / "out", data_root=tiny_root,
                  device="cpu")


def _plant(runner, **changes):
    """Put a set at RANDOM's path that agrees on seed and budget but differs in ``changes``."""
    good = runner.synset(RANDOM)
    path = runner.synset_path(RANDOM, 0)
    dataclasses.replace(good, **changes).save(path)
    return good, path


@pytest.mark.parametrize("changes, reason", [
    (dict(dataset="fashionmnist"), "dataset 'fashionmnist', not 'mnist'"),
    (dict(ipc=2, images=torch.zeros(20, 1, 28, 28), labels=torch.arange(10).repeat_interleave(2)), "ipc 2, not 1"),
    (dict(method="herding"), "method 'herding', not 'random'"),
    (dict(images=torch.zeros(10, 3, 32, 32)), r"images of shape \(10, 3, 32, 32\)"),
])
def test_a_set_file_of_other_data_ipc_or_method_is_made_again_with_a_warning_naming_it(runner, changes, reason):
    good, path = _plant(runner, **changes)
    with pytest.warns(RuntimeWarning, match=rf"{path}.*{reason}.*made again"):
        syn = runner.synset(RANDOM)
    assert (syn.dataset, syn.ipc, syn.method) == ("mnist", 1, "random")
    assert torch.equal(syn.images, good.images)  # same seed: the same set as before
    assert SyntheticSet.load(path).ipc == 1  # and it replaced the wrong file


def test_a_truncated_set_file_is_made_again_instead_of_stopping_every_rerun(runner):
    good, path = _plant(runner)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match=rf"{path}: not a readable set file"):
        syn = runner.synset(RANDOM)
    assert torch.equal(syn.images, good.images)


def test_a_matching_set_file_is_reused_silently(runner, recwarn):
    good, path = _plant(runner)
    mtime = path.stat().st_mtime_ns
    assert torch.equal(runner.synset(RANDOM).images, good.images)
    assert path.stat().st_mtime_ns == mtime and not [w for w in recwarn if w.category is RuntimeWarning]
