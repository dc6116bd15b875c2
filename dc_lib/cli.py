"""Command line: ``dc-lib condense|evaluate|show`` on your own data (see ``--help``).

Exit codes: 0 ok, 2 usage or bad input (one ``error:`` line on stderr), 1 unexpected failure.
Sets are written to ``OUT/<name>_<method>_ipc<N>.pt`` with a PNG grid beside them and a
checkpoint ``.ckpt`` that a rerun with the same arguments resumes from.
"""

from __future__ import annotations

import argparse
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
    return ap


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
        return {"condense": _condense, "evaluate": _evaluate, "show": _show}[args.command](args)
    except (UsageError, DataInputError, SetFileError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}".splitlines()[0] if "\n" not in str(err) else f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except Exception as err:  # unexpected: one line, not a traceback, exit 1
        print(f"error: unexpected {type(err).__name__}: {err}", file=sys.stderr)
        return 1
