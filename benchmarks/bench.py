"""Time the hot paths of dc_lib and print one JSON line per figure.

    DC_DATA_ROOT=../shared/data python benchmarks/bench.py [--device cpu|cuda] [--repeat 3] [--quick]

Figures (MNIST, default ConvNet, the thesis's hyperparameters unless --quick):
  dm_iteration   one DM iteration, ipc 10, 256 real images per class, DSA
  dc_outer       one DC outer iteration at 1 ipc (10 per-class matches, second-order backward)
  dsa_outer      the same with Siamese augmentation
  eval_network   training one ConvNet on a 10-ipc set with DSA (per epoch; x300 for the protocol)

Each line: name, seconds (min over --repeat), GFLOP/s of forward work where it is defined,
peak memory (CUDA: max allocated; CPU: the process's peak RSS so far), device, torch version.
This measures the current implementation; issue 4 adds the straightforward-vs-fast comparison.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from dc_lib.augment import default_strategy
from dc_lib.baselines import select_random
from dc_lib.data import load_dataset
from dc_lib.distribution_matching import condense_dm
from dc_lib.evaluation import train_network
from dc_lib.gradient_matching import condense_gm
from dc_lib.models import get_network
from dc_lib.seeding import make_generator, seed_everything


def forward_flops_per_image(info, device) -> float:
    net = get_network("convnet", info.channel, info.num_classes, info.im_size).to(device)
    x = torch.zeros(4, info.channel, *info.im_size, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net.embed(x)
    return counter.get_total_flops() / 4


def peak_memory_mib(device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, repeat: int, device) -> float:
    best = float("inf")
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small batches: checks the script, not speed")
    args = parser.parse_args()
    device = torch.device(args.device)
    real = load_dataset("mnist", device=device)
    batch_real = 16 if args.quick else 256
    flops = forward_flops_per_image(real.info, device)
    strategy = default_strategy("mnist")

    def emit(name: str, seconds: float, forward_images: int | None = None, **extra) -> None:
        line = {"name": name, "seconds": round(seconds, 4), "device": str(device), "torch": torch.__version__,
                "peak_memory_mib": round(peak_memory_mib(device), 1), **extra}
        if forward_images:
            line["forward_gflop"] = round(forward_images * flops / 1e9, 2)
            line["forward_gflop_per_s"] = round(forward_images * flops / 1e9 / seconds, 1)
        print(json.dumps(line), flush=True)

    ipc = 10
    s = timed(lambda: condense_dm(real, ipc, iterations=1, batch_real=batch_real, progress=False), args.repeat, device)
    emit("dm_iteration", s, forward_images=10 * (batch_real + ipc), ipc=ipc, batch_real=batch_real)

    for name, dsa in (("dc_outer", None), ("dsa_outer", strategy)):
        s = timed(lambda: condense_gm(real, 1, iterations=1, batch_real=batch_real, init="real", dsa_strategy=dsa,
                                      progress=False), args.repeat, device)
        emit(name, s, ipc=1, batch_real=batch_real)

    syn = select_random(real, ipc)
    epochs = 2 if args.quick else 20

    def train_once():
        seed_everything(0)
        net = get_network("convnet", 1, 10, real.info.im_size).to(device)
        train_network(net, syn.images, syn.labels, epochs=epochs - 1, strategy=strategy, generator=make_generator(0))

    s = timed(train_once, args.repeat, device) / epochs
    emit("eval_network", s, ipc=ipc, per="epoch", protocol_300_epochs_s=round(300 * s, 1))


if __name__ == "__main__":
    main()
