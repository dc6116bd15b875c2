"""Jobs on a Slurm cluster: one array element per job, through submitit.

submitit writes the sbatch script and one pickled call per array element, submits the array
with ``sbatch`` and, on the node, runs the call. Its requeue protocol fits how the condensations
already save themselves: when Slurm preempts an element or its time runs out, it signals the
process (USR2, ``signal_delay_s`` before the kill); submitit then asks the callable for its
``checkpoint``, and :class:`SlurmTask` answers with the same call, since everything a job has
done is already on disk (its rows, its finished sets, the condensation's own checkpoint every
``checkpoint_every`` iterations). The requeued element runs :func:`~dc_lib.runs.jobs.run_job`
again, which skips the recorded sets and resumes the condensation.

submitit is an optional dependency (``pip install -e ".[slurm]"``); it is imported only here,
only when a Slurm submission is made.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import torch

from .jobs import JobSpec, run_job
from .pool import cpu_cores


class SlurmTask:
    """The callable of every array element: runs one job spec (JSON); requeues itself on preemption."""

    def __call__(self, spec_json: str) -> dict:
        # torch would start a thread per core of the node; the element may use only the cores Slurm gave it
        # (its affinity mask), or OMP_NUM_THREADS where the job script sets it.
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS") or cpu_cores()))
        return run_job(spec_json)

    def checkpoint(self, spec_json: str):
        """submitit's requeue hook: the same call again (the job's state is on disk, not in memory)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, spec_json)


def parse_minutes(text: str) -> int:
    """A Slurm time limit as minutes: ``90``, ``HH:MM:SS``, ``MM:SS`` or ``D-HH[:MM[:SS]]``.

    Raises ``ValueError`` (one line) for anything else or a limit under one minute."""
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text.strip())
    if not m:
        raise ValueError(f"--time must be minutes, HH:MM:SS or D-HH:MM:SS, got {text!r}")
    days, a, b, c = (int(g) if g else None for g in m.groups())
    if days is not None:  # D-HH[:MM[:SS]]
        minutes = days * 1440 + a * 60 + (b or 0) + (1 if c else 0)
    elif c is not None:  # HH:MM:SS
        minutes = a * 60 + b + (1 if c else 0)
    elif b is not None:  # MM:SS
        minutes = a + (1 if b else 0)
    else:
        minutes = a
    if minutes < 1:
        raise ValueError(f"--time must be at least one minute, got {text!r}")
    return minutes


def check_slurm(cluster: str = "slurm") -> None:
    """Raise ``ValueError`` (one line) unless a submission can be made: submitit importable and, for a
    real cluster, ``sbatch`` on PATH."""
    if cluster == "slurm" and shutil.which("sbatch") is None:
        raise ValueError("--slurm, but there is no sbatch on PATH: run this on a Slurm login node")
    try:
        import submitit  # noqa: F401
    except ImportError:
        raise ValueError('--slurm needs submitit: pip install -e ".[slurm]"') from None


def submit_array(specs: list[JobSpec], folder: str | Path, *, partition: str | None = None,
                 time_min: int = 24 * 60, gpus_per_job: int = 1, cpus_per_job: int | None = None,
                 parallelism: int = 256, cluster: str = "slurm", max_array: int = 1000) -> list:
    """Submit ``specs`` as job arrays (one element each, at most ``max_array`` per array: Slurm's default
    MaxArraySize is 1001); return submitit's jobs, in order.

    ``folder``: submitit's scripts, pickles and logs (``%A_%a`` per element). ``partition``,
    ``time_min`` (per element; a requeue starts the clock again), ``gpus_per_job``,
    ``cpus_per_job``: what each element asks Slurm for; ``parallelism``: elements running at once.
    ``cluster="local"`` runs the same array as processes on this machine (submitit's local
    executor: tests, a box without Slurm).
    """
    import submitit

    executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    params = {"timeout_min": time_min, "name": f"dc_lib_ch{specs[0].chapter}" if specs else "dc_lib"}
    if cluster == "slurm":
        params.update(slurm_array_parallelism=parallelism, gpus_per_node=gpus_per_job, slurm_signal_delay_s=120)
        if partition:
            params["slurm_partition"] = partition
        if cpus_per_job:
            params["cpus_per_task"] = cpus_per_job
    executor.update_parameters(**params)
    return [job for start in range(0, len(specs), max_array)
            for job in executor.map_array(SlurmTask(), [s.to_json() for s in specs[start:start + max_array]])]
