"""Jobs per hour by backend and worker count on this machine, and the paper profile's projected GPU-hours.

    DC_DATA_ROOT=../shared/data python benchmarks/jobs_throughput.py [--chapter 5] [--profile smoke]
        [--workers 1,2] [--device cpu|cuda] [--budget dm_iterations=300,eval_epochs=100]
        [--threads N] [--skip-inline] [--skip-measure | --skip-projection] [--calibrate N]

Prints JSON lines. ``"what": "throughput"``: one chapter's jobs (``dc_lib.runs.jobs``), each
backend in a fresh results folder: ``inline`` (one after another in this process, torch on all
cores, what the notebook does) and ``pool`` with 1 and 2 warm workers (``dc_lib.runs.pool``, cores
shared out). Wall time includes starting the workers and loading the data once per worker. The
load average is printed with each line: on a shared machine it says how much of the CPU the run had.
``utilisation`` says how busy the device was: on CPU the CPU time of this process and its workers over
wall time x cores; on CUDA the mean of the GPU's own utilisation counter (``torch.cuda.utilization``,
else ``nvidia-smi``), sampled every half second. With ``--device cuda`` the pool's workers go one per
GPU, round robin. ``--budget`` overrides profile fields (integers) so that smoke jobs last long enough
for the start-up of the workers not to be the whole measurement.

``"what": "calibration"`` (``--calibrate N``): N of the chapter's ``paper`` DM jobs on MNIST run inline at
``--budget`` (shortened), each with its measured seconds beside the cost model's H100 projection of the same job
at the same budget; on an H100 the ratio says how far the projections are off.

``"what": "goal_5_1"``: issue 18's goal, Table 5.1 without TinyImageNet on one GPU: the same cost model's
H100 hours by part, and the arithmetic the protocol does (PFLOP, from torch's FLOP counter on each dataset's
ConvNet) with the hours that needs at an H100's FP32 rate and at a TF32 tensor-core rate (the floor).

``"what": "projection"``: the GPU-hours of each chapter's ``paper`` jobs, from the cost model of
``dc_lib/runs/job_cost.py`` fed with the README's measured H100 figures, not from a GPU run: a
projection, to plan a cluster allocation. Where the README has no measurement (outer iterations
above 10 ipc, the whole training set), the model extrapolates, and the line says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from dc_lib.core.config import dm_iterations, get_profile  # noqa: E402
from dc_lib.core.data import DATASETS  # noqa: E402
from dc_lib.core.models import get_network  # noqa: E402
from dc_lib.runs.experiments import Runner  # noqa: E402
from dc_lib.runs.job_cost import TRAIN_SIZE, job_seconds, set_seconds  # noqa: E402
from dc_lib.thesis.chapter5 import planned_5_1  # noqa: E402
from dc_lib.runs.jobs import JobSpec, Planner, plan_jobs, run_job  # noqa: E402
from dc_lib.runs.pool import cpu_cores, run_pool  # noqa: E402
from dc_lib.cli import JOB_CHAPTERS  # noqa: E402
from dc_lib.thesis import chapter3, chapter4, chapter5  # noqa: E402

CHAPTERS = {3: chapter3, 4: chapter4, 5: chapter5}


def plan(chapter: int, profile: str, out: Path, data_root, cells: str = "all_cells",
         device: str = "cpu", budget: dict | None = None) -> list[JobSpec]:
    """The jobs of a chapter's notebook (``cells``: ``all_cells``, or chapter 5's ``analysis_cells``), with
    ``budget``'s profile fields overridden in every task (a job carries its profile by name)."""
    get_profile(profile, **(budget or {}))  # an unknown field fails here
    planner = Planner(get_profile(profile), out, device=device)
    getattr(CHAPTERS[chapter], cells)(planner)
    specs = plan_jobs(planner, chapter, data_root=data_root, device=device)
    return [dataclasses.replace(spec, tasks=tuple(
        dataclasses.replace(task, overrides=tuple({**dict(task.overrides), **(budget or {})}.items()))
        for task in spec.tasks)) for spec in specs]


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its children that have ended."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def _gpu_percent() -> float | None:
    """The GPU's utilisation counter now (%, mean over the GPUs), or None where it cannot be read."""
    try:
        return sum(torch.cuda.utilization(i) for i in range(torch.cuda.device_count())) / torch.cuda.device_count()
    except Exception:  # noqa: BLE001 - no pynvml: ask nvidia-smi
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=5, check=True).stdout.split()
            return sum(float(v) for v in out) / len(out) if out else None
        except (OSError, subprocess.SubprocessError, ValueError):
            return None


class Utilisation:
    """How busy the device was between ``start()`` and ``stop()`` (a fraction, or None if unmeasurable)."""

    def __init__(self, device: str):
        self.device, self.samples, self._done = device, [], threading.Event()

    def start(self) -> "Utilisation":
        self.t0, self.cpu0 = time.perf_counter(), _cpu_seconds()
        if self.device == "cuda":
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.5):
            value = _gpu_percent()
            if value is not None:
                self.samples.append(value / 100)

    def stop(self) -> float | None:
        seconds = time.perf_counter() - self.t0
        if self.device == "cuda":
            self._done.set()
            self._thread.join()
            return round(sum(self.samples) / len(self.samples), 3) if self.samples else None
        return round((_cpu_seconds() - self.cpu0) / (seconds * cpu_cores()), 3)


