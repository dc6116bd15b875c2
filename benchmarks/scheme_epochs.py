"""Table 4.4 (cpu profile): does the order of the augmentation schemes depend on the evaluation epochs?

    DC_DATA_ROOT=../shared/data python benchmarks/scheme_epochs.py [--nets 3]

The cpu plan trains every evaluation network of chapter 4 for 200 epochs; the thesis trains networks
with augmentation for 1000 and without for 300. This retrains fresh networks on three of Table 4.4's
committed cpu sets (lossy CIFAR10, 1 ipc): scheme A (DC, no augmentation anywhere) at 200 and 300
epochs, and the Siamese-crop DSA set without (scheme E) and with (ours) crop while training, at 200
and 1000 or 300. Prints one JSON line per (scheme, epochs): mean and population std of the test
accuracy (%) and the wall time. If ours stays below A at the thesis's epochs, the epochs are not why
the cpu table reverses the thesis's order.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from dc_lib.core.data import LOSSY_FILES, load_dataset
from dc_lib.core.synset import SyntheticSet
from dc_lib.engines.choose import evaluate_set
from dc_lib.engines.evaluation import EvalConfig

SETS = Path(__file__).resolve().parents[1] / "results" / "chapter4" / "cpu" / "synsets"
# scheme -> (set file, augmentation while training the evaluation networks, epochs to try)
SCHEMES = {"A": ("cifar10_ipc1_dc_convnet_sides-none_set0.pt", None, (200, 300)),
           "E": ("cifar10_ipc1_dsa_convnet_aug-crop_set0.pt", None, (200, 300)),
           "ours": ("cifar10_ipc1_dsa_convnet_aug-crop_set0.pt", "crop", (200, 1000))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", type=int, default=3)
    args = ap.parse_args()
    real = load_dataset("cifar10", download=False)
    if real.note != LOSSY_FILES["cifar10_jpeg.npz"]:  # the sets were condensed on the lossy copy: test on it
        sys.exit(f"these sets were made from the lossy CIFAR-10 copy; the data root gave {real.source}")
    for scheme, (name, strategy, epochs_tried) in SCHEMES.items():
        syn = SyntheticSet.load(SETS / name)
        for epochs in epochs_tried:
            start = time.perf_counter()
            accs = evaluate_set(syn.images, syn.labels, real,
                                EvalConfig(epochs=epochs, num_nets=args.nets, strategy=strategy),
                                seed=7, progress=False)
            acc = torch.tensor(accs)
            print(json.dumps({"bench": "scheme_epochs", "scheme": scheme, "set": name, "eval_aug": strategy or "none",
                              "epochs": epochs, "nets": args.nets, "mean": round(float(acc.mean()), 2),
                              "std": round(float(acc.std(unbiased=False)), 2), "accs": [round(a, 2) for a in accs],
                              "seconds": round(time.perf_counter() - start, 1), "torch": torch.__version__}),
                  flush=True)


if __name__ == "__main__":
    main()
