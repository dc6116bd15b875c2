"""Command line: ``dc-lib condense|evaluate|show`` on your own data, ``dc-lib jobs`` for a chapter's cells as jobs.

Exit codes: 0 ok, 2 usage or bad input (one ``error:`` line on stderr), 1 unexpected failure.
Sets are written to ``OUT/<name>_<method>_ipc<N>.pt`` with a PNG grid beside them and a
checkpoint ``.ckpt`` that a rerun with the same arguments resumes from.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from . import __version__
from .core.config import OWN_DATA, SmallRun
from .core.own_data import DataInputError, check_class_sizes, load_data
from .core.synset import SetFileError, SyntheticSet
from .methods.condense import METHODS



class UsageError(ValueError):
    """Bad arguments or input: reported as one line, exit code 2."""


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
        return h, w
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be HxW, e.g. 32x32, got {text!r}") from None


def _device(name: str) -> str:
    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


def _writable(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".dc_lib_write_test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"output directory {out} cannot be written ({err.strerror or err})") from None
    return out


def _data(args) -> "object":
    return load_data(args.data, test_fraction=args.test_fraction, seed=args.seed, resize=args.resize,
                     mode=args.mode, device=_device(args.device))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="image folder, .npz file or dataset name")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resize", type=_size, default=None, help="HxW: bring all images to one size")
    p.add_argument("--mode", choices=("L", "RGB"), default=None,
                   help="convert every image to grayscale (L) or colour (RGB)")
    p.add_argument("--test-fraction", type=float, default=0.2,
                   help="test share when the folder has no train/ and test/ (default 0.2)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--profile", choices=tuple(OWN_DATA), default="cpu",
                   help="budget behind the defaults of --iterations, --nets, --epochs (dc_lib.core.config.OWN_DATA; "
                        "default cpu: DM K=1000, DC/DSA K=200, 5 nets x 300 epochs)")


def parser() -> argparse.ArgumentParser:
    """The argparse parser of ``dc-lib``."""
    ap = argparse.ArgumentParser(prog="dc-lib", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("condense", help="make a small synthetic/selected set")
    _common(c)
    c.add_argument("--method", required=True, help=f"one of {', '.join(METHODS)}")
    c.add_argument("--ipc", type=int, required=True, help="images per class")
    c.add_argument("--iterations", type=int, default=None,
                   help="K outer iterations (default: the profile's; herding/kcenter/forgetting: epochs of "
                        "their feature network; ignored by random)")
    c.add_argument("--arch", default="convnet")
    c.add_argument("--out", required=True, help="output directory")
    e = sub.add_parser("evaluate", help="train fresh networks on a set; compare with random real images")
    e.add_argument("set", help="set file (.pt) written by condense, or the authors' res_*.pt")
    _common(e)
    e.add_argument("--nets", type=int, default=None, help="networks per set (default: the profile's)")
    e.add_argument("--epochs", type=int, default=None, help="epochs per network (default: the profile's)")
    e.add_argument("--eval-aug", choices=("dsa", "classic", "none"), default="dsa")
    e.add_argument("--arch", default="convnet")
    e.add_argument("--first-only", action="store_true", help="authors' files: first experiment only")
    e.add_argument("--out", default=None, help="directory for results.csv")
    s = sub.add_parser("show", help="write the PNG grid of a set")
    s.add_argument("set")
    s.add_argument("--out", default=None, help="PNG path (default: beside the set)")
    _jobs_parser(sub)
    return ap


# reproduce.sh's names whose notebooks run their table cells as jobs: (chapter of the cells, the
# thesis module's function that asks for every cell).
JOB_CHAPTERS = {"chapter3": (3, "all_cells"), "chapter4": (4, "all_cells"), "chapter5": (5, "all_cells"),
                "chapter5_analyses": (5, "analysis_cells")}


def _jobs_parser(sub) -> None:
    j = sub.add_parser("jobs", help="a chapter's table cells as jobs: plan them, run them here, on a pool of "
                                    "workers (--jobs/--gpus) or as a Slurm array (--slurm)",
                       description="Every table cell of a chapter notebook as a job (dc_lib.runs.jobs): written "
                                   "to OUT/jobs/, each run once; then run the notebook with AGGREGATE_ONLY = True "
                                   "(reproduce.sh does both).")
    j.add_argument("chapter", choices=list(JOB_CHAPTERS))
    j.add_argument("--profile", choices=("smoke", "cpu", "paper"), default="cpu")
    j.add_argument("--out", required=True, help="the chapter's results folder (results/<chapter>/<profile>)")
    j.add_argument("--data-root", default=None)
    j.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    j.add_argument("--seed", type=int, default=0)
    j.add_argument("--reuse-from", action="append", default=[],
                   help="a results folder whose identical experiments are copied (chapter 4: chapter 3's)")
    j.add_argument("--plan", action="store_true", help="print the jobs (one JSON line each) and stop")
    j.add_argument("--jobs", type=int, default=None, help="worker processes on this machine (one per GPU, "
                                                         "or one per CPU core at most)")
    j.add_argument("--gpus", default=None, help="GPU indices, one worker each, e.g. 0,1")
    j.add_argument("--per-gpu", type=int, default=1,
                   help="workers on each GPU (default 1): pack several small jobs onto one large GPU")
    j.add_argument("--slurm", action="store_true", help="submit one Slurm array element per job (submitit)")
    j.add_argument("--cluster", default="slurm", choices=("slurm", "local"), help=argparse.SUPPRESS)
    j.add_argument("--partition", default=None)
    j.add_argument("--time", default="24:00:00", help="time limit per array element (default 24:00:00)")
    j.add_argument("--gpus-per-job", type=int, default=1)
    j.add_argument("--cpus-per-job", type=int, default=None)
    j.add_argument("--wait", action="store_true", help="--slurm: wait until the array has finished")


def _gpu_list(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        gpus = [int(g) for g in text.split(",")]
    except ValueError:
        raise UsageError(f"--gpus must be GPU indices separated by commas, e.g. 0,1; got {text!r}") from None
    if not gpus or any(g < 0 for g in gpus):
        raise UsageError(f"--gpus must be GPU indices separated by commas, e.g. 0,1; got {text!r}")
    return gpus


def _jobs(args) -> int:
    """Plan a chapter's jobs and run them (or print them): every check comes before anything is written."""
    from .core.config import get_profile
    from .runs.job_cost import longest_first
    from .runs.jobs import Planner, plan_jobs, run_job, write_plan
    from .thesis import chapter3, chapter4, chapter5

    gpus = _gpu_list(args.gpus)
    if args.slurm and (args.jobs is not None or gpus is not None):
        raise UsageError("--slurm runs each job as an array element: leave out --jobs and --gpus")
    if not args.slurm and (args.partition or args.cpus_per_job or args.wait):
        raise UsageError("--partition, --cpus-per-job and --wait go with --slurm")
    pool = args.jobs is not None or gpus is not None
    if args.per_gpu != 1 and not pool:
        raise UsageError("--per-gpu goes with --jobs or --gpus (the pool of workers on this machine)")
    if args.slurm:
        from .runs.slurm import check_slurm, parse_minutes

        time_min = parse_minutes(args.time)
        if args.gpus_per_job < 0:
            raise UsageError(f"--gpus-per-job must be 0 or more, got {args.gpus_per_job}")
        check_slurm(args.cluster)
    elif pool:
        from .runs.pool import check_workers

        devices, threads = check_workers(args.jobs, gpus, args.device, args.per_gpu)
    elif args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda, but torch sees no CUDA GPU")
    if args.data_root is not None and not Path(args.data_root).is_dir():
        raise UsageError(f"data root {args.data_root} is not a directory")

    chapter, ask_cells = JOB_CHAPTERS[args.chapter]
    module = {3: chapter3, 4: chapter4, 5: chapter5}[chapter]
    planner = Planner(get_profile(args.profile), args.out, seed=args.seed, device="cpu")  # plans load nothing
    getattr(module, ask_cells)(planner)
    specs = plan_jobs(planner, chapter, data_root=args.data_root, device=args.device,
                      reuse_from=args.reuse_from)
    if args.plan:
        for spec in specs:
            print(json.dumps({"id": spec.id, **spec.to_dict()}, sort_keys=True))
        return 0
    _writable(Path(args.out))
    write_plan(specs)
    todo = longest_first([s for s in specs if not s.done])
    print(f"{args.chapter} ({args.profile}): {len(specs)} jobs, {len(specs) - len(todo)} already done, "
          f"{len(todo)} to run", flush=True)

    def report(spec, result) -> None:
        report.count += 1
        line = f"[{report.count}/{len(todo)}] {result['status']}: {spec.describe()}"
        print(line if len(line) < 300 else line[:297] + "...", flush=True)
        if result.get("error"):
            print(f"    {result['error']}", flush=True)
    report.count = 0

    if args.slurm:
        from .runs.slurm import submit_array

        if not todo:
            return 0
        jobs = submit_array(todo, Path(args.out) / "jobs" / "slurm", partition=args.partition, time_min=time_min,
                            gpus_per_job=args.gpus_per_job, cpus_per_job=args.cpus_per_job, cluster=args.cluster)
        print(f"submitted {len(jobs)} array element(s): job {jobs[0].job_id.split('_')[0]}; logs in "
              f"{Path(args.out) / 'jobs' / 'slurm'}", flush=True)
        if not args.wait:
            print(f"when the array has finished: ./reproduce.sh {args.chapter} --profile {args.profile} --aggregate")
            return 0
        results = []
        for spec, job in zip(todo, jobs):
            try:
                result = job.result()
            except Exception as err:  # the element failed, or was cancelled
                result = {"id": spec.id, "status": "failed", "error": f"{type(err).__name__}: {str(err)[-300:]}"}
            report(spec, result)
            results.append(result)
    elif pool:
        from .runs.pool import run_pool

        results = run_pool(todo, devices, threads, on_result=report)
    else:
        results = []
        for spec in todo:
            results.append(run_job(spec))
            report(spec, results[-1])
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        print(f"error: {len(failed)} of {len(todo)} job(s) failed (above); rerun the same command to run them "
              "again (finished jobs are skipped)", file=sys.stderr)
        return 1
    return 0


