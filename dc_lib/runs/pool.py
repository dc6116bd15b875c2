"""One box, many workers: jobs from a queue, each worker pinned to one device.

``concurrent.futures.ProcessPoolExecutor`` does what is needed and no more: a fixed set of
long-lived worker processes (warm: each loads a dataset once, :func:`dc_lib.runs.jobs.run_job`
keeps it), one shared queue they take jobs from until none are left, an initializer that runs
in each worker before its first job (where the device is pinned), and futures that carry each
job's result or exception back. Workers are started with ``spawn``: a forked copy of a process
that has used torch's thread pool or CUDA is not safe. A worker that dies (killed, out of memory)
breaks the pool; the jobs it had not finished are reported as failed and rerun by the next
call, since only a finished job has a done-marker.

Pinning: on GPUs, worker ``i`` sees only its GPU (``CUDA_VISIBLE_DEVICES``, set before torch
touches CUDA); with ``per_gpu = k`` each GPU gets ``k`` workers (packing: a small job, e.g. a 1-ipc
DM set, leaves most of a large GPU idle, and ``k`` of them share it). On CPU, each of ``N`` workers
gets ``cores // N`` torch threads, so the workers together use the cores once, not ``N`` times over.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

import torch

from .jobs import JobSpec, run_job


def cpu_cores() -> int:
    """The CPU cores this process may run on (its affinity mask: what taskset, cgroups or Slurm allow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_workers(workers: int | None, gpus: list[int] | None, device: str,
                  per_gpu: int = 1) -> tuple[list[int | None], int]:
    """Validate a pool's size against this machine; return (one device per worker, torch threads each).

    ``gpus``: the GPU indices to use (``--gpus 0,1``); ``workers`` alone on CUDA takes the first
    ``workers`` GPUs, on CPU that many processes. ``per_gpu``: workers on each of those GPUs
    (``--per-gpu``, default 1). Raises ``ValueError`` (one line) for more workers than GPUs or than
    cores (each CPU worker needs a core of its own: more would only share them and slow every job), a
    GPU index that is not there, both flags disagreeing, or ``per_gpu`` other than 1 without GPUs.
    """
    if workers is not None and workers < 1:
        raise ValueError(f"--jobs must be at least 1, got {workers}")
    if isinstance(per_gpu, bool) or not isinstance(per_gpu, int) or per_gpu < 1:
        raise ValueError(f"--per-gpu must be a whole number of workers per GPU, 1 or more, got {per_gpu!r}")
    cores = cpu_cores()
    on_gpu = gpus is not None or (device in ("cuda", "auto") and torch.cuda.is_available())
    if device == "cpu" and gpus is not None:
        raise ValueError("--gpus with --device cpu: name GPUs only for a CUDA run")
    if per_gpu > 1 and not on_gpu:
        raise ValueError(f"--per-gpu {per_gpu} packs workers onto GPUs, and this run has none: on CPU, --jobs N "
                         "alone sets the workers")
    if on_gpu:
        count = torch.cuda.device_count()
        if gpus is None:
            gpus = list(range(workers or count))
            if len(gpus) > count:
                raise ValueError(f"--jobs {workers} is more than the {count} GPU(s) torch sees: one worker per GPU")
        absent = [g for g in gpus if not 0 <= g < count]
        if absent:
            raise ValueError(f"--gpus names GPU {absent[0]}, but torch sees {count} GPU(s)"
                             + (f" (0-{count - 1})" if count else ""))
        if len(set(gpus)) != len(gpus):
            raise ValueError(f"--gpus names a GPU twice: {','.join(map(str, gpus))}")
        if workers is not None and workers != len(gpus):
            raise ValueError(f"--jobs {workers} but --gpus names {len(gpus)} GPU(s): one worker per GPU")
        devices = [g for g in gpus for _ in range(per_gpu)]
        return devices, max(1, cores // len(devices))
    workers = workers or 1
    if workers > cores:
        raise ValueError(f"--jobs {workers} is more than the {cores} CPU core(s) this process may use: "
                         "each worker needs a core of its own")
    return [None] * workers, cores // workers


def _pin_worker(devices, threads: int) -> None:
    """Initializer of each worker: take one device from the queue, set the thread count."""
    gpu = devices.get()
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    torch.set_num_threads(threads)


def run_pool(specs: list[JobSpec], devices: list[int | None], threads: int,
             on_result: Callable[[JobSpec, dict], None] | None = None) -> list[dict]:
    """Run ``specs`` on ``len(devices)`` warm workers (:func:`check_workers` gives ``devices``, ``threads``).

    Returns one result per spec, in the order given: :func:`~dc_lib.runs.jobs.run_job`'s dict, or
    ``{"id", "status": "failed", "error"}`` for a job that raised or whose worker died. ``on_result``
    is called as each job ends (to print progress).
    """
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    for device in devices:
        queue.put(device)
    results: dict[str, dict] = {}
    with ProcessPoolExecutor(max_workers=len(devices), mp_context=ctx, initializer=_pin_worker,
                             initargs=(queue, threads)) as pool:
        futures = {pool.submit(run_job, spec.to_json()): spec for spec in specs}
        for future in as_completed(futures):
            spec = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                result = {"id": spec.id, "status": "failed", "error": "a worker process died (killed or out of "
                          "memory); rerun to continue"}
            except Exception as err:  # the job's own error: report it, let the other jobs finish
                result = {"id": spec.id, "status": "failed", "error": f"{type(err).__name__}: {err}"}
            results[spec.id] = result
            if on_result is not None:
                on_result(spec, result)
    return [results[spec.id] for spec in specs]