def measure(chapter: int, profile: str, backend: str, workers: int, data_root, device: str = "cpu",
            budget: dict | None = None, threads: int | None = None) -> dict:
    """Run the chapter's jobs once in a fresh folder; wall time, device utilisation and per-job times (inline
    only). ``threads``: torch threads per pool worker (default: the cores shared out among the workers)."""
    out = Path(tempfile.mkdtemp(prefix=f"jobs_{backend}{workers}_"))
    try:
        specs = plan(chapter, profile, out, data_root, device=device, budget=budget)
        load = os.getloadavg()[0]
        busy = Utilisation(device).start()
        t0 = time.perf_counter()
        per_job = []
        if backend == "inline":
            for spec in specs:
                t = time.perf_counter()
                run_job(spec)
                per_job.append(round(time.perf_counter() - t, 2))
        else:
            cores = cpu_cores()
            gpus = [i % torch.cuda.device_count() for i in range(workers)] if device == "cuda" else [None] * workers
            results = run_pool(specs, gpus, threads or max(1, cores // workers))
            failed = [r for r in results if r["status"] == "failed"]
            if failed:
                raise RuntimeError(f"{len(failed)} job(s) failed: {failed[0].get('error')}")
        seconds = time.perf_counter() - t0
        utilisation = busy.stop()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    line = {"what": "throughput", "chapter": chapter, "profile": profile, "backend": backend, "workers": workers,
            "device": device, "utilisation": utilisation, "budget": budget or {},
            "threads_per_worker": (torch.get_num_threads() if backend == "inline"
                                   else threads or max(1, cpu_cores() // workers)),
            "jobs": len(specs), "seconds": round(seconds, 1), "jobs_per_hour": round(len(specs) / seconds * 3600, 1),
            "load_avg_before": round(load, 2), "load_avg_after": round(os.getloadavg()[0], 2),
            "cpu_cores": cpu_cores(), "torch": torch.__version__, "machine": platform.processor() or platform.machine()}
    if per_job:
        line["per_job_seconds"] = per_job
    return line


def project(name: str) -> dict:
    """The paper profile's jobs of one ``./reproduce.sh`` name (``chapter3`` ... ``chapter5_analyses``), with
    their projected H100 hours."""
    p = get_profile("paper")
    out = Path(tempfile.gettempdir()) / "jobs_projection"
    chapter, cells = JOB_CHAPTERS[name]
    specs = plan(chapter, "paper", out, None, cells)
    jobs, notes = [], set()
    for spec in specs:
        seconds, why = job_seconds(spec, p)
        jobs.append(seconds / 3600)
        notes.update(why)
    gpu_hours = sum(jobs)
    return {"what": "projection", "chapter": name, "profile": "paper", "jobs": len(specs),
            "cells": len({t.cell for s in specs for t in s.tasks}), "gpu_hours": round(gpu_hours, 1),
            "longest_job_hours": round(max(jobs), 1),
            "wall_hours_on": {str(g): round(max(gpu_hours / g, max(jobs)), 1) for g in (1, 8, 32)},
            "source": "README H100 figures (2026-11-25) and a cost model: a projection, not a GPU run",
            "extrapolated": sorted(notes)}


GOAL_DATASETS = ("mnist", "cifar10", "cifar100")  # Table 5.1 without TinyImageNet (issue 18's goal)
TEST_IMAGES = 10000  # the test split of each of them
FP32_TFLOPS, TF32_TFLOPS = 60, 400  # an H100's FP32 peak, roughly; TF32 tensor-core work at about 80 % of peak


def forward_gflop(dataset: str) -> float:
    """GFLOP of one image's forward through the dataset's ConvNet (torch's FLOP counter)."""
    info = DATASETS[dataset]
    net = get_network("convnet", info.channel, info.num_classes, info.im_size)
    with FlopCounterMode(display=False) as counter:
        net(torch.zeros(1, info.channel, *info.im_size))
    return counter.get_total_flops() / 1e9


def goal_5_1() -> dict:
    """Issue 18's goal, Table 5.1 without TinyImageNet in the paper profile on one GPU: the cost model's
    H100 hours by part, and the arithmetic the protocol does (PFLOP; a backward that also takes the weights'
    gradients = 2 x forward, DM's with frozen weights = 1 x) with the hours
    it needs at FP32 and at TF32 tensor-core rates."""
    p = get_profile("paper")
    runner = Runner(p, Path(tempfile.gettempdir()) / "jobs_projection", device="cpu")
    hours = {"condense": 0.0, "evaluate": 0.0, "whole_set": 0.0}
    pflop = dict.fromkeys(hours, 0.0)
    for cell in planned_5_1(p, datasets=GOAL_DATASETS):
        info, sets = DATASETS[cell.dataset], runner.num_sets(cell)
        g = forward_gflop(cell.dataset) / 1e6  # PFLOP per forward image
        condense, evaluate, _ = set_seconds(runner, cell)
        part = "whole_set" if cell.method == "whole" else "evaluate"
        hours["condense"] += sets * condense / 3600
        hours[part] += sets * evaluate / 3600
        nets = (p.whole_nets or p.num_nets) if cell.method == "whole" else p.num_nets
        # training: forward + backward (input and weight gradients, 2 x forward) over epochs + 1 passes
        train_images = TRAIN_SIZE[cell.dataset] if cell.method == "whole" else cell.ipc * info.num_classes
        epochs = p.whole_epochs if cell.method == "whole" else p.eval_epochs
        pflop[part] += sets * nets * ((epochs + 1) * train_images * 3 + TEST_IMAGES) * g
        if cell.method == "dm":  # real side forward only; synthetic side forward + the input gradient (frozen psi)
            pflop["condense"] += (sets * dm_iterations(p, cell.dataset) * info.num_classes
                                  * (p.batch_real + 2 * cell.ipc) * g)
    total = sum(pflop.values())
    return {"what": "goal_5_1", "table": "5.1 without TinyImageNet", "profile": "paper",
            "projected_h100_hours": {k: round(v, 1) for k, v in hours.items()} | {"total": round(sum(hours.values()), 1)},
            "pflop": {k: round(v) for k, v in pflop.items()} | {"total": round(total)},
            f"floor_hours_at_{FP32_TFLOPS}_tflops": round(total * 1e3 / FP32_TFLOPS / 3600, 1),
            f"floor_hours_at_{TF32_TFLOPS}_tflops": round(total * 1e3 / TF32_TFLOPS / 3600, 1),
            "source": "cost model (README H100 figures) and torch's FLOP counter: a projection, not a GPU run"}


def calibrate(chapter: int, count: int, data_root, device: str, budget: dict) -> list[dict]:
    """Run ``count`` of the chapter's ``paper`` DM jobs on MNIST (one set each) inline, at ``budget`` (shortened
    K and epochs), and set each job's measured seconds beside the cost model's H100 projection of the same
    job at the same budget: on an H100 their ratio says how far the projections above are off.
    The first job's time includes loading the data and compiling nothing (the paper profile does not compile)."""
    p = get_profile("paper")
    out = Path(tempfile.mkdtemp(prefix="jobs_calibrate_"))
    try:
        specs = [s for s in plan(chapter, "paper", out, data_root, device=device, budget=budget)
                 if all(t.cell.dataset == "mnist" and t.cell.method == "dm" for t in s.tasks)][:count]
        lines = []
        for spec in specs:
            t = time.perf_counter()
            run_job(spec)
            measured = time.perf_counter() - t
            projected, _ = job_seconds(spec, p)
            lines.append({"what": "calibration", "chapter": chapter, "profile": "paper", "budget": budget,
                          "device": device, "cells": [f"{t.cell.table} {t.cell.dataset} ipc={t.cell.ipc} {t.cell.method} "
                                                      f"sets={list(t.sets) if t.sets else 'all'}" for t in spec.tasks],
                          "measured_s": round(measured, 1), "projected_h100_s": round(projected, 1),
                          "measured_over_projected": round(measured / projected, 2), "torch": torch.__version__})
        return lines
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chapter", type=int, default=5, choices=(3, 4, 5))
    ap.add_argument("--profile", default="smoke", choices=("smoke", "cpu"))
    ap.add_argument("--workers", default="1,2", help="pool sizes to measure, e.g. 1,2")
    ap.add_argument("--data-root", default=os.environ.get("DC_DATA_ROOT"))
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--budget", default="", help="profile fields to override, e.g. dm_iterations=300,eval_epochs=100")
    ap.add_argument("--skip-measure", action="store_true", help="only print the paper projection")
    ap.add_argument("--skip-projection", action="store_true", help="only measure (no paper projection)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads per pool worker (default: the cores shared out), e.g. 1 with --workers 1 "
                         "to see one core's throughput")
    ap.add_argument("--skip-inline", action="store_true", help="measure only the pool")
    ap.add_argument("--calibrate", type=int, default=0, metavar="N",
                    help="also run N paper-profile DM jobs on MNIST at --budget and compare them with the cost model")
    args = ap.parse_args()
    budget = {k: int(v) for k, v in (part.split("=", 1) for part in args.budget.split(",") if part)}
    if not args.skip_measure:
        runs = [("inline", 1)] * (not args.skip_inline) + [("pool", int(w)) for w in args.workers.split(",")]
        for backend, workers in runs:
            print(json.dumps(measure(args.chapter, args.profile, backend, workers, args.data_root, args.device,
                                     budget, args.threads)), flush=True)
    for line in calibrate(args.chapter, args.calibrate, args.data_root, args.device, budget) if args.calibrate else []:
        print(json.dumps(line), flush=True)
    if args.skip_projection:
        return
    print(json.dumps(goal_5_1()), flush=True)
    for name in JOB_CHAPTERS:
        print(json.dumps(project(name)), flush=True)


if __name__ == "__main__":
    main()
