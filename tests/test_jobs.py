"""Cells as jobs (dc_lib.runs.jobs): planned without running, each run once, by any backend.

The runs use the smoke profile on a tiny MNIST-shaped file (``tiny_root``), a few seconds each.
"""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from dc_lib.core import config
from dc_lib.core.config import get_profile
from dc_lib.core.synset import SyntheticSet
from dc_lib.runs.experiments import Runner
from dc_lib.runs.jobs import (NOT_COMPUTED, Aggregator, CellTask, JobSpec, MissingJobOutput, Planner, plan_jobs,
                              run_job)
from dc_lib.runs.results import KEY, Cell, ResultStore
from dc_lib.thesis import chapter3, chapter4, chapter5

ROOT = Path(__file__).resolve().parents[1]
SMOKE = get_profile("smoke")
RANDOM = Cell(5, "5.1", "mnist", 1, "random", "none", "convnet", "")
DM = Cell(5, "5.1", "mnist", 1, "dm", "convnet", "convnet", "")
# A DM set that takes some seconds (2 real images per class per iteration), checkpointed every 10
# iterations: long enough to be stopped in the middle.
SLOW_DM = (("batch_real", 2), ("checkpoint_every", 10), ("dm_iterations", 200))


def plan(module, profile=SMOKE, out="unused", chapter=5, **kwargs) -> list[JobSpec]:
    planner = Planner(profile, out, device="cpu")
    module.all_cells(planner)
    return plan_jobs(planner, chapter, **kwargs)


def spec(out, tiny_root, *tasks, **kwargs) -> JobSpec:
    return JobSpec(chapter=5, profile="smoke", tasks=tuple(tasks), out_dir=str(out), data_root=str(tiny_root),
                   device="cpu", **kwargs)


def rows(out) -> "pd.DataFrame":  # noqa: F821
    return ResultStore(Path(out) / "results.csv").load().sort_values([*KEY, "net_idx"]).reset_index(drop=True)


@pytest.fixture(autouse=True)
def one_thread():
    """torch on one thread in every test: a pool worker's count on a 2-core machine, so that in-process
    runs and workers add floats in the same order (and no test's threads wait on another's)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def subprocess_env():
    """The worktree's dc_lib first on the path of the processes a test starts."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


# -- the spec -------------------------------------------------------------------------------------

def test_a_spec_survives_json_unchanged(tmp_path):
    s = spec(tmp_path, tmp_path, CellTask(RANDOM), CellTask(DM, (("num_nets", 1), ("baseline_draws", None))))
    assert JobSpec.from_json(s.to_json()) == s
    assert JobSpec.from_json(s.to_json()).to_json() == s.to_json()


def test_the_id_depends_on_what_is_computed_not_where(tmp_path):
    s = spec(tmp_path, tmp_path, CellTask(RANDOM))
    assert s.id == spec(tmp_path / "elsewhere", tmp_path / "data", CellTask(RANDOM)).id
    assert s.id == dataclasses.replace(s, device="cuda").id
    assert s.id != dataclasses.replace(s, seed=1).id
    assert s.id != spec(tmp_path, tmp_path, CellTask(DM)).id
    assert len(s.id) == 16 and int(s.id, 16) >= 0


def test_a_budget_changed_in_the_config_is_a_new_job(tmp_path, monkeypatch):
    before = spec(tmp_path, tmp_path, CellTask(RANDOM)).id
    monkeypatch.setitem(config.PROFILES, "smoke", dataclasses.replace(SMOKE, num_nets=2))
    assert spec(tmp_path, tmp_path, CellTask(RANDOM)).id != before


# -- planning -------------------------------------------------------------------------------------

def test_planning_records_the_cells_and_writes_nothing(tmp_path):
    specs = plan(chapter5, out=tmp_path / "out")
    cells = [t.cell for s in specs for t in s.tasks]
    assert RANDOM in cells and DM in cells and len(cells) == len(set(cells))
    assert not (tmp_path / "out").exists()


