"""Faults around artefacts on disk (issue 13): checkpoints, atomic writes."""

import errno
from dataclasses import replace

import pytest
import torch

from dc_lib.core.checkpoint import Checkpointing, resume_checkpoint, save_checkpoint
from dc_lib.core.files import atomic_write
from dc_lib.methods import distribution_matching as dm_module
from dc_lib.methods.distribution_matching import DMConfig, condense_dm
from dc_lib.methods.gradient_matching import GMConfig

SMALL = DMConfig(batch_real=6)
QUIET = dict(progress=False)


def _state():
    images = torch.zeros(2, 3, requires_grad=True)
    return images, torch.optim.SGD([images], lr=0.1), torch.Generator().manual_seed(0)


def test_a_truncated_checkpoint_warns_naming_the_file_and_restarts_from_zero(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    images, opt, gen = _state()
    save_checkpoint(ckpt, {"a": 1}, images, opt, gen, 5)
    ckpt.write_bytes(ckpt.read_bytes()[:40])
    with pytest.warns(RuntimeWarning, match="run.ckpt"):
        assert resume_checkpoint(ckpt, {"a": 1}, images, opt, gen) == 0


def test_a_garbage_checkpoint_warns_and_restarts_from_zero(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    ckpt.write_bytes(b"not a checkpoint at all")
    images, opt, gen = _state()
    with pytest.warns(RuntimeWarning, match="run.ckpt"):
        assert resume_checkpoint(ckpt, {"a": 1}, images, opt, gen) == 0


def test_dm_never_saves_a_checkpoint_that_failed_the_finiteness_check(tiny_real, tmp_path, monkeypatch):
    ckpt = tmp_path / "run.ckpt"
    saved = []
    real_save = dm_module.save_checkpoint

    def poison_then_save(path, config, images, *args):
        saved.append(args[-1])
        real_save(path, config, images, *args)

    monkeypatch.setattr(dm_module, "save_checkpoint", poison_then_save)
    calls, real_means = [], dm_module._real_class_means

    def nan_from_the_second_iteration(*args):
        calls.append(1)
        means = real_means(*args)
        return means if len(calls) == 1 else means * float("nan")

    # Iteration 1 is checked (it % 10 == 0) and fine; the NaN of iteration 2 would be saved at 2 unchecked.
    monkeypatch.setattr(dm_module, "_real_class_means", nan_from_the_second_iteration)
    with pytest.raises(FloatingPointError):
        condense_dm(tiny_real, 1, replace(SMALL, iterations=6), seed=2, checkpoint=Checkpointing(ckpt, 2), **QUIET)
    assert saved == [] and not ckpt.exists()


def test_dm_keeps_its_checkpoint_for_a_caller_that_saves_the_set(tiny_real, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    condense_dm(tiny_real, 1, replace(SMALL, iterations=4), seed=2, checkpoint=Checkpointing(ckpt, 2, keep=True),
                **QUIET)
    assert ckpt.is_file()


def test_a_full_disk_error_names_the_file(tmp_path):
    def full(tmp):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="out.csv") as info:
        atomic_write(tmp_path / "out.csv", full)
    assert info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def _append_many(path, method):
    from dc_lib.runs.results import Cell, ResultStore, make_rows
    store = ResultStore(path)
    for set_idx in range(20):
        cell = Cell(chapter=3, table="3.1", dataset="MNIST", ipc=1, method=method)
        store.append(make_rows(cell, set_idx, 0, [1.0, 2.0], profile="cpu", budget="b", data_source="d"))


def test_two_processes_appending_into_one_store_lose_no_rows(tmp_path):
    import multiprocessing

    from dc_lib.runs.results import ResultStore
    path = tmp_path / "results.csv"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(path, m)) for m in ("dm", "dc")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert len(ResultStore(path).load()) == 80


def test_dm_nan_after_resuming_names_the_checkpoint_to_delete(tiny_real, tmp_path, monkeypatch):
    """A rerun resumes the same (finite) checkpoint and diverges again: the error says which file to delete."""
    ckpt = tmp_path / "run.ckpt"
    condense_dm(tiny_real, 1, replace(SMALL, iterations=3), seed=2, checkpoint=Checkpointing(ckpt, 2, keep=True),
                **QUIET)
    assert ckpt.is_file()
    real_means = dm_module._real_class_means
    monkeypatch.setattr(dm_module, "_real_class_means", lambda *a: real_means(*a) * float("nan"))
    with pytest.raises(FloatingPointError, match=rf"delete it \(rm {ckpt}\)"):
        condense_dm(tiny_real, 1, replace(SMALL, iterations=3), seed=2, checkpoint=Checkpointing(ckpt, 2), **QUIET)


def test_dm_nan_without_a_checkpoint_does_not_mention_one(tiny_real, monkeypatch):
    real_means = dm_module._real_class_means
    monkeypatch.setattr(dm_module, "_real_class_means", lambda *a: real_means(*a) * float("nan"))
    with pytest.raises(FloatingPointError) as err:
        condense_dm(tiny_real, 1, replace(SMALL, iterations=2), seed=2, **QUIET)
    assert "checkpoint" not in str(err.value)


def test_dc_nan_after_resuming_names_the_checkpoint_to_delete(tiny_real, tmp_path, monkeypatch):
    from dc_lib.methods import gradient_matching as gm_module

    ckpt = tmp_path / "dc.ckpt"
    config = GMConfig(iterations=2, loops=(1, 1), batch_real=4)
    gm_module.condense_gm(tiny_real, 1, config, seed=1, checkpoint=Checkpointing(ckpt, 1, keep=True), **QUIET)
    assert ckpt.is_file()
    real_step = gm_module.match_step
    monkeypatch.setattr(gm_module, "match_step", lambda *a, **k: real_step(*a, **k) * float("nan"))
    with pytest.raises(FloatingPointError, match=rf"delete it \(rm {ckpt}\)"):
        gm_module.condense_gm(tiny_real, 1, config, seed=1, checkpoint=Checkpointing(ckpt, 1), **QUIET)
