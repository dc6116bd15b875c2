"""Snapshots of one timed condensation run: accuracy against wall time (Figure 5.4), against K (Figure A.F2).

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
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from ..core.files import atomic_write
from ..core.seeding import derive_seed
from ..core.synset import SyntheticSet
from ..engines.choose import evaluate_set
from ..methods.watch import Watch
from .experiments import Runner
from .results import Cell, make_rows
from .settings import parse_setting


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


def device_name(device: torch.device) -> str:
    """The machine a timing was measured on, as rows and tables name it."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU, {torch.get_num_threads()} torch threads"


def snapshot_cells(cell: Cell, keep: list[int]) -> list[Cell]:
    """The cells of the snapshots of one run of ``cell``: its setting plus ``iteration=k`` for each k of ``keep``."""
    return [replace(cell, setting=";".join(filter(None, (cell.setting, f"iteration={k}")))) for k in keep]


# condense(real, ipc, config, *, seed, progress, speed, watch) -> SyntheticSet: condense_gm or condense_dm.
Condense = Callable[..., SyntheticSet]


def timed_run(runner: Runner, cell: Cell, keep: list[int], condense: Condense) -> tuple[TimedRun, bool]:
    """The timed condensation of ``cell`` kept at iterations ``keep``, and whether it was timed just now:
    made once, saved under ``timed/`` (a rerun evaluates what is missing without timing again; another
    budget or config, or another machine's device, times it again). Its seed is the cell's set seed, so
    its last snapshot is the set the cell's own run makes with the same budget."""
    real = runner.data(cell.dataset)
    config = runner.method_config(cell, real)
    seed = runner.set_seed(cell, 0)
    record = {"method": cell.method, "dataset": cell.dataset, "ipc": cell.ipc, "arch": cell.condense_arch,
              "config": repr(config), "seed": seed, "keep": keep, "device": device_name(real.device),
              "budget": runner.cell_budget(cell, real)}
    tag = parse_setting(cell.setting).condense_tag
    path = (runner.out_dir / "timed" /
            f"{cell.table}_{cell.dataset}_ipc{cell.ipc}_{cell.method}{'_' + tag if tag else ''}_K{config.iterations}.pt")
    if path.is_file():
        saved = torch.load(path, weights_only=False)
        if saved.record == record:
            return saved, False
    p = runner.profile
    run = timed_snapshots(lambda watch: condense(real, cell.ipc, config, seed=seed, progress=p.progress,
                                                 speed=p.speed, watch=watch), keep, record)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: torch.save(run, tmp))
    return run, True


def evaluate_snapshots(runner: Runner, cell: Cell, snapshots: int, condense: Condense) -> list[tuple[str, str, str]]:
    """Condense ``cell`` once, timed (:func:`timed_run`), keeping its set at about ``snapshots`` iterations
    (:func:`snapshot_iterations` of its K), and evaluate each snapshot like a finished set: rows ``test_acc``
    per network and ``seconds`` (the wall time to reach it; the note names the machine), setting
    ``<cell's setting>;iteration=k``. A run timed again has every snapshot evaluated again, so one curve
    is one run; a runner that only aggregates computes nothing. Returns the (method, setting, budget) of
    every snapshot of this plan and budget, to pick its rows from older ones."""
    real, p = runner.data(cell.dataset), runner.profile
    keep = snapshot_iterations(runner.method_config(cell, real).iterations, snapshots)
    snaps = snapshot_cells(cell, keep)
    budget = runner.cell_budget(cell, real)
    current = [(cell.method, snap.setting, budget) for snap in snaps]
    missing = [snap for snap in snaps if not runner.store.has(snap, 0, p.name, budget)]
    if not missing or not runner.computes:
        return current
    run, fresh = timed_run(runner, cell, keep, condense)
    seed = runner.set_seed(cell, 0)
    for i, snap in enumerate(snaps):
        if not fresh and snap not in missing:
            continue
        # One evaluation seed for every snapshot: the curve's steps are the set's, not the networks'.
        accs = evaluate_set(run.images[i].to(real.device), run.labels.to(real.device), real,
                            runner.eval_config(snap, real), seed=derive_seed(seed, "eval", cell.eval_arch),
                            progress=p.progress, speed=p.speed)
        note = "; ".join(filter(None, (real.note, f"timed on {run.record['device']}")))
        rows = make_rows(snap, 0, seed, accs, profile=p.name, budget=budget, data_source=real.source, note=note)
        runner.store.append(rows + [{**rows[0], "net_idx": 0, "metric": "seconds", "value": round(run.seconds[i], 3)}])
    return current


def current_snapshot_rows(runner: Runner, table: str, current: list[tuple[str, str, str]]) -> pd.DataFrame:
    """The rows of ``table`` whose (method, setting, budget) is among ``current`` (what
    :func:`evaluate_snapshots` returned): this plan's snapshots at this budget, not those of an older K or budget."""
    rows = runner.rows(table)
    return rows[[key in current for key in zip(rows.method, rows.setting, rows.budget)]] if len(rows) else rows


def time_to_reach(curve: pd.DataFrame, accuracy: float) -> float:
    """The first wall time (s) at which a method's curve reaches ``accuracy`` (%), or NaN if it never does.

    ``curve``: one method's points with columns ``seconds`` and ``mean`` (test accuracy, %), any order."""
    reached = curve[curve["mean"] >= accuracy].sort_values("seconds")
    return float(reached.seconds.iloc[0]) if len(reached) else math.nan


CURVE_COLUMNS = ["dataset", "ipc", "method", "iteration", "seconds", "mean", "std", "n", "profile", "budget"]


def _setting_value(setting: str, key: str) -> int:
    """The integer ``key=value`` of a snapshot's setting, e.g. ``iteration`` of ``rounds=5;iteration=3``."""
    return int(dict(part.split("=", 1) for part in setting.split(";") if "=" in part)[key])


def time_curve_rows(rows: pd.DataFrame, keys: tuple[str, ...] = ()) -> pd.DataFrame:
    """The curve of snapshot rows (setting ``iteration=k``; metrics ``test_acc`` per network and ``seconds``,
    Figures 5.4 and A.F2): one line per (dataset, ipc, method, ``keys``, iteration) with the wall time, the
    mean and population std of the accuracies (%) and their number, in that order. ``keys``: integer setting
    keys that tell a cell's runs apart (A.F2: ``rounds``), kept as columns after ``method``."""
    columns = CURVE_COLUMNS[:3] + list(keys) + CURVE_COLUMNS[3:]
    if not len(rows):
        return pd.DataFrame(columns=columns)
    rows = rows.assign(**{k: [_setting_value(s, k) for s in rows.setting] for k in (*keys, "iteration")})
    out = []
    group = ["dataset", "ipc", "method", *keys, "iteration", "profile", "budget"]
    for values, g in rows.groupby(group, sort=True):
        accs = g[g.metric == "test_acc"].value.astype(float).to_numpy()
        seconds = g[g.metric == "seconds"].value.astype(float)
        if not len(accs) or not len(seconds):
            continue
        line = dict(zip(group, values))
        out.append({**line, "ipc": int(line["ipc"]), **{k: int(line[k]) for k in (*keys, "iteration")},
                    "seconds": float(seconds.iloc[0]), "mean": accs.mean(), "std": accs.std(ddof=0), "n": len(accs)})
    return pd.DataFrame(out, columns=columns)