def test_a_planner_refuses_to_load_data(tmp_path):
    with pytest.raises(RuntimeError, match="loads no data"):
        chapter5.figure_5_2_sets(Planner(SMOKE, tmp_path, device="cpu"))


def _chapter5_and_its_analyses(planner) -> None:
    chapter5.all_cells(planner)
    chapter5.analysis_cells(planner)


def test_cells_that_share_a_set_are_one_job():
    # planned together: the analyses' notebook plans its own, and reads chapter 5's rows of the shared set
    jobs = {t.cell: s.id for s in plan(SimpleNamespace(all_cells=_chapter5_and_its_analyses)) for t in s.tasks}
    same_set = [c for c in jobs if c.method == "dm" and c.ipc == 1 and c.condense_arch == "convnet"
                and c.setting in ("", "norm=instancenorm", "net_distribution=random")]
    # B.T1's DM row and Table 5.4's fresh-network column are Table 5.1's set
    assert {c.table for c in same_set} == {"5.1", "5.2", "5.4", "F5.5", "B.T1"}
    assert len({jobs[c] for c in same_set}) == 1
    assert jobs[DM] != jobs[RANDOM]


def test_each_set_of_a_condensed_cell_is_a_job_of_its_own():
    # the paper profile's 5 DM sets of a cell condense side by side, each with the other tables' cells on it
    paper = get_profile("paper")
    dm = dataclasses.replace(DM, ipc=10)
    jobs = [s for s in plan(chapter5, paper) if any(t.cell == dm for t in s.tasks)]
    assert sorted(t.sets for s in jobs for t in s.tasks if t.cell == dm) == [(i,) for i in range(paper.num_sets)]


def test_the_draws_of_a_random_cell_are_one_job():
    cpu = get_profile("cpu")
    jobs = [s for s in plan(chapter5, cpu) if any(t.cell == RANDOM for t in s.tasks)]
    assert len(jobs) == 1 and [t.sets for t in jobs[0].tasks if t.cell == RANDOM] == [tuple(range(cpu.baseline_draws))]


def test_the_coresets_of_a_dataset_share_one_job():
    # herding, k-center and forgetting of one dataset select with the same cached network
    jobs = {t.cell: s.id for s in plan(chapter3, chapter=3) for t in s.tasks}
    coresets = {jobs[c] for c in jobs if c.method in ("herding", "kcenter", "forgetting") and c.dataset == "mnist"}
    assert len(coresets) == 1


def test_table_a_t8_draws_are_planned_with_their_own_budget():
    tasks = [t for s in plan(chapter3, chapter=3) for t in s.tasks if t.cell.table == "A.T8"]
    draws = [t for t in tasks if t.cell.method == "random"]
    wanted = {"num_sets": SMOKE.chapter3.ors_draws, "baseline_draws": None, "num_nets": 1}
    changed = {k: v for k, v in wanted.items() if getattr(SMOKE, k) != v}  # smoke already has 1 network
    assert changed and draws and all(dict(t.overrides) == changed for t in draws)
    assert all(t.overrides == () for t in tasks if t.cell.method == "dc")


@pytest.mark.parametrize("profile", ["smoke", "cpu", "paper"])
def test_every_set_a_figure_draws_is_made_by_one_of_its_chapters_jobs(profile, tmp_path):
    # The aggregating notebook draws Figures 3.2, 4.2, 4.5 and 5.2 from sets it does not make.
    p = get_profile(profile)
    runner = Runner(p, tmp_path, device="cpu")
    c3, c4 = p.chapter3, p.chapter4
    drawn = {3: [chapter3._cell("3.1", d, 1, "dc") for d in c3.datasets],
             4: [chapter4._cell("4.1", d, max(c4.ipcs), "dsa") for d in c4.datasets]
             + [chapter4._cell("4.1", c4.datasets[0], max(c4.ipcs), m) for m in ("dc", "dsa")],
             5: [chapter5._cell("5.1", d, i, "dm") for d, i in p.chapter5.figure_5_2]}
    for chapter, module in ((3, chapter3), (4, chapter4), (5, chapter5)):
        planned = {runner.synset_path(t.cell, 0) for s in plan(module, p, tmp_path, chapter) for t in s.tasks}
        assert [c for c in drawn[chapter] if runner.synset_path(c, 0) not in planned] == []


