"""How many evaluation epochs each architecture of the cross-architecture tables needs on a tiny set.

    DC_DATA_ROOT=../shared/data python benchmarks/cross_arch_epochs.py \
        [--set results/chapter3/cpu/synsets/mnist_ipc1_dc_convnet_set0.pt] [--epochs 200,500,1000] [--nets 3]

Trains ``--nets`` fresh networks of every architecture of Tables 3.2 / 4.3 on one saved set (by
default chapter 3's MNIST 1-ipc DC set of the cpu profile) for each number of epochs, with the
chapter's evaluation protocol for that set (MNIST: crop/scale/rotate), and tests them on the
whole test split. Prints one JSON line per (architecture, epochs): mean and std of the test
accuracy (%) and the wall time. Where the mean stops rising by more than its std, more epochs stop
helping; the cpu profile's ``arch_epochs`` (dc_lib/core/config.py) is set from this.
"""

import argparse
import json
import time

import torch

from dc_lib.core.augment import CLASSIC
from dc_lib.core.config import ARCHS
from dc_lib.core.data import load_dataset
from dc_lib.core.synset import SyntheticSet
from dc_lib.engines.choose import evaluate_set
from dc_lib.engines.evaluation import EvalConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="results/chapter3/cpu/synsets/mnist_ipc1_dc_convnet_set0.pt")
    ap.add_argument("--epochs", default="200,500,1000")
    ap.add_argument("--nets", type=int, default=3)
    ap.add_argument("--archs", default=",".join(ARCHS))
    args = ap.parse_args()
    syn = SyntheticSet.load(args.set)
    real = load_dataset(syn.dataset)
    strategy = CLASSIC if syn.dataset == "mnist" else None
    for arch in args.archs.split(","):
        for epochs in (int(e) for e in args.epochs.split(",")):
            start = time.perf_counter()
            accs = evaluate_set(syn.images, syn.labels, real,
                                EvalConfig(epochs=epochs, num_nets=args.nets, strategy=strategy, arch=arch),
                                seed=0, progress=False)
            acc = torch.tensor(accs)
            print(json.dumps({"bench": "cross_arch_epochs", "set": args.set, "arch": arch, "epochs": epochs,
                              "nets": args.nets, "mean": round(float(acc.mean()), 2),
                              "std": round(float(acc.std(unbiased=False)), 2), "accs": [round(a, 2) for a in accs],
                              "seconds": round(time.perf_counter() - start, 1), "torch": torch.__version__}),
                  flush=True)


if __name__ == "__main__":
    main()
