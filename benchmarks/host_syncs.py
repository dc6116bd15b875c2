"""DM iterations on CUDA with the draws copied blocking (``tensor.to``) against non-blocking from pinned memory.

    DC_DATA_ROOT=../shared/data python benchmarks/host_syncs.py [--iterations 200] [--ipc 10] [--batch-real 256]

Prints one JSON line per path: seconds per DM iteration (MNIST, ConvNet, DSA; the thesis's settings by
default) and the host syncs per iteration that torch's sync debug mode reports, then a speedup line
(blocking seconds / non-blocking seconds). Both paths copy the same CPU draws, so their sets are equal
(checked; the line says so). Needs CUDA: on a machine without it, it prints one line saying so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from unittest import mock

import torch

from dc_lib.core import transfer
from dc_lib.core.data import load_dataset
from dc_lib.methods.distribution_matching import DMConfig, condense_dm


def blocking_to_device(t, device):
    return t.to(device)


def blocking_module_to_device(net, device):
    return net.to(device)


def run(real, args) -> tuple[float, float, torch.Tensor]:
    """Seconds per iteration (synchronised at the end only), syncs per iteration, the set."""
    config = DMConfig(iterations=args.iterations, batch_real=args.batch_real)
    condense_dm(real, args.ipc, DMConfig(iterations=3, batch_real=args.batch_real), progress=False)  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    syn = condense_dm(real, args.ipc, config, progress=False)
    torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / args.iterations
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            condense_dm(real, args.ipc, DMConfig(iterations=20, batch_real=args.batch_real), progress=False)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return seconds, len(caught) / 20, syn.images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--ipc", type=int, default=10)
    parser.add_argument("--batch-real", type=int, default=256)
    parser.add_argument("--dataset", default="mnist")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"name": "dm_host_syncs", "skipped": "needs a CUDA GPU"}))
        return
    real = load_dataset(args.dataset).to("cuda")
    common = {"dataset": args.dataset, "ipc": args.ipc, "batch_real": args.batch_real,
              "device": torch.cuda.get_device_name(), "torch": torch.__version__}
    with mock.patch.object(transfer, "to_device", blocking_to_device), \
         mock.patch("dc_lib.core.data.to_device", blocking_to_device), \
         mock.patch("dc_lib.core.augment.to_device", blocking_to_device), \
         mock.patch("dc_lib.methods.distribution_matching.module_to_device", blocking_module_to_device):
        blocking, blocking_syncs, blocking_set = run(real, args)
    fast, fast_syncs, fast_set = run(real, args)
    for path, seconds, syncs in (("blocking", blocking, blocking_syncs), ("non_blocking", fast, fast_syncs)):
        print(json.dumps({"name": "dm_iteration", "path": path, "seconds": round(seconds, 5),
                          "syncs_per_iteration": syncs, **common}), flush=True)
    print(json.dumps({"name": "dm_iteration_speedup", "speedup": round(blocking / fast, 3),
                      "same_set": bool(torch.equal(blocking_set, fast_set)), **common}), flush=True)


if __name__ == "__main__":
    main()