def test_the_longest_jobs_are_handed_out_first():
    from dc_lib.runs.job_cost import job_seconds, longest_first

    ordered = longest_first(plan(chapter5, get_profile("paper")))
    seconds = [job_seconds(s)[0] for s in ordered]
    assert seconds == sorted(seconds, reverse=True)
    # ImageNet-1K at 50 ipc (50,000 images per set, networks trained 1000 epochs on them) outlasts everything else
    assert {(t.cell.dataset, t.cell.ipc) for t in ordered[0].tasks} == {("imagenet1k", 50)}
    top_tiny = next(s for s in ordered if any(t.cell.dataset == "tinyimagenet" for t in s.tasks))
    assert {(t.cell.ipc, t.cell.method) for t in top_tiny.tasks} == {(50, "dm")}


# -- running --------------------------------------------------------------------------------------

def test_a_job_writes_its_rows_then_its_done_marker(tmp_path, tiny_root):
    s = spec(tmp_path, tiny_root, CellTask(RANDOM), CellTask(DM))
    assert run_job(s) == {"id": s.id, "status": "done", "cells": ["done", "done"]}
    assert s.done and JobSpec.from_json(s.path(".done").read_text()) == s
    assert sorted(rows(tmp_path).method) == ["dm", "random"]
    log = [json.loads(line) for line in s.path(".log").read_text().splitlines()]
    assert [e["event"] for e in log] == ["start", "end"] and log[1]["status"] == "done"


def test_a_finished_job_is_never_rerun(tmp_path, tiny_root, monkeypatch):
    s = spec(tmp_path, tiny_root, CellTask(RANDOM))
    run_job(s)
    monkeypatch.setattr(Runner, "run", lambda self, cell: pytest.fail("a done job ran again"))
    assert run_job(s.to_json())["status"] == "already done"


def test_a_job_whose_data_is_missing_is_not_marked_done(tmp_path):
    (tmp_path / "empty").mkdir()
    s = spec(tmp_path / "out", tmp_path / "empty", CellTask(RANDOM))
    assert run_job(s)["status"] == "data not available"
    assert not s.done


def test_a_job_runs_a_cell_with_its_own_budget(tmp_path, tiny_root):
    s = spec(tmp_path, tiny_root, CellTask(dataclasses.replace(RANDOM, table="A.T8", setting="ors=3"),
                                           (("baseline_draws", None), ("num_nets", 1), ("num_sets", 3))))
    run_job(s)
    assert sorted(rows(tmp_path).set_idx) == [0, 1, 2]


def test_the_pool_with_two_workers_writes_the_rows_inline_writes(tmp_path, tiny_root):
    # Bit for bit at the same torch thread count (one per worker here); with another count, float
    # rounding in BatchNorm's reductions can flip a test image (measured: 0.2 points at 500 images).
    from dc_lib.runs.pool import run_pool

    inline = Runner(SMOKE, tmp_path / "inline", data_root=tiny_root, device="cpu")
    chapter5.all_cells(inline)
    specs = plan(chapter5, out=tmp_path / "pool", data_root=tiny_root, device="cpu")
    results = run_pool(specs, [None, None], 1)
    assert [r["status"] for r in results] == ["done"] * len(specs)
    a, b = rows(tmp_path / "inline"), rows(tmp_path / "pool")
    assert len(a) == len(b) == len(inline.store.load())
    assert a.equals(b)


