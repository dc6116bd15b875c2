"""Jobs per hour by backend and worker count on this machine, and the paper profile's projected GPU-hours.

    DC_DATA_ROOT=../shared/data python benchmarks/jobs_throughput.py [--chapter 5] [--profile smoke]
        [--workers 1,2] [--skip-measure]

Prints JSON lines. ``"what": "throughput"``: one chapter's jobs (``dc_lib.runs.jobs``), each
backend in a fresh results folder: ``inline`` (one after another in this process, torch on all
cores, what the notebook does) and ``pool`` with 1 and 2 warm workers (``dc_lib.runs.pool``, cores
shared out). Wall time includes starting the workers and loading the data once per worker. The
load average is printed with each line: on a shared machine it says how much of the CPU the run had.

``"what": "projection"``: the GPU-hours of each chapter's ``paper`` jobs, from the cost model of
``dc_lib/runs/job_cost.py`` fed with the README's measured H100 figures, not from a GPU run: a
projection, to plan a cluster allocation. Where the README has no measurement (outer iterations
above 10 ipc, the whole training set), the model extrapolates, and the line says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from dc_lib.core.config import get_profile  # noqa: E402
from dc_lib.runs.job_cost import job_seconds  # noqa: E402
from dc_lib.runs.jobs import JobSpec, Planner, plan_jobs, run_job  # noqa: E402
from dc_lib.runs.pool import cpu_cores, run_pool  # noqa: E402
from dc_lib.cli import JOB_CHAPTERS  # noqa: E402
from dc_lib.thesis import chapter3, chapter4, chapter5  # noqa: E402

CHAPTERS = {3: chapter3, 4: chapter4, 5: chapter5}


def plan(chapter: int, profile: str, out: Path, data_root, cells: str = "all_cells") -> list[JobSpec]:
    """The jobs of a chapter's notebook (``cells``: ``all_cells``, or chapter 5's ``analysis_cells``)."""
    planner = Planner(get_profile(profile), out, device="cpu")
    getattr(CHAPTERS[chapter], cells)(planner)
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
    for name in JOB_CHAPTERS:
        print(json.dumps(project(name)), flush=True)


if __name__ == "__main__":
    main()
