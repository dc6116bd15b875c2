"""Evaluation networks side by side on CPU cores, in cache-sized micro-batches.

On a small CPU, stacking networks (:mod:`dc_lib.engines.stacked`) makes every tensor
``num_nets`` times larger, and this convolutional net is already limited by how
much of its activations stay in cache, not by per-call overhead. This path goes
the other way, and gives the numbers of the plain loop
(:func:`dc_lib.engines.evaluation.evaluate_set_loop`) up to float rounding:

* each core trains whole networks on its own (one Python thread per core, one
  torch thread each: torch releases the GIL inside its kernels), instead of every
  network's small operations being split across the cores (networks left over when
  their number is not a multiple of the cores are trained after, with all cores);
* each batch goes through the network in micro-batches of ``micro_batch`` images whose
  gradients are summed before the one SGD step: with the per-sample norms of these
  networks (instance norm, no BatchNorm) the sum of the micro-batch gradients of
  ``sum(loss) / B`` is the gradient of the batch's mean loss;
* the test split is read in batches of ``TEST_BATCH`` (32) images.

Network ``i`` gets exactly what the plain loop gives it: the initialisation after
``seed_everything(derive_seed(seed, "net", i))``, its own generator for shuffling and
DSA draws (the whole batch is augmented at once, before it is split, so draws and the
``classic`` strategy's batch mean are unchanged), the same schedule and optimiser.
The architectures are those of :func:`dc_lib.engines.stacked.supports_stacking` (no
BatchNorm: its batch statistics would see micro-batches instead of the batch).

On CUDA the same functions run each worker thread's networks on its own CUDA stream, with
whole batches (no micro-batches): measured on an H100 (one run) at 2.0-2.2x the plain loop for 20
networks, below the stacked path for the architectures that can be stacked, so
``evaluate_set`` does not pick it there (README.md, "Performance").
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

import torch
import torch.nn as nn
from tqdm import tqdm

from ..core.models import get_network
from ..core.seeding import derive_seed, make_generator, seed_everything
from .evaluation import EvalConfig, test_accuracy, train_network
from .stacked import STACKABLE, _check_set, supports_stacking

# Images per forward on CPU (README.md, "Performance"; 2 cores, 10-ipc set): training 16 (0.218 s per
# network and pass, vs 0.216 at 8, 0.227 at 32, 0.299 unsplit); testing 32 (0.69 s per 1000 images, 1.10 s at 64).
MICRO_BATCH = 16
TEST_BATCH = 32
# CUDA: networks in flight at once, each on its own stream (whole batches, test batches of 1024).
CUDA_WORKERS = 8
CUDA_TEST_BATCH = 1024


def train_micro_batched(net: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, epochs: int,
                        generator: torch.Generator, micro_batch: int = MICRO_BATCH, **train_kw) -> nn.Module:
    """``evaluation.train_network`` with each batch of ``images (N, C, H, W)`` run in micro-batches.

    The shuffling, augmentation draws, batches, schedule and optimiser steps are the
    plain loop's; only the forward/backward of a batch is split into chunks of
    ``micro_batch`` images whose gradients add up to the batch's.
    """
    return train_network(net, images, labels, epochs=epochs, generator=generator, micro_batch=micro_batch,
                         **train_kw)


def evaluate_set_side_by_side(images: torch.Tensor, labels: torch.Tensor, real, config: EvalConfig, *, seed: int,
                              progress: bool = True, workers: int | None = None, micro_batch: int = MICRO_BATCH,
                              compile: bool = False) -> list[float]:
    """``evaluate_set`` on CPU with networks trained side by side: the same accuracies (%) up to rounding.

    Args:
        images, labels, real, config, seed: as ``evaluate_set``. On CUDA the networks run on their
            own streams, whole batches.
        progress: a tqdm bar of trained networks.
        workers: networks trained at once, one torch thread each; None -> torch's current
            thread count (the cores torch uses), at most ``num_nets``.
        workers, micro_batch, compile: speed only. ``micro_batch``: images per forward/backward in
            training (the test reads ``TEST_BATCH`` at a time); ``compile``: train and test each
            network through ``torch.compile`` (:mod:`dc_lib.engines.compiled`).

    Returns:
        ``num_nets`` test accuracies in percent, network ``i`` at position ``i``.
    """
    arch, arch_overrides, num_nets = config.arch, config.arch_overrides, config.num_nets
    if not supports_stacking(arch, arch_overrides):
        raise ValueError(f"arch {arch!r} is not supported here (supported: {', '.join(STACKABLE)}, without "
                         "BatchNorm); use dc_lib.engines.choose.evaluate_set, which falls back to the plain loop")
    cuda = torch.device(real.device).type == "cuda"
    if isinstance(num_nets, bool) or not isinstance(num_nets, int) or num_nets < 1:
        raise ValueError(f"num_nets must be a positive int, got {num_nets!r}")
    if isinstance(micro_batch, bool) or not isinstance(micro_batch, int) or micro_batch < 1:
        raise ValueError(f"micro_batch must be a positive int, got {micro_batch!r}")
    _check_set(images, labels)
    x_test, y_test = config.test_split(real)
    nets = []
    for i in range(num_nets):  # built in order on this thread: initialisation uses torch's global RNG
        seed_everything(derive_seed(seed, "net", i))
        nets.append(get_network(arch, real.info.channel, real.info.num_classes, real.info.im_size,
                                **(arch_overrides or {})))
    gens = [make_generator(derive_seed(seed, "net", i)) for i in range(num_nets)]
    nets = [n.to(real.device) for n in nets]
    train_side_by_side(nets, images.to(real.device), labels.to(real.device), epochs=config.epochs, generators=gens,
                       strategy=config.strategy, workers=workers, micro_batch=None if cuda else micro_batch,
                       progress=progress, compile=compile, **config.train_kw)
    return accuracies_side_by_side(nets, x_test, y_test, workers=workers,
                                   batch_size=CUDA_TEST_BATCH if cuda else TEST_BATCH, compile=compile)


def _on_cores(fn, count: int, workers: int | None, desc: str | None = None, device=None, on_done=None) -> list:
    """``[fn(0), ..., fn(count - 1)]``: ``workers`` calls at a time, one torch thread each.

    CPU (``device`` None or CPU): ``workers`` None means torch's thread count; the calls left
    over when ``count`` is not a multiple of ``workers`` run afterwards on this thread with all
    of torch's threads, so no core idles while one network finishes alone.
    CUDA: each worker thread issues its calls on its own CUDA stream, so the small kernels of
    several networks run on the GPU at once; ``workers`` None means ``CUDA_WORKERS``.
    ``desc``: show a tqdm bar of finished calls under that name. ``on_done(i, result)``: called on
    this thread as each call finishes (e.g. to record it at once, so an interrupted run keeps it).
    """
    cuda = device is not None and torch.device(device).type == "cuda"
    threads = torch.get_num_threads()
    workers = max(1, min(count, workers or (CUDA_WORKERS if cuda else threads)))
    side_by_side = count if cuda else (count - count % workers if workers > 1 else 0)
    local = threading.local()

    def one(i: int):
        torch.set_num_threads(1)  # this core's network alone; the other cores run the others
        if not cuda:
            return fn(i)
        if not hasattr(local, "stream"):
            local.stream = torch.cuda.Stream(device)
            local.stream.wait_stream(torch.cuda.current_stream(device))  # inputs made on the caller's stream
        with torch.cuda.stream(local.stream):
            out = fn(i)
        local.stream.synchronize()
        return out

    with tqdm(total=count, desc=desc, disable=desc is None, leave=False) as bar:
        results = []
        if side_by_side:
            try:
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dc-eval") as pool:
                    futures = {pool.submit(one, i): i for i in range(side_by_side)}
                    for future in as_completed(futures):
                        if on_done is not None:
                            on_done(futures[future], future.result())
                        bar.update()
                    results = [f.result() for f in futures]
            finally:
                torch.set_num_threads(threads)  # torch's count is process-wide: give the caller its own back
        for i in range(side_by_side, count):
            results.append(fn(i))
            if on_done is not None:
                on_done(i, results[-1])
            bar.update()
    return results


def map_on_cores(fn, count: int, *, workers: int | None = None, on_done=None, desc: str | None = None) -> list:
    """``[fn(0), ..., fn(count - 1)]`` on the CPU cores, ``workers`` calls at a time with one torch thread
    each (None: torch's thread count); the calls left over run after, with every thread. ``on_done(i,
    result)`` runs on the calling thread as each call finishes. For independent jobs of unequal cost,
    e.g. different architectures of a search (:mod:`dc_lib.runs.nas`): each job's numbers are those of
    the job run alone, up to float rounding (one thread sums in another order than two)."""
    return _on_cores(fn, count, workers, desc=desc, on_done=on_done)


def train_side_by_side(nets: list[nn.Module], images: torch.Tensor, labels: torch.Tensor, *, epochs: int,
                       generators: list[torch.Generator], workers: int | None = None,
                       micro_batch: int = MICRO_BATCH, progress: bool = False, **train_kw) -> list[nn.Module]:
    """Train every network in place with :func:`train_micro_batched`, ``workers`` at a time (CPU tensors)."""
    if len(generators) != len(nets):
        raise ValueError(f"{len(generators)} generators for {len(nets)} networks; give one per network")
    _on_cores(lambda i: train_micro_batched(nets[i], images, labels, epochs=epochs, generator=generators[i],
                                            micro_batch=micro_batch, **train_kw), len(nets), workers,
              desc="eval side by side" if progress else None, device=images.device)
    return nets


def accuracies_side_by_side(nets: list[nn.Module], x: torch.Tensor, y: torch.Tensor, *, workers: int | None = None,
                            batch_size: int = TEST_BATCH, compile: bool = False) -> list[float]:
    """Top-1 accuracy (%) of every network (eval mode) on ``x (N, C, H, W)``, ``y (N,)``, ``workers`` at a time."""
    return _on_cores(lambda i: test_accuracy(nets[i], x, y, batch_size, compile), len(nets), workers,
                     device=x.device)