def test_a_worker_killed_mid_job_loses_and_duplicates_no_row(tmp_path, tiny_root):
    """kill -9 of the worker once the job's first cell is recorded and its DM set half condensed; the
    pool reports the job failed, a rerun finishes it from the checkpoint, and the rows are a clean run's."""
    slow = SLOW_DM
    tasks = (CellTask(RANDOM), CellTask(DM, slow))
    s = spec(tmp_path / "killed", tiny_root, *tasks)
    driver = ("import json, sys; from dc_lib.runs.jobs import JobSpec; from dc_lib.runs.pool import run_pool; "
              "print(json.dumps(run_pool([JobSpec.from_json(sys.argv[1])], [None], 1)))")
    proc = subprocess.Popen([sys.executable, "-c", driver, s.to_json()], stdout=subprocess.PIPE, text=True,
                            env=subprocess_env(), cwd=tmp_path)
    ckpt = Runner(SMOKE, s.out_dir, device="cpu").synset_path(DM, 0).with_suffix(".ckpt")
    deadline = time.time() + 120
    while not ckpt.is_file() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert ckpt.is_file(), "the condensation never checkpointed"
    assert list(rows(s.out_dir).method) == ["random"]
    worker = int(json.loads(s.path(".log").read_text().splitlines()[0])["pid"])
    os.kill(worker, signal.SIGKILL)
    out, _ = proc.communicate(timeout=60)
    assert json.loads(out)[0]["status"] == "failed" and not s.done

    assert run_job(s)["status"] == "done"
    clean = spec(tmp_path / "clean", tiny_root, *tasks)
    run_job(clean)
    assert rows(s.out_dir).equals(rows(clean.out_dir))
    resumed = SyntheticSet.load(Runner(SMOKE, s.out_dir, device="cpu").synset_path(DM, 0))
    assert resumed.metrics["resumed_from"] > 0  # the rerun continued the condensation, it did not restart it


def test_two_backends_writing_into_one_results_dir_at_once_keep_every_row(tmp_path, tiny_root):
    """A pool of two workers and this process run the same jobs at once, in opposite orders: every job
    runs exactly once (the other backend waits on its lock, then finds it done) and the results file
    holds every row once, parsable line by line."""
    specs = plan(chapter5, out=tmp_path, data_root=tiny_root, device="cpu")
    listing = tmp_path / "specs.jsonl"
    listing.write_text("".join(s.to_json() + "\n" for s in specs))
    driver = ("import json, sys; from dc_lib.runs.jobs import JobSpec; from dc_lib.runs.pool import run_pool; "
              "specs = [JobSpec.from_json(l) for l in open(sys.argv[1])]; "
              "print(json.dumps(run_pool(specs, [None, None], 1)))")
    proc = subprocess.Popen([sys.executable, "-c", driver, str(listing)], stdout=subprocess.PIPE, text=True,
                            env=subprocess_env(), cwd=tmp_path)
    here = [run_job(s)["status"] for s in reversed(specs)]
    out, _ = proc.communicate(timeout=300)
    there = [r["status"] for r in json.loads(out)]
    assert set(here + there) <= {"done", "already done"}
    for s in specs:
        starts = [line for line in s.path(".log").read_text().splitlines() if '"start"' in line]
        assert len(starts) == 1, s.describe()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a damaged or partial line would warn
        df = rows(tmp_path)
    expected = Planner(SMOKE, tmp_path, device="cpu")
    chapter5.all_cells(expected)
    assert len(df) == len(df.drop_duplicates([*KEY, "net_idx"])) == len(expected.tasks)  # 1 set x 1 net each


def test_a_finished_job_whose_cells_now_record_another_budget_runs_again(tmp_path, tiny_root):
    import pandas as pd

    s = spec(tmp_path, tiny_root, CellTask(RANDOM))
    run_job(s)
    path = Path(tmp_path) / "results.csv"
    stale = pd.read_csv(path)
    stale["budget"] += ";lr_img=0.5"  # as rows written before the code recorded another field
    stale.to_csv(path, index=False)
    assert run_job(s)["status"] == "done"
    assert not rows(tmp_path).budget.str.contains("lr_img").any() and run_job(s)["status"] == "already done"


