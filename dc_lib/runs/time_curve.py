"""Accuracy against condensation wall time (Figure 5.4): snapshots of one timed run per method.

The thesis (Figure 5.4, section 5.3.2) plots the test accuracy of DSA's and DM's CIFAR10 sets against
the hours each method has trained, on one GTX 1080: DM reaches the accuracy DSA has after 15 hours in
under 20 minutes. Here each method condenses once, a :class:`~dc_lib.methods.watch.Watch` keeping S
at a few iterations (geometrically spaced, K among them) and the wall time spent to reach each, on
the machine that runs it; each snapshot is then evaluated like a finished set. :func:`time_to_reach`
reads the comparison off the curves.

Timing: the clock starts when the first iteration starts (data loading and the initial set are left
out, the same for both methods) and excludes the snapshot copies; on CUDA the device is synchronised
at each snapshot only, so the run is not slowed by the measurement.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..core.synset import SyntheticSet
from ..methods.watch import Watch


def snapshot_iterations(iterations: int, snapshots: int) -> list[int]:
    """About ``snapshots`` iterations in 1..K, geometrically spaced, K always last (fewer when K is small:
    the spacing rounds several to the same iteration)."""
    if iterations < 1 or snapshots < 1:
        raise ValueError(f"need K >= 1 and snapshots >= 1, got K={iterations}, snapshots={snapshots}")
    spaced = np.geomspace(1, iterations, snapshots).round().astype(int).tolist()
    return sorted(set(spaced) | {iterations})


@dataclass
class TimedRun:
    """Snapshots of one condensation run.

    Attributes:
        images: ``(S, N, C, H, W)``, S snapshots of the set (normalised space), on the CPU.
        labels: ``(N,)`` class of each image.
        iterations: the iteration of each snapshot (K last: the finished set).
        seconds: wall time (s) from the start of the first iteration to each snapshot.
        record: what made the run (method, K, seed, ...), checked when a saved run is reused.
    """

    images: torch.Tensor
    labels: torch.Tensor
    iterations: list[int]
    seconds: list[float]
    record: dict


def timed_snapshots(condense: Callable[[Watch], SyntheticSet], keep: list[int], record: dict) -> TimedRun:
    """Run ``condense(watch)`` once (it must pass ``watch`` to the method), keeping S at the iterations
    ``keep`` with the wall time to reach each. Raises RuntimeError if the run skipped one (a resumed
    checkpoint: a timed run must start from iteration 0)."""
    frames: dict[int, torch.Tensor] = {}
    seconds: dict[int, float] = {}
    clock = {"start": None, "paused": 0.0}

    def now(images: torch.Tensor) -> float:
        if images.is_cuda:
            torch.cuda.synchronize(images.device)
        return time.perf_counter()

    def on_iteration(k: int, images: torch.Tensor) -> None:
        if clock["start"] is None:
            if k != 0:
                raise RuntimeError(f"a timed run must start at iteration 0, not {k} (was a checkpoint resumed?)")
            clock["start"] = now(images)
            return
        if k in keep:
            t = now(images)
            seconds[k] = t - clock["start"] - clock["paused"]
            frames[k] = images.detach().cpu().clone()
            clock["paused"] += time.perf_counter() - t

    syn = condense(Watch(on_iteration=on_iteration))
    missing = [k for k in keep if k not in frames]
    if missing:
        raise RuntimeError(f"the run never reached iterations {missing}")
    return TimedRun(torch.stack([frames[k] for k in keep]), syn.labels.cpu(), list(keep),
                    [seconds[k] for k in keep], record)


def time_to_reach(curve: pd.DataFrame, accuracy: float) -> float:
    """The first wall time (s) at which a method's curve reaches ``accuracy`` (%), or NaN if it never does.

    ``curve``: one method's points with columns ``seconds`` and ``mean`` (test accuracy, %), any order."""
    reached = curve[curve["mean"] >= accuracy].sort_values("seconds")
    return float(reached.seconds.iloc[0]) if len(reached) else math.nan


CURVE_COLUMNS = ["dataset", "ipc", "method", "iteration", "seconds", "mean", "std", "n", "profile", "budget"]


def time_curve_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Figure 5.4's curve from its tidy rows (setting ``iteration=k``; metrics ``test_acc`` per network and
    ``seconds``): one line per (dataset, ipc, method, iteration) with the wall time, the mean and population
    std of the accuracies (%) and their number, in order of method and iteration."""
    if not len(rows):
        return pd.DataFrame(columns=CURVE_COLUMNS)
    rows = rows.assign(iteration=[int(s.partition("iteration=")[2].split(";")[0]) for s in rows.setting])
    out = []
    for (dataset, ipc, method, iteration, profile, budget), g in rows.groupby(
            ["dataset", "ipc", "method", "iteration", "profile", "budget"], sort=True):
        accs = g[g.metric == "test_acc"].value.astype(float).to_numpy()
        seconds = g[g.metric == "seconds"].value.astype(float)
        if not len(accs) or not len(seconds):
            continue
        out.append({"dataset": dataset, "ipc": int(ipc), "method": method, "iteration": int(iteration),
                    "seconds": float(seconds.iloc[0]), "mean": accs.mean(), "std": accs.std(ddof=0),
                    "n": len(accs), "profile": profile, "budget": budget})
    return pd.DataFrame(out, columns=CURVE_COLUMNS)
