"""Table cells as jobs: planned without running, each run once, whatever runs it.

A chapter's table functions take a runner and call ``runner.run(cell)`` for every cell. Given a
:class:`Planner` instead, they record the cells; :func:`plan_jobs` groups them into
:class:`JobSpec` s, and any backend (this process, a pool of workers, a Slurm array) runs a spec
with :func:`run_job`, which goes through the same :class:`~dc_lib.runs.experiments.Runner` as
the notebook. The notebook then reads the rows back with an :class:`Aggregator`, a runner that
computes nothing.

**A job is one set, with every set that shares a file with it**: its set file (Table 3.2's ConvNet
row evaluates Table 3.1's set 0), a coreset network (herding, k-center and forgetting draws that
select with one network), or the rows of an identical experiment recorded under another table;
the draws of a random or coreset cell, which cost nothing to make, stay together.
They run in one process, in the notebook's order, so no two workers ever write one set, checkpoint
or network, and a cell whose experiment another table already ran copies its rows as it does
inline. One set per job, not one cell: the paper profile's 5 sets of a cell condense side by side.

**Files**, under ``out_dir/jobs/``: ``<id>.json`` (the spec), ``<id>.lock`` (held while the job
runs, with the pid that runs it), ``<id>.log`` (one line per start and end), ``<id>.done``
(written after the job's last row). Rows go to ``out_dir/results.csv`` through the locked
:class:`~dc_lib.runs.results.ResultStore` (each append rewrites it atomically under
``results.csv.lock`` and replaces rows of the same experiment), so writers in many processes
never interleave, lose or duplicate rows. A done job is skipped; an interrupted one reruns from
where it stopped: its recorded sets are skipped and a condensation resumes from its checkpoint.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.config import Profile, get_profile
from ..core.data import RealData
from ..core.files import atomic_write
from ..core.synset import SyntheticSet
from .experiments import CORESETS, METHODS, Runner
from .results import Cell
from .settings import parse_setting

JOBS_DIR = "jobs"
# The status of a cell whose rows the jobs have not (yet) recorded, as the aggregating notebook lists it.
NOT_COMPUTED = "not computed yet: its job has not finished (rerun the jobs; reproduce.sh --help)"


@dataclass(frozen=True)
class CellTask:
    """One cell of a job: the profile fields its runner changes (Table A.T8's draws: one network per set,
    ``ors_draws`` sets), as ``((field, value), ...)``, and the set indices the job makes and evaluates
    (empty: all of the cell's sets)."""

    cell: Cell
    overrides: tuple[tuple[str, object], ...] = ()
    sets: tuple[int, ...] = ()

    def __post_init__(self):  # one order, so that equal tasks are equal specs with equal ids
        object.__setattr__(self, "overrides", tuple(sorted(dict(self.overrides).items())))
        object.__setattr__(self, "sets", tuple(sorted(set(self.sets))))

    def to_dict(self) -> dict:
        return {"cell": dataclasses.asdict(self.cell), "overrides": dict(self.overrides), "sets": list(self.sets)}

    @classmethod
    def from_dict(cls, d: dict) -> "CellTask":
        return cls(Cell(**d["cell"]), tuple(d.get("overrides", {}).items()), tuple(d.get("sets", ())))


@dataclass(frozen=True)
class JobSpec:
    """What one job runs and where: JSON-able, so any backend can carry it.

    ``chapter``, ``profile`` (a name of :data:`dc_lib.core.config.PROFILES`), ``tasks`` (its cells),
    ``seed``: what the numbers depend on, hashed into :attr:`id` together with the profile's whole
    budget (a budget changed in the config is a new job). ``out_dir``, ``data_root``, ``device``,
    ``reuse_from`` (results folders whose identical experiments are copied, as chapter 4 copies
    chapter 3's): where it runs, not in the id.
    """

    chapter: int
    profile: str
    tasks: tuple[CellTask, ...]
    out_dir: str
    data_root: str | None = None
    seed: int = 0
    device: str = "auto"
    reuse_from: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"chapter": self.chapter, "profile": self.profile, "tasks": [t.to_dict() for t in self.tasks],
                "out_dir": self.out_dir, "data_root": self.data_root, "seed": self.seed, "device": self.device,
                "reuse_from": list(self.reuse_from)}

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): the same spec is always the same text."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "JobSpec":
        d = json.loads(text)
        return cls(chapter=int(d["chapter"]), profile=d["profile"],
                   tasks=tuple(CellTask.from_dict(t) for t in d["tasks"]), out_dir=d["out_dir"],
                   data_root=d.get("data_root"), seed=int(d.get("seed", 0)), device=d.get("device", "auto"),
                   reuse_from=tuple(d.get("reuse_from", ())))

    @property
    def id(self) -> str:
        """16 hex digits of the SHA-256 of what the job computes (see the class docstring)."""
        what = {"chapter": self.chapter, "profile": get_profile(self.profile).as_dict(),
                "tasks": [t.to_dict() for t in self.tasks], "seed": self.seed}
        text = json.dumps(what, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def path(self, suffix: str) -> Path:
        """``out_dir/jobs/<id><suffix>`` (``.json``, ``.lock``, ``.log``, ``.done``)."""
        return Path(self.out_dir) / JOBS_DIR / f"{self.id}{suffix}"

    @property
    def done(self) -> bool:
        """Whether the job finished (its done-marker is written after its last row)."""
        return self.path(".done").is_file()

    def describe(self) -> str:
        """One line: the id and its cells (``3.1 mnist ipc1 dc convnet->convnet``, ...)."""
        cells = ", ".join(f"{t.cell.table} {t.cell.dataset} ipc{t.cell.ipc} {t.cell.method}"
                          + (f" {t.cell.condense_arch}->{t.cell.eval_arch}" if t.cell.method != "random" else "")
                          + (f" [{t.cell.setting}]" if t.cell.setting else "")
                          + (f" set {','.join(map(str, t.sets))}" if t.sets else "") for t in self.tasks)
        return f"{self.id}: {cells}"


# -- planning ---------------------------------------------------------------------------------------

class Planner(Runner):
    """A runner that records the cells it is asked to run (as :class:`CellTask` s in :attr:`tasks`),
    runs nothing and loads no data. Pass it to a chapter's table functions, then to :func:`plan_jobs`."""

    def __init__(self, profile: Profile, out_dir, **kwargs):
        super().__init__(profile, out_dir, **kwargs)
        self.tasks: list[CellTask] = []
        self._root = profile  # overrides are recorded against the profile the plan started from

    def run(self, cell: Cell, sets=None) -> str:
        if cell.method not in METHODS:
            raise ValueError(f"Unknown method {cell.method!r}; valid: {', '.join(METHODS)}")
        task = CellTask(cell, _overrides(self._root, self.profile))
        if task not in self.tasks:  # a cell asked for twice (two figures) is one task
            self.tasks.append(task)
        return "planned"

    def data(self, dataset: str) -> RealData | None:
        raise RuntimeError("a Planner loads no data: plan with a chapter's table functions (all_cells), "
                           "not with functions that draw sets or figures")


def _overrides(root: Profile, profile: Profile) -> tuple[tuple[str, object], ...]:
    """The fields in which ``profile`` differs from ``root``, as sorted pairs of JSON scalars."""
    changed = []
    for f in dataclasses.fields(Profile):
        value = getattr(profile, f.name)
        if value != getattr(root, f.name):
            if value is not None and not isinstance(value, (bool, int, float, str)):
                raise ValueError(f"a job can override profile field {f.name!r} only with a number, string or "
                                 f"None, not {type(value).__name__}")
            changed.append((f.name, value))
    return tuple(sorted(changed))


def _shared_keys(runner: Runner, cell: Cell, set_idx: int) -> list[str]:
    """The files and experiments set ``set_idx`` of a cell shares with others (sets sharing any are one job)."""
    keys = [f"experiment:{cell.dataset}|{cell.ipc}|{cell.method}|{cell.condense_arch}|{cell.eval_arch}|"
            f"{parse_setting(cell.setting).canonical}|{set_idx}"]
    if cell.method != "whole":  # the set file (and its checkpoint)
        keys.append(f"set:{runner.synset_path(cell, set_idx).name}")
    if cell.method in CORESETS:  # herding, k-center and forgetting draws that select with one cached network
        nets = runner.profile.feature_nets
        keys.append(f"features:{cell.dataset}|{set_idx % nets if nets else set_idx}")
    if cell.method in ("random", *CORESETS):
        # Selected sets cost nothing to make: a cell's draws stay one job (A.T8 draws 1000 of them, one
        # network each, and a job per draw would spend more on starting than on training).
        keys.append(f"draws:{cell}")
    return keys


def plan_jobs(planner: Planner, chapter: int, *, data_root=None, device: str = "auto",
              reuse_from=()) -> list[JobSpec]:
    """Group the planner's recorded cells into jobs: one job per set, with every other set that shares
    a file or an experiment with it (Table 3.2's ConvNet row evaluates Table 3.1's set 0 in the job that
    makes it). Within a job, cells keep the order they were recorded in; jobs come in the order of their
    first set (cell by cell, set by set)."""
    nodes = []  # (task index, set index)
    for i, task in enumerate(planner.tasks):
        runner = _task_runner(planner, task)
        nodes += [(i, set_idx) for set_idx in range(runner.num_sets(task.cell))]
    parent = list(range(len(nodes)))

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    owner: dict[str, int] = {}
    for n, (i, set_idx) in enumerate(nodes):
        task = planner.tasks[i]
        for key in _shared_keys(_task_runner(planner, task), task.cell, set_idx):
            if key in owner:
                parent[root(n)] = root(owner[key])
            else:
                owner[key] = n
    groups: dict[int, dict[int, list[int]]] = {}  # root -> task index -> its set indices
    for n, (i, set_idx) in enumerate(nodes):
        groups.setdefault(root(n), {}).setdefault(i, []).append(set_idx)
    first = {}
    for n in range(len(nodes)):
        first.setdefault(root(n), n)
    return [JobSpec(chapter=chapter, profile=planner._root.name,
                    tasks=tuple(dataclasses.replace(planner.tasks[i], sets=tuple(sets))
                                for i, sets in sorted(groups[r].items())),
                    out_dir=str(Path(planner.out_dir).resolve()),
                    data_root=None if data_root is None else str(Path(data_root).resolve()),
                    seed=planner.seed, device=device, reuse_from=tuple(str(Path(d).resolve()) for d in reuse_from))
            for r in sorted(groups, key=first.get)]


def _task_runner(base: Runner, task: CellTask) -> Runner:
    """``base``, or a runner with the task's profile overrides."""
    return base.with_profile(dataclasses.replace(base.profile, **dict(task.overrides))) if task.overrides else base


def write_plan(specs: list[JobSpec]) -> None:
    """Write each spec to ``out_dir/jobs/<id>.json`` (what a backend runs; readable for a person)."""
    for spec in specs:
        atomic_write(spec.path(".json"), lambda tmp, s=spec: Path(tmp).write_text(
            json.dumps(s.to_dict(), indent=1, sort_keys=True) + "\n"))


# -- running ----------------------------------------------------------------------------------------

# Per process: runners by where and how they run, and the data they loaded, so a warm worker loads each
# dataset once for all its jobs.
_RUNNERS: dict[tuple, Runner] = {}
_DATA: dict[tuple, dict] = {}


def _runner(spec: JobSpec) -> Runner:
    key = (spec.profile, spec.out_dir, spec.data_root, spec.device, spec.seed, spec.reuse_from)
    if key not in _RUNNERS:
        runner = Runner(get_profile(spec.profile), spec.out_dir, data_root=spec.data_root, device=spec.device,
                        seed=spec.seed, reuse_from=spec.reuse_from)
        runner._data = _DATA.setdefault((spec.data_root, str(runner.device)), {})
        _RUNNERS[key] = runner
    return _RUNNERS[key]


def _log(spec: JobSpec, event: str, **fields) -> None:
    """Append one JSON line to the job's log (who ran it, when, how it ended)."""
    line = json.dumps({"event": event, "pid": os.getpid(), "host": socket.gethostname(),
                       "time": time.strftime("%Y-%m-%dT%H:%M:%S"), **fields}, sort_keys=True)
    with open(spec.path(".log"), "a") as f:
        f.write(line + "\n")


def run_job(spec: JobSpec | str) -> dict:
    """Run one job (a spec or its JSON) unless it is done; return ``{"id", "status", "cells"}``.

    ``status``:
    - ``done``: every cell ran, or cannot run at this budget whatever is rerun (e.g. a Table 5.4 group no
      trained state reaches: ``cells`` says why);
    - ``already done``: its marker was there and its rows are, at the budgets this code gives its cells:
      nothing run. A marked job whose code now records another budget for a cell (a rate, say) runs
      again, reusing every set and row that still holds;
    - ``data not available``: a cell's dataset is missing; no marker, so a run after the data arrives
      does it.

    A job that another process is running is waited for (its lock), then found done. The marker is
    written only after the last row, so a job killed at any point reruns, and what it had recorded is
    kept, not redone.
    """
    if isinstance(spec, str):
        spec = JobSpec.from_json(spec)
    if spec.done and _rows_current(spec):
        return {"id": spec.id, "status": "already done", "cells": []}
    spec.path(".lock").parent.mkdir(parents=True, exist_ok=True)
    with open(spec.path(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released by the kernel if this process dies
        if spec.done and _rows_current(spec):
            return {"id": spec.id, "status": "already done", "cells": []}
        lock.seek(0)
        lock.truncate()
        lock.write(f"{os.getpid()} {socket.gethostname()}\n")
        lock.flush()
        _log(spec, "start")
        base = _runner(spec)
        statuses = []
        for task in spec.tasks:
            statuses.append(_task_runner(base, task).run(task.cell, sets=task.sets or None))
        status = "data not available" if "data not available" in statuses else "done"
        if status == "done":
            atomic_write(spec.path(".done"), lambda tmp: Path(tmp).write_text(spec.to_json() + "\n"))
        _log(spec, "end", status=status)
        return {"id": spec.id, "status": status, "cells": statuses}


def _rows_current(spec: JobSpec) -> bool:
    """Whether every cell of a job has its rows at the budget this code gives it (read, as the aggregator
    reads them; the data is loaded once per process)."""
    base = _runner(spec)
    checker = Aggregator(base.profile, spec.out_dir, data_root=spec.data_root, device=spec.device, seed=spec.seed,
                         reuse_from=spec.reuse_from)
    checker._data = base._data
    return all(_task_runner(checker, task).run(task.cell, sets=task.sets or None) != NOT_COMPUTED
               for task in spec.tasks)


# -- aggregating ------------------------------------------------------------------------------------

class MissingJobOutput(RuntimeError):
    """A file the jobs should have made is not there (the aggregating notebook stops on it)."""


class Aggregator(Runner):
    """A runner that computes nothing: the notebook's tables and figures from the rows and sets the jobs
    wrote. A cell is ``done`` when every set has rows of this profile and budget (copying those of an
    identical experiment of another table, as the jobs do), else listed as :data:`NOT_COMPUTED`; a set a
    figure draws must be on disk (:class:`MissingJobOutput` otherwise)."""

    computes = False

    def run(self, cell: Cell, sets=None) -> str:
        real = self.cell_data(cell)
        if real is None:
            return "data not available"
        budget = self.cell_budget(cell, real)
        for set_idx in (range(self.num_sets(cell)) if sets is None else sets):
            if not (self.store.has(cell, set_idx, self.profile.name, budget)
                    or self._copy_shared_rows(cell, set_idx, budget)):
                return self.unrunnable(cell, real) or NOT_COMPUTED
        return "done"

    def synset(self, cell: Cell, set_idx: int = 0) -> SyntheticSet:
        """The set the jobs made with this budget, here or in a chapter this one reuses (chapter 4's DC sets
        are chapter 3's), as the notebook's runner finds it; never made here."""
        if self.data(cell.dataset) is None:
            raise MissingJobOutput(f"{cell.dataset}: data not available ({self.missing(cell.dataset)}), so no job "
                                   f"made Table {cell.table}'s set")
        found = self.find_synset(cell, set_idx)
        if found is None:
            raise MissingJobOutput(f"{self.synset_path(cell, set_idx)} was not made by the jobs with this budget: "
                                   f"rerun those of Table {cell.table} (the ./reproduce.sh name of its notebook "
                                   f"with --profile {self.profile.name} and --jobs or --slurm), "
                                   "or run the notebook with AGGREGATE_ONLY = False to make it here")
        return found


def make_runner(aggregate_only: bool, profile: Profile, out_dir, **kwargs) -> Runner:
    """The notebook's runner: a :class:`Runner` (computes what is missing), or with ``aggregate_only``
    an :class:`Aggregator` (reads what the jobs wrote; ``reproduce.sh --jobs/--slurm`` sets it)."""
    return (Aggregator if aggregate_only else Runner)(profile, out_dir, **kwargs)