# -- aggregating ----------------------------------------------------------------------------------

def test_the_aggregator_reads_the_jobs_rows_and_computes_nothing(tmp_path, tiny_root, monkeypatch):
    run_job(spec(tmp_path, tiny_root, CellTask(RANDOM)))
    import dc_lib.runs.experiments as experiments

    monkeypatch.setattr(experiments, "evaluate_set", lambda *a, **k: pytest.fail("the aggregator evaluated"))
    aggregator = Aggregator(SMOKE, tmp_path, data_root=tiny_root, device="cpu")
    assert aggregator.run(RANDOM) == "done"
    assert aggregator.run(DM) == NOT_COMPUTED
    with pytest.raises(MissingJobOutput, match="was not made by the jobs"):
        aggregator.synset(DM)


def test_the_aggregator_draws_a_set_that_a_reused_chapter_made(tmp_path, tiny_root):
    # Figure 4.5 draws chapter 4's DC set, which chapter 3's run made (chapter 4 reuses it, as inline)
    made = Runner(SMOKE, tmp_path / "chapter3", data_root=tiny_root, device="cpu").synset(
        Cell(3, "3.1", "mnist", 1, "dc", "convnet", "convnet", ""))
    aggregator = Aggregator(SMOKE, tmp_path / "chapter4", data_root=tiny_root, device="cpu",
                            reuse_from=[tmp_path / "chapter3"])
    found = aggregator.synset(Cell(4, "4.1", "mnist", 1, "dc", "convnet", "convnet", ""))
    assert torch.equal(found.images, made.images)


def test_the_aggregator_says_a_sets_data_is_missing_rather_than_blaming_the_jobs(tmp_path):
    aggregator = Aggregator(SMOKE, tmp_path / "out", data_root=tmp_path, device="cpu")  # an empty data root
    with pytest.raises(MissingJobOutput, match="mnist: data not available"):
        aggregator.synset(DM)


# -- Slurm ----------------------------------------------------------------------------------------

