"""Candidates of the NAS space trained per minute on a 10-ipc proxy, per engine.

    DC_DATA_ROOT=../shared/data python benchmarks/nas_engines.py [--device cpu|cuda] [--candidates 8]

Prints one JSON line per engine that gives the same numbers (up to float rounding):
``loop`` (one candidate after another, every torch thread on it), ``side_by_side`` (on CPU, one
candidate per core, one thread each: what ``dc_lib.runs.nas.train_candidates`` does there), and on
CUDA with ``--repeats >= 2`` (the thesis's 5 trainings per candidate) ``auto``, the stacked path
for a candidate's repeats. The sample is drawn from ``--widths`` (default: the cpu profile's W 32/64).
"""

import argparse
import json
import tempfile
import time

import torch

from dc_lib.core.augment import default_strategy
from dc_lib.core.data import load_dataset
from dc_lib.core.speed import Speed
from dc_lib.methods.baselines import select_random
from dc_lib.runs.nas import Proxy, ProxyTraining, SearchRows, sample_space, train_candidates, validation_split
from dc_lib.runs.results import ResultStore


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dataset", default="fashionmnist")
    ap.add_argument("--candidates", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--widths", default="32,64", help="comma-separated widths of the sample; 'all' for the 720")
    args = ap.parse_args()
    real = load_dataset(args.dataset, device=args.device)
    split = validation_split(real, 0.1)
    split = type(split)(split.info, split.x_train, split.y_train, split.x_test[:2000], split.y_test[:2000],
                        split.source)  # 2000 validation images: the benchmark times training, not testing
    syn = select_random(split, 10)
    proxy = Proxy("random", syn.images, syn.labels, storage=syn.images.shape[0])
    widths = None if args.widths == "all" else tuple(int(w) for w in args.widths.split(","))
    cands = sample_space(args.candidates, seed=0, widths=widths)
    training = ProxyTraining(epochs=args.epochs, batch=250, strategy=default_strategy(real.info.name),
                             repeats=args.repeats)
    engines = {"loop": Speed(engine="loop")}
    if torch.device(args.device).type == "cpu":
        engines["side_by_side"] = Speed(engine="side_by_side")
    elif args.repeats > 1:
        engines["auto"] = Speed()
    accs = {}
    for name, speed in engines.items():
        with tempfile.TemporaryDirectory() as tmp:
            store = ResultStore(f"{tmp}/r.csv")
            start = time.perf_counter()
            train_candidates(cands, proxy, split, store, training, SearchRows("bench", 10, "bench", "bench"),
                             progress=False, speed=speed)
            seconds = time.perf_counter() - start
            rows = store.load()
            accs[name] = rows[rows.metric == "val_acc"].sort_values("setting").value.tolist()
        print(json.dumps({"bench": "nas_candidates", "engine": name, "device": args.device,
                          "threads": torch.get_num_threads(), "candidates": len(cands), "widths": args.widths,
                          "repeats": args.repeats, "epochs": args.epochs, "seconds": round(seconds, 2),
                          "candidates_per_min": round(60 * len(cands) / seconds, 2),
                          "max_acc_diff_vs_loop": round(max(abs(a - b) for a, b in zip(accs[name], accs["loop"])), 3),
                          "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
