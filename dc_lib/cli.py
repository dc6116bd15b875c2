"""Command line: ``dc-lib condense|evaluate|show`` on your own data (see ``--help``).

Exit codes: 0 ok, 2 usage or bad input (one ``error:`` line on stderr), 1 unexpected failure.
Sets are written to ``OUT/<name>_<method>_ipc<N>.pt`` with a PNG grid beside them and a
checkpoint ``.ckpt`` that a rerun with the same arguments resumes from.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

import torch

from . import __version__
from .files import atomic_write
from .own_data import DataInputError, check_class_sizes, load_data
from .synset import SetFileError, SyntheticSet

METHODS = ("dm", "dc", "dsa", "random", "herding", "kcenter", "forgetting")
DEFAULT_ITERATIONS = {"dm": 1000, "dc": 200, "dsa": 200}


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


def parser() -> argparse.ArgumentParser:
    """The argparse parser of ``dc-lib``."""
    ap = argparse.ArgumentParser(prog="dc-lib", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("condense", help="make a small synthetic/selected set")
    _common(c)
    c.add_argument("--method", required=True, help=f"one of {', '.join(METHODS)}")
    c.add_argument("--ipc", type=int, required=True, help="images per class")
    c.add_argument("--iterations", type=int, default=None,
                   help="K outer iterations (default: DM 1000, DC/DSA 200; ignored by selection)")
    c.add_argument("--arch", default="convnet")
    c.add_argument("--out", required=True, help="output directory")
    e = sub.add_parser("evaluate", help="train fresh networks on a set; compare with random real images")
    e.add_argument("set", help="set file (.pt) written by condense, or the authors' res_*.pt")
    _common(e)
    e.add_argument("--nets", type=int, default=5)
    e.add_argument("--epochs", type=int, default=300)
    e.add_argument("--eval-aug", choices=("dsa", "classic", "none"), default="dsa")
    e.add_argument("--arch", default="convnet")
    e.add_argument("--first-only", action="store_true", help="authors' files: first experiment only")
    e.add_argument("--out", default=None, help="directory for results.csv")
    s = sub.add_parser("show", help="write the PNG grid of a set")
    s.add_argument("set")
    s.add_argument("--out", default=None, help="PNG path (default: beside the set)")
    return ap


def _condense(args) -> int:
    from .models import NETWORKS

    if args.method not in METHODS:
        raise UsageError(f"unknown method {args.method!r}; valid: {', '.join(METHODS)}")
    if args.arch not in NETWORKS:
        raise UsageError(f"unknown architecture {args.arch!r}; valid: {', '.join(NETWORKS)}")
    out = _writable(Path(args.out))
    real = _data(args)
    check_class_sizes(real, args.ipc)
    stem = out / f"{real.info.name}_{args.method}_ipc{args.ipc}"
    ckpt = stem.with_suffix(".ckpt")
    k = args.iterations or DEFAULT_ITERATIONS.get(args.method, 0)
    if args.method == "dm":
        from .distribution_matching import condense_dm
        synset = condense_dm(real, args.ipc, iterations=k, arch=args.arch, seed=args.seed,
                             checkpoint_path=ckpt, checkpoint_every=max(1, min(100, k // 10 or 1)),
                             progress=args.progress, keep_checkpoint=True)
    elif args.method in ("dc", "dsa"):
        from .augment import default_strategy
        from .gradient_matching import condense_gm
        synset = condense_gm(real, args.ipc, iterations=k, arch=args.arch, seed=args.seed,
                             dsa_strategy=default_strategy(real.info.name) if args.method == "dsa" else None,
                             checkpoint_path=ckpt, checkpoint_every=max(1, min(10, k // 10 or 1)),
                             progress=args.progress, keep_checkpoint=True)
    else:
        from . import baselines
        if args.method == "random":
            synset = baselines.select_random(real, args.ipc, seed=args.seed)
        else:
            net, counts = baselines.feature_network(real, epochs=k or 10, seed=args.seed, arch=args.arch,
                                                    cache=ckpt, progress=args.progress)
            synset = (baselines.select_herding(real, args.ipc, net, seed=args.seed) if args.method == "herding"
                      else baselines.select_k_center(real, args.ipc, net, seed=args.seed)
                      if args.method == "kcenter" else baselines.select_forgetting(real, args.ipc, counts, args.seed))
    synset.class_names = real.info.class_names()
    synset.config = {**synset.config, "cli": {k2: str(v) for k2, v in vars(args).items()}}
    path = synset.save(stem.with_suffix(".pt"))
    synset.save_png(stem.with_suffix(".png"))
    if args.method in ("dm", "dc", "dsa"):
        # Only now is the set safe on disk; until here the checkpoint is its only copy.
        ckpt.unlink(missing_ok=True)
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
    from .augment import CLASSIC, default_strategy
    from .baselines import select_random
    from .evaluation import evaluate_set

    path = Path(args.set)
    out = _writable(Path(args.out)) if args.out else None
    real = _data(args)
    if path.name.startswith("res_"):
        sets = _authors_sets(path, real, args.first_only)
    else:
        sets = [SyntheticSet.load(path)]
    strategy = {"dsa": default_strategy(real.info.name), "classic": CLASSIC, "none": None}[args.eval_aug]
    rows = []
    for i, s in enumerate(sets):
        s.check_matches(real, where=str(path))
        rand = select_random(real, s.ipc, seed=args.seed)
        for which, cand in (("set", s), ("random", rand)):
            accs = evaluate_set(cand.images.to(real.device), cand.labels.to(real.device), real, arch=args.arch,
                                num_nets=args.nets, epochs=args.epochs, strategy=strategy, seed=args.seed,
                                progress=args.progress)
            t = torch.tensor(accs, dtype=torch.float64)
            sd = float(t.std()) if t.numel() > 1 else 0.0
            print(f"{which} {i}: {100 * float(t.mean()):.2f} ± {100 * sd:.2f} % ({len(accs)} nets)")
            rows += [{"set_file": str(path), "experiment": i, "dataset": real.info.name, "method": s.method,
                      "ipc": s.ipc, "which": which, "net_idx": n, "seed": args.seed, "eval_aug": args.eval_aug,
                      "epochs": args.epochs, "accuracy": a, "dc_lib_version": __version__}
                     for n, a in enumerate(accs)]
    if out is not None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
        print(atomic_write(out / "results.csv", lambda tmp: Path(tmp).write_text(buf.getvalue())))
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
