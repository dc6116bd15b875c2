"""Candidates of the NAS space trained per minute on a 10-ipc proxy, per evaluation engine.

    DC_DATA_ROOT=../shared/data python benchmarks/nas_engines.py [--device cpu|cuda] [--candidates 6]

Prints one JSON line per engine: the plain loop, the loop through torch.compile, and (with
--repeats >= 2, the thesis's 5 trainings per candidate) whatever ``evaluate_set`` picks for the
repeats of one candidate (side by side on CPU, stacked on CUDA where the candidate stacks).
"""

import argparse
import json
import time

import torch

from dc_lib.core.augment import default_strategy
from dc_lib.core.data import load_dataset
from dc_lib.engines.choose import evaluate_set
from dc_lib.methods.baselines import select_random
from dc_lib.runs.nas import sample_space, validation_split


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dataset", default="fashionmnist")
    ap.add_argument("--candidates", type=int, default=6)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    real = load_dataset(args.dataset, device=args.device)
    split = validation_split(real, 0.1)
    proxy = select_random(split, 10)
    cands = sample_space(args.candidates, seed=0)
    engines = {"loop": Speed(engine="loop"), "loop+compile": Speed(engine="loop", compile=True)}
    if args.repeats > 1:
        engines["auto"] = Speed()
    for name, speed in engines.items():
        start = time.perf_counter()
        for c in cands:
            protocol = EvalConfig(epochs=args.epochs, num_nets=args.repeats, strategy=default_strategy(real.info.name),
                                  batch_size=250, arch_overrides=c.overrides())
            evaluate_set(proxy.images, proxy.labels, split, protocol, seed=0, progress=False, speed=speed)
        seconds = time.perf_counter() - start
        print(json.dumps({"bench": "nas_candidates", "engine": name, "device": args.device,
                          "candidates": len(cands), "repeats": args.repeats, "epochs": args.epochs,
                          "seconds": round(seconds, 2), "candidates_per_min": round(60 * len(cands) / seconds, 2),
                          "torch": torch.__version__}))


if __name__ == "__main__":
    main()