def _condense(args) -> int:
    from .methods.condense import condense_to
    from .core.models import NETWORKS

    if args.method not in METHODS:
        raise UsageError(f"unknown method {args.method!r}; valid: {', '.join(METHODS)}")
    if args.arch not in NETWORKS:
        raise UsageError(f"unknown architecture {args.arch!r}; valid: {', '.join(NETWORKS)}")
    out = _writable(Path(args.out))
    real = _data(args)
    check_class_sizes(real, args.ipc)
    path = out / f"{real.info.name}_{args.method}_ipc{args.ipc}.pt"
    condense_to(path, real, args.method, args.ipc, OWN_DATA[args.profile], iterations=args.iterations,
                arch=args.arch, seed=args.seed, progress=args.progress,
                extra_config={"cli": {k: str(v) for k, v in vars(args).items()}})
    print(path)
    return 0


def _authors_sets(path: Path, real, first_only: bool) -> list[SyntheticSet]:
    """Sets from the authors' ``res_<METHOD>_<DATASET>_<MODEL>_<ipc>ipc.pt`` (``data``: list of (x, y))."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        data = state["data"]
    except Exception as err:
        raise SetFileError(f"{path}: not a readable authors' result file ({type(err).__name__})") from None
    parts = path.stem.split("_")
    method = parts[1].lower() if len(parts) > 1 else "authors"
    sets = []
    for images, labels in data[:1] if first_only else data:
        ipc = int(labels.numel()) // real.info.num_classes
        sets.append(SyntheticSet(images.float(), labels.long(), real.info.name, method, ipc,
                                 real.info.mean, real.info.std))
    return sets


def _evaluate(args) -> int:
    from .core.augment import CLASSIC, default_strategy
    from .runs.comparison import against_random, comparison_rows
    from .runs.results import ResultStore

    path = Path(args.set)
    out = _writable(Path(args.out)) if args.out else None
    real = _data(args)
    run: SmallRun = OWN_DATA[args.profile]
    nets, epochs = args.nets or run.nets, args.epochs or run.epochs
    if path.name.startswith("res_"):
        sets = _authors_sets(path, real, args.first_only)
    else:
        sets = [SyntheticSet.load(path)]
    strategy = {"dsa": default_strategy(real.info.name), "classic": CLASSIC, "none": None}[args.eval_aug]
    budget = f"nets={nets};epochs={epochs};eval_aug={args.eval_aug}"
    for i, s in enumerate(sets):
        s.check_matches(real, where=str(path))
        accs = against_random(s, real, nets=nets, epochs=epochs, strategy=strategy, seed=args.seed,
                              arch=args.arch, progress=args.progress)
        for which, values in accs.items():
            t = torch.tensor(values, dtype=torch.float64)
            sd = float(t.std(correction=0)) if t.numel() > 1 else 0.0
            label = s.method if which == "set" else f"random ({len(values)} draws)"
            print(f"experiment {i}: {label}: {float(t.mean()):.2f} ± {sd:.2f} % ({len(values)} nets)")
        if out is not None:
            rows = comparison_rows(s, accs, table=path.stem, profile=f"cli-{args.profile}", budget=budget,
                                   data_source=real.source, seed=args.seed, arch=args.arch, set_idx=i)
            ResultStore(out / "results.csv").append(rows)
    if out is not None:
        print(out / "results.csv")
    return 0


def _show(args) -> int:
    s = SyntheticSet.load(args.set)
    print(s.save_png(args.out or Path(args.set).with_suffix(".png")))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``dc-lib`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed usage and error
        return int(exc.code or 0)
    try:
        return {"condense": _condense, "evaluate": _evaluate, "show": _show, "jobs": _jobs}[args.command](args)
    except (UsageError, DataInputError, SetFileError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}".splitlines()[0] if "\n" not in str(err) else f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as err:  # unexpected: one line, not a traceback, exit 1
        print(f"error: unexpected {type(err).__name__}: {err}", file=sys.stderr)
        return 1
