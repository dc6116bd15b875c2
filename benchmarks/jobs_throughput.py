"""Jobs per hour by backend and worker count on this machine, and the paper profile's projected GPU-hours.

    DC_DATA_ROOT=../shared/data python benchmarks/jobs_throughput.py [--chapter 5] [--profile smoke]
        [--workers 1,2] [--skip-measure]

Prints JSON lines. ``"what": "throughput"``: one chapter's jobs (``dc_lib.runs.jobs``), each
backend in a fresh results folder: ``inline`` (one after another in this process, torch on all
cores, what the notebook does) and ``pool`` with 1 and 2 warm workers (``dc_lib.runs.pool``, cores
shared out). Wall time includes starting the workers and loading the data once per worker. The
load average is printed with each line: on a shared machine it says how much of the CPU the run had.

``"what": "projection"``: the GPU-hours of each chapter's ``paper`` jobs, from a cost model fed
with the README's measured H100 figures (``H100`` below), not from a GPU run: a projection, to
plan a cluster allocation. Per set: condensation (K x the measured time of one DM iteration or one
DC/DSA outer iteration) and evaluation (20 stacked networks, scaled by epochs and set batches), both
scaled from MNIST's ConvNet by classes and pixels. Where the README has no measurement (50 ipc
outer iterations, the whole training set), the model extrapolates, and the line says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from dc_lib.core.config import dm_iterations, get_profile, gm_iterations  # noqa: E402
from dc_lib.core.data import DATASETS  # noqa: E402
from dc_lib.runs.experiments import CORESETS, Runner  # noqa: E402
from dc_lib.runs.jobs import JobSpec, Planner, plan_jobs, run_job  # noqa: E402
from dc_lib.runs.pool import cpu_cores, run_pool  # noqa: E402
from dc_lib.thesis import chapter3, chapter4, chapter5  # noqa: E402

CHAPTERS = {3: chapter3, 4: chapter4, 5: chapter5}

# README "Performance", one H100, torch 2.11, 2026-11-25 (benchmarks/measured/h100_2026-11-25_bench.jsonl):
# MNIST, default ConvNet.
H100 = {
    "dm_iteration_10ipc": 0.034,            # s, 256 real images per class, DSA (0.031-0.037)
    "outer_1ipc": {"dc": 0.20, "dsa": 0.17},  # s per DC / DSA outer iteration
    "outer_10ipc": {"dc": 3.2, "dsa": 3.9},
    "eval20_300ep_1ipc": 14.7,              # s, 20 networks stacked, 300 epochs, with the 10k test
    "eval20_300ep_10ipc": 21.1,
    "loop_net_step": 36.4 / (20 * 301),     # s per network and step of one batch (the plain loop, 1 ipc)
}


def plan(chapter: int, profile: str, out: Path, data_root) -> list[JobSpec]:
    planner = Planner(get_profile(profile), out, device="cpu")
    CHAPTERS[chapter].all_cells(planner)
    return plan_jobs(planner, chapter, data_root=data_root, device="cpu")


def measure(chapter: int, profile: str, backend: str, workers: int, data_root) -> dict:
    """Run the chapter's jobs once in a fresh folder; wall time and per-job times (inline only)."""
    out = Path(tempfile.mkdtemp(prefix=f"jobs_{backend}{workers}_"))
    try:
        specs = plan(chapter, profile, out, data_root)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        per_job = []
        if backend == "inline":
            for spec in specs:
                t = time.perf_counter()
                run_job(spec)
                per_job.append(round(time.perf_counter() - t, 2))
        else:
            cores = cpu_cores()
            results = run_pool(specs, [None] * workers, max(1, cores // workers))
            failed = [r for r in results if r["status"] == "failed"]
            if failed:
                raise RuntimeError(f"{len(failed)} job(s) failed: {failed[0].get('error')}")
        seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(out, ignore_errors=True)
    line = {"what": "throughput", "chapter": chapter, "profile": profile, "backend": backend, "workers": workers,
            "threads_per_worker": torch.get_num_threads() if backend == "inline" else max(1, cpu_cores() // workers),
            "jobs": len(specs), "seconds": round(seconds, 1), "jobs_per_hour": round(len(specs) / seconds * 3600, 1),
            "load_avg_before": round(load, 2), "load_avg_after": round(os.getloadavg()[0], 2),
            "cpu_cores": cpu_cores(), "torch": torch.__version__, "machine": platform.processor() or platform.machine()}
    if per_job:
        line["per_job_seconds"] = per_job
    return line


def set_gpu_seconds(runner: Runner, cell) -> tuple[float, float, list[str]]:
    """Projected H100 seconds (condensation, evaluation) of one set of ``cell``, and what was extrapolated."""
    p = runner.profile
    info = DATASETS[cell.dataset]
    scale = (info.num_classes / 10) * (info.im_size[0] * info.im_size[1] / 784)
    if "_d4" in cell.eval_arch:  # TinyImageNet's depth-4 ConvNet: one more block at a quarter of the pixels
        scale *= 1.25
    notes = []
    condense = 0.0
    if cell.method in ("dm", "mmd"):
        # the real side (256 per class) dominates; the synthetic side grows with ipc
        condense = dm_iterations(p, cell.dataset) * H100["dm_iteration_10ipc"] * scale * (p.batch_real + cell.ipc) / (
            256 + 10)
        if cell.method == "mmd":
            condense *= 0.1  # pixel-space MMD: no network
            notes.append("mmd: 0.1 x DM (no network)")
    elif cell.method in ("dc", "dsa", "dc_aug"):
        kind = "dc" if cell.method == "dc" else "dsa"
        k = gm_iterations(p, cell.ipc, cell.method, cell.chapter)
        if cell.ipc == 1:
            outer = H100["outer_1ipc"][kind]
        else:
            outer = H100["outer_10ipc"][kind] * max(1.0, cell.ipc / 10)
            if cell.ipc > 10:
                notes.append(f"{cell.ipc}-ipc outer iteration extrapolated as {cell.ipc / 10:g} x the 10-ipc one")
        condense = k * outer * scale
    elif cell.method in CORESETS:
        notes.append("coreset network: counted once per dataset in its job, not here")
    epochs = (p.whole_epochs if cell.method == "whole"
              else (p.eval_epochs if cell.method in ("dm", "mmd", "dsa") or cell.chapter == 5 else p.eval_epochs_plain))
    if cell.method == "whole":
        batches = math.ceil(info_train_size(cell.dataset) / 256)
        nets = p.whole_nets or p.num_nets
        evaluate = nets * epochs * batches * H100["loop_net_step"] * scale / (info.num_classes / 10)
        notes.append("whole set: the plain loop's step time x batches (no measurement of its own)")
    else:
        images = cell.ipc * info.num_classes
        base = H100["eval20_300ep_1ipc"] if cell.ipc == 1 else H100["eval20_300ep_10ipc"]
        evaluate = base * (epochs / 300) * max(1, math.ceil(images / 256)) * (scale / (info.num_classes / 10))
        evaluate *= runner.profile.num_nets / 20
    return condense, evaluate, notes


def info_train_size(dataset: str) -> int:
    return {"mnist": 60000, "fashionmnist": 60000, "svhn": 73257, "cifar10": 50000, "cifar100": 50000,
            "tinyimagenet": 100000}.get(dataset, 50000)


def project(chapter: int) -> dict:
    """The paper profile's jobs of one chapter, with their projected H100 hours."""
    p = get_profile("paper")
    out = Path(tempfile.gettempdir()) / "jobs_projection"
    runner = Runner(p, out, device="cpu")
    specs = plan(chapter, "paper", out, None)
    jobs, notes = [], set()
    for spec in specs:
        total = 0.0
        features = set()
        for task in spec.tasks:
            r = runner.with_profile(dataclasses.replace(p, **dict(task.overrides))) if task.overrides else runner
            condense, evaluate, why = set_gpu_seconds(r, task.cell)
            notes.update(why)
            total += len(task.sets or range(r.num_sets(task.cell))) * (condense + evaluate)
            if task.cell.method in CORESETS:
                features.add(task.cell.dataset)
        for dataset in features:  # the coreset network: feature_epochs on the whole training set
            info = DATASETS[dataset]
            total += (p.feature_epochs * math.ceil(info_train_size(dataset) / 256) * H100["loop_net_step"]
                      * info.im_size[0] * info.im_size[1] / 784)
        jobs.append(total / 3600)
    gpu_hours = sum(jobs)
    return {"what": "projection", "chapter": chapter, "profile": "paper", "jobs": len(specs),
            "cells": len({t.cell for s in specs for t in s.tasks}), "gpu_hours": round(gpu_hours, 1),
            "longest_job_hours": round(max(jobs), 1),
            "wall_hours_on": {str(g): round(max(gpu_hours / g, max(jobs)), 1) for g in (1, 8, 32)},
            "source": "README H100 figures (2026-11-25) and a cost model: a projection, not a GPU run",
            "extrapolated": sorted(notes)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chapter", type=int, default=5, choices=(3, 4, 5))
    ap.add_argument("--profile", default="smoke", choices=("smoke", "cpu"))
    ap.add_argument("--workers", default="1,2", help="pool sizes to measure, e.g. 1,2")
    ap.add_argument("--data-root", default=os.environ.get("DC_DATA_ROOT"))
    ap.add_argument("--skip-measure", action="store_true", help="only print the paper projection")
    args = ap.parse_args()
    if not args.skip_measure:
        runs = [("inline", 1)] + [("pool", int(w)) for w in args.workers.split(",")]
        for backend, workers in runs:
            print(json.dumps(measure(args.chapter, args.profile, backend, workers, args.data_root)), flush=True)
    for chapter in (3, 4, 5):
        print(json.dumps(project(chapter)), flush=True)


if __name__ == "__main__":
    main()