FAKE_SBATCH = """#!/bin/sh
# records its arguments and a copy of the script, answers as sbatch does
echo "$@" >> "{log}"
cp "$1" "{script}"
echo "Submitted batch job 4242"
"""


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """``sbatch`` (logs its calls to tmp_path/sbatch.log, copies the script to tmp_path/array.sh) and
    ``srun`` (which submitit looks for) on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH.format(log=tmp_path / "sbatch.log", script=tmp_path / "array.sh"))
    (bin_dir / "srun").write_text("#!/bin/sh\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_a_slurm_submission_is_one_array_element_per_job(tmp_path, fake_slurm):
    pytest.importorskip("submitit", reason="submitit is the Slurm backend's dependency (pip install -e .[slurm])")
    import cloudpickle

    from dc_lib.runs.slurm import SlurmTask, submit_array

    specs = plan(chapter5, out=tmp_path / "out")
    jobs = submit_array(specs, tmp_path / "slurm", partition="gpu", time_min=90, gpus_per_job=1)
    assert len((tmp_path / "sbatch.log").read_text().splitlines()) == 1  # one array
    script = (tmp_path / "array.sh").read_text()
    assert f"#SBATCH --array=0-{len(specs) - 1}%{len(specs)}" in script
    assert "#SBATCH --partition=gpu" in script and "#SBATCH --time=90" in script
    assert "#SBATCH --gpus-per-node=1" in script and "#SBATCH --signal=USR2@120" in script
    assert [j.job_id for j in jobs] == [f"4242_{i}" for i in range(len(specs))]
    for job, s in zip(jobs, specs):
        with open(job.paths.submitted_pickle, "rb") as f:
            submission = cloudpickle.load(f)
        assert isinstance(submission.function, SlurmTask) and submission.args == (s.to_json(),)


def test_more_jobs_than_an_array_may_hold_go_in_several_arrays(tmp_path, fake_slurm):
    pytest.importorskip("submitit", reason="submitit is the Slurm backend's dependency (pip install -e .[slurm])")
    from dc_lib.runs.slurm import submit_array

    specs = plan(chapter5, out=tmp_path / "out")
    jobs = submit_array(specs, tmp_path / "slurm", max_array=4)
    assert len(jobs) == len(specs) > 4
    assert len((tmp_path / "sbatch.log").read_text().splitlines()) == -(-len(specs) // 4)


def test_a_preempted_array_element_is_requeued_and_resumes(tmp_path, tiny_root, monkeypatch):
    """submitit's local executor runs the array element as Slurm would; USR2 (Slurm's preemption
    notice) makes submitit checkpoint the task and requeue it, and the rerun resumes the condensation."""
    pytest.importorskip("submitit", reason="submitit is the Slurm backend's dependency (pip install -e .[slurm])")
    from dc_lib.runs.slurm import submit_array

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the element's torch threads (as a job script may set them)
    s = spec(tmp_path / "out", tiny_root, CellTask(DM, SLOW_DM))
    ckpt = Runner(SMOKE, s.out_dir, device="cpu").synset_path(DM, 0).with_suffix(".ckpt")
    old = os.getcwd()
    os.chdir(ROOT)  # the element imports dc_lib from where it was submitted, as on a cluster
    try:
        (job,) = submit_array([s], tmp_path / "slurm", time_min=10, cluster="local")
    finally:
        os.chdir(old)
    deadline = time.time() + 120
    while not ckpt.is_file() and time.time() < deadline:
        time.sleep(0.05)
    assert ckpt.is_file(), "the condensation never checkpointed"
    worker = int(json.loads(s.path(".log").read_text().splitlines()[0])["pid"])
    os.kill(worker, signal.SIGUSR2)
    deadline = time.time() + 300
    while not job.done() and time.time() < deadline:
        time.sleep(0.2)
    assert job.result()["status"] == "done"
    events = [json.loads(line)["event"] for line in s.path(".log").read_text().splitlines()]
    assert events == ["start", "start", "end"]
    resumed = SyntheticSet.load(Runner(SMOKE, s.out_dir, device="cpu").synset_path(DM, 0))
    assert resumed.metrics["resumed_from"] > 0


# -- bad input ------------------------------------------------------------------------------------

def jobs_cli(tmp_path, *args, env=None):
    return subprocess.run([sys.executable, "-m", "dc_lib", "jobs", "chapter5", "--profile", "smoke",
                           "--out", str(tmp_path / "out"), *args], capture_output=True, text=True, cwd=ROOT,
                          env={**subprocess_env(), **(env or {})})


@pytest.mark.parametrize("args, message", [
    (["--jobs", "9999"], "--jobs 9999 is more than the"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--gpus", "7", "--device", "cuda"] if torch.cuda.is_available() else ["--gpus", "0"], "--gpus names GPU"),
    (["--gpus", "0,x"], "--gpus must be GPU indices"),
    (["--slurm", "--jobs", "2"], "leave out --jobs and --gpus"),
    (["--partition", "gpu"], "go with --slurm"),
    (["--per-gpu", "2"], "--per-gpu goes with --jobs or --gpus"),
    (["--jobs", "1", "--device", "cpu", "--per-gpu", "2"], "--per-gpu 2 packs workers onto GPUs"),
])
def test_a_bad_backend_is_one_error_line_exit_2_and_writes_nothing(tmp_path, args, message):
    if args == ["--gpus", "0"] and torch.cuda.device_count() > 0:
        pytest.skip("this machine has a GPU 0")
    out = jobs_cli(tmp_path, *args)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
    assert not (tmp_path / "out").exists()


def test_slurm_without_sbatch_is_one_error_line(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    out = jobs_cli(tmp_path, "--slurm", env={"PATH": f"{bare}{os.pathsep}/usr/bin{os.pathsep}/bin"})
    assert out.returncode == 2 and "no sbatch on PATH" in out.stderr and out.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def _reproduce(tmp_path, *args, env=None):
    import shutil

    (tmp_path / "repo").mkdir()
    shutil.copy2(ROOT / "reproduce.sh", tmp_path / "repo" / "reproduce.sh")
    shutil.copytree(ROOT / "notebooks", tmp_path / "repo" / "notebooks")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    out = subprocess.run([str(tmp_path / "repo" / "reproduce.sh"), *args], capture_output=True, text=True,
                         cwd=tmp_path, env={**subprocess_env(), "PATH": path, "DC_DATA_ROOT": str(tmp_path),
                                            **(env or {})})
    return out, tmp_path / "repo"


@pytest.mark.parametrize("args, message", [
    (["chapter5", "--jobs", "two"], "--jobs must be a whole number"),
    (["chapter5", "--jobs", "9999"], "--jobs 9999 is more than the"),
    (["chapter5", "--gpus", "0", "--device", "cpu"], "--gpus with --device cpu"),
    (["quickstart", "--jobs", "2"], "are for chapter3, chapter4, chapter5 and chapter5_analyses"),
    (["chapter5", "--slurm", "--jobs", "2"], "leave out --jobs and --gpus"),
    (["chapter5", "--time", "10"], "go with --slurm"),
    (["chapter5", "--aggregate", "--jobs", "2"], "--aggregate only renders"),
    (["chapter5", "--per-gpu", "2"], "--per-gpu goes with --jobs or --gpus"),
    (["chapter5", "--jobs", "1", "--per-gpu", "two"], "--per-gpu must be a whole number"),
])
def test_reproduce_sh_refuses_a_bad_backend_before_writing_anything(tmp_path, args, message):
    out, repo = _reproduce(tmp_path, *args)
    assert out.returncode == 2 and out.stderr.startswith("error: ") and message in out.stderr, out.stderr
    assert out.stderr.count("\n") == 1
    assert not (repo / "results").exists()


def test_reproduce_sh_slurm_without_sbatch_is_one_error_line(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    path = f"{Path(sys.executable).parent}{os.pathsep}{bare}{os.pathsep}/usr/bin{os.pathsep}/bin"
    out, repo = _reproduce(tmp_path, "chapter5", "--slurm", env={"PATH": path})
    assert out.returncode == 2 and "no sbatch on PATH" in out.stderr and out.stderr.count("\n") == 1
    assert not (repo / "results").exists()


def test_reproduce_sh_help_lists_the_scale_out_options(tmp_path):
    out, _ = _reproduce(tmp_path, "--help")
    assert out.returncode == 0
    assert all(option in out.stdout for option in ("--jobs N", "--gpus 0,1", "--per-gpu K", "--slurm", "--partition",
                                                   "--time", "--gpus-per-job", "--aggregate"))


def _two_gpus(monkeypatch, cores=16):
    from dc_lib.runs import pool

    monkeypatch.setattr(pool.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(pool.torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(pool, "cpu_cores", lambda: cores)
    return pool


def test_packing_puts_k_workers_on_each_gpu_and_shares_the_cores_among_all(monkeypatch):
    pool = _two_gpus(monkeypatch)
    assert pool.check_workers(None, [0, 1], "cuda", per_gpu=3) == ([0, 0, 0, 1, 1, 1], 2)
    assert pool.check_workers(1, None, "auto", per_gpu=2) == ([0, 0], 8)


def test_one_worker_per_gpu_is_the_default(monkeypatch):
    pool = _two_gpus(monkeypatch)
    assert pool.check_workers(2, None, "cuda") == ([0, 1], 8)


@pytest.mark.parametrize("per_gpu", [0, -1, True, 1.5])
def test_packing_refuses_a_count_that_is_not_a_positive_whole_number(monkeypatch, per_gpu):
    pool = _two_gpus(monkeypatch)
    with pytest.raises(ValueError, match="--per-gpu must be a whole number"):
        pool.check_workers(None, [0], "cuda", per_gpu=per_gpu)


def test_packed_workers_each_see_only_their_gpu(monkeypatch):
    import queue as queue_module

    from dc_lib.runs import pool

    seen, devices = [], queue_module.Queue()
    for device in [1, 1]:
        devices.put(device)
    monkeypatch.setattr(pool.torch, "set_num_threads", lambda n: None)
    for _ in range(2):
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
        pool._pin_worker(devices, 4)
        seen.append(os.environ["CUDA_VISIBLE_DEVICES"])
    assert seen == ["1", "1"]


def test_the_plan_is_printed_as_json_lines_and_nothing_is_written(tmp_path):
    out = jobs_cli(tmp_path, "--plan")
    assert out.returncode == 0, out.stderr
    specs = [json.loads(line) for line in out.stdout.splitlines()]
    assert [s.pop("id") for s in specs] == [s.id for s in plan(chapter5, out=tmp_path / "out")]
    assert not (tmp_path / "out").exists()


ANALYSES = {"5.3", "5.4", "B.T1"}


@pytest.mark.parametrize("profile", ["smoke", "cpu", "paper"])
def test_chapter5s_jobs_leave_its_analyses_to_their_own_notebook(profile):
    planner = Planner(get_profile(profile), "unused", device="cpu")
    chapter5.all_cells(planner)
    assert {t.cell.table for t in planner.tasks} & ANALYSES == set()


@pytest.mark.parametrize("profile", ["smoke", "cpu", "paper"])
def test_the_analyses_jobs_are_tables_5_3_5_4_and_b_t1(profile):
    planner = Planner(get_profile(profile), "unused", device="cpu")
    chapter5.analysis_cells(planner)
    assert {t.cell.table for t in planner.tasks} == ANALYSES


def test_the_analyses_plan_from_the_command_line_is_analysis_cells(tmp_path):
    out = subprocess.run([sys.executable, "-m", "dc_lib", "jobs", "chapter5_analyses", "--profile", "smoke",
                          "--out", str(tmp_path / "out"), "--plan"], capture_output=True, text=True, cwd=ROOT,
                         env=subprocess_env())
    assert out.returncode == 0, out.stderr
    planner = Planner(SMOKE, tmp_path / "out", device="cpu")
    chapter5.analysis_cells(planner)
    ids = [s.id for s in plan_jobs(planner, 5)]
    assert [json.loads(line)["id"] for line in out.stdout.splitlines()] == ids


def test_reproduce_sh_with_two_workers_then_renders_the_tables_from_their_rows(tmp_path, tiny_arrays):
    """The whole path: plan, 2 CPU workers, the notebook with AGGREGATE_ONLY; a rerun runs no job."""
    import numpy as np

    (tmp_path / "data").mkdir()
    np.savez_compressed(tmp_path / "data" / "mnist.npz", **tiny_arrays)
    args = ("chapter5", "--profile", "smoke", "--device", "cpu", "--data-root", "data", "--jobs", "2")
    out, repo = _reproduce(tmp_path, *args, env={"DC_DOWNLOAD": "0"})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    smoke = repo / "results" / "chapter5" / "smoke"
    executed = (smoke / "05_distribution_matching.ipynb").read_text()
    assert "AGGREGATE_ONLY = True" in executed
    dm = [line for line in (smoke / "table_5.1.md").read_text().splitlines() if line.startswith("| mnist | 1 | dm |")]
    assert dm and "±" in dm[0]
    again = subprocess.run([str(repo / "reproduce.sh"), *args], capture_output=True, text=True, cwd=tmp_path,
                           env={**subprocess_env(), "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                                            f"{os.environ.get('PATH', '')}", "DC_DOWNLOAD": "0"})
    jobs = len(plan(chapter5))
    assert again.returncode == 0 and f"{jobs} jobs, {jobs} already done, 0 to run" in again.stdout
