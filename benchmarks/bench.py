"""Time the hot paths of dc_lib and print one JSON line per figure.

    DC_DATA_ROOT=../shared/data python benchmarks/bench.py [--device cpu|cuda] [--repeat 3] [--quick]

Figures (MNIST, default ConvNet, the thesis's hyperparameters unless --quick):
  dm_iteration   one DM iteration, ipc 10, 256 real images per class, DSA (real side unchunked: the reference)
  dm_iteration_chunked  the same with the real side embedded in chunks of --dm-chunk images (+ speedup)
  dm_sets_batched  --dm-sets DM sets (one per seed) in one batched pass (dc_lib.methods.dm_sets): per set
                 and iteration, against the same sets run one after another with the same real side
                 (CPU: chunks of --dm-chunk; CUDA: all classes together) (+ speedup)
  dm_iteration_graphs  (CUDA) a DM iteration with CUDA graphs (compile="reduce-overhead") against compile
                 alone, steady state: (time of 40 iterations - time of 10) / 30 (+ speedup)
  dm_iteration_compiled the chunked iteration with the network run through torch.compile
                 (dc_lib.engines.compiled; its one-off compilation is timed apart as warmup_s) (+ speedup)
  dc_outer       one DC outer iteration at --gm-ipcs (1: 10 per-class matches, second-order backward;
                 10: 10 such rounds with 50 network epochs between them, scaled from 1 and 2 rounds),
                 the plain path ("path": "reference"), the fast one ("fast": real side in chunks,
                 network updates in micro-batches on CPU) and the fast one through torch.compile
                 ("fast_compiled"), then a dc_outer_speedup line per fast path
  dsa_outer      the same with Siamese augmentation
  eval_network   training one ConvNet on a 10-ipc set with DSA (per epoch; x300 for the protocol)
  eval_nets      evaluating one set the protocol's way: --nets fresh ConvNets (default 3 and 20) trained
                 on a 1- and a 10-ipc random set with DSA for 300 epochs, then tested on the 10000 test
                 images; once one network after another ("path": "reference", evaluate_set's loop),
                 once stacked ("path": "stacked", dc_lib.engines.stacked) and, on CPU, once side by side
                 ("path": "side_by_side", dc_lib.engines.side_by_side) and side by side through torch.compile
                 ("side_by_side_compiled"), then an eval_nets_speedup line per fast
                 path (reference seconds / its seconds). Only --eval-passes training passes and
                 --eval-test test images are timed, and scaled to 301 passes and 10000 images (the
                 line says so); peak memory is that path's own (CUDA: max allocated; CPU: peak RSS).

Each line: name, seconds (min over --repeat), GFLOP/s of forward work where it is defined,
peak memory (CUDA: max allocated; CPU: the process's peak RSS so far), device, torch version.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from dc_lib.core.augment import default_strategy
from dc_lib.core.data import load_dataset
from dc_lib.core.models import get_network
from dc_lib.core.seeding import derive_seed, make_generator, seed_everything
from dc_lib.engines.compiled import compile_works
from dc_lib.engines.evaluation import test_accuracy, train_network
from dc_lib.engines.side_by_side import accuracies_side_by_side, train_side_by_side
from dc_lib.engines.stacked import StackedNetworks, test_accuracies, train_stacked
from dc_lib.methods.baselines import select_random
from dc_lib.core.speed import Speed
from dc_lib.methods.distribution_matching import DMConfig, condense_dm
from dc_lib.methods.dm_sets import condense_dm_sets
from dc_lib.methods.gradient_matching import GMConfig, condense_gm, loop_schedule


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


def _proc_status_mib(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_memory(device) -> float | None:
    """Restart the peak-memory count; returns the memory in use now (MiB), or None if it cannot restart."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device) / 2**20
    try:  # Linux: writing 5 resets the process's peak RSS (VmHWM) to its current RSS
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    return _proc_status_mib("VmRSS")


def path_peak_memory_mib(device) -> float:
    """Peak memory since reset_peak_memory: CUDA max allocated, or CPU peak RSS (VmHWM)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    peak = _proc_status_mib("VmHWM")
    return peak if peak is not None else peak_memory_mib(device)


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
    parser.add_argument("--nets", default="3,20", help="eval_nets: numbers of networks, comma-separated")
    parser.add_argument("--eval-passes", type=int, default=5, help="eval_nets: training passes timed (of 301)")
    parser.add_argument("--eval-test", type=int, default=1000, help="eval_nets: test images timed (of 10000)")
    parser.add_argument("--eval-repeat", type=int, default=1, help="eval_nets: timings per path (min is kept)")
    parser.add_argument("--dm-chunk", type=int, default=32, help="dm_iteration_chunked: real images per forward")
    parser.add_argument("--dm-sets", type=int, default=5, help="dm_sets_batched: sets in one pass (a cell's 5)")
    parser.add_argument("--only-dm-sets", action="store_true", help="print only the dm_sets_batched line")
    parser.add_argument("--only-dm", action="store_true", help="print only the DM lines (dm_*)")
    parser.add_argument("--gm-ipcs", default="1,10", help="dc_outer/dsa_outer: ipcs, comma-separated")
    parser.add_argument("--no-eval", action="store_true", help="skip the eval_nets lines")
    parser.add_argument("--only-eval", action="store_true", help="print only the eval_nets lines")
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

    if args.only_eval:
        bench_eval_nets(args, real, strategy, device, emit)
        return

    ipc = 10
    one = DMConfig(iterations=1, batch_real=batch_real)
    if args.only_dm_sets:
        bench_dm_sets(args, real, ipc, one, device, emit)
        return
    s = timed(lambda: condense_dm(real, ipc, one, speed=Speed(real_chunk=None), progress=False), args.repeat, device)
    emit("dm_iteration", s, forward_images=10 * (batch_real + ipc), ipc=ipc, batch_real=batch_real)
    chunk = 4 if args.quick else args.dm_chunk
    s_chunked = timed(lambda: condense_dm(real, ipc, one, speed=Speed(real_chunk=chunk), progress=False),
                      args.repeat, device)
    emit("dm_iteration_chunked", s_chunked, forward_images=10 * (batch_real + ipc), ipc=ipc, batch_real=batch_real,
         real_chunk=chunk, speedup=round(s / s_chunked, 2))
    # All classes' real batches in shared forwards (the GPU default under real_chunk="auto").
    s_all = timed(lambda: condense_dm(real, ipc, one, speed=Speed(real_chunk="all"), progress=False), args.repeat,
                  device)
    emit("dm_iteration_all_classes", s_all, forward_images=10 * (batch_real + ipc), ipc=ipc, batch_real=batch_real,
         real_chunk="all", speedup=round(s / s_all, 2))
    bench_dm_sets(args, real, ipc, one, device, emit)
    compiled = Speed(real_chunk=chunk, compile=True)
    warmup = timed(lambda: condense_dm(real, ipc, one, speed=compiled, progress=False), 1, device)
    s_compiled = timed(lambda: condense_dm(real, ipc, one, speed=compiled, progress=False), args.repeat, device)
    emit("dm_iteration_compiled", s_compiled, forward_images=10 * (batch_real + ipc), ipc=ipc,
         batch_real=batch_real, real_chunk=chunk, compiled=compile_works(device.type), warmup_s=round(warmup, 1),
         speedup=round(s / s_compiled, 2))
    if device.type == "cuda":
        bench_dm_graphs(args, real, ipc, batch_real, device, emit)
    if args.only_dm:
        return

    for ipc_gm in (int(i) for i in args.gm_ipcs.split(",")):
        for name, dsa in (("dc_outer", None), ("dsa_outer", strategy)):
            bench_gm_outer(args, real, ipc_gm, name, dsa, batch_real, device, emit)

    syn = select_random(real, ipc)
    epochs = 2 if args.quick else 20

    def train_once():
        seed_everything(0)
        net = get_network("convnet", 1, 10, real.info.im_size).to(device)
        train_network(net, syn.images, syn.labels, epochs=epochs - 1, strategy=strategy, generator=make_generator(0))

    s = timed(train_once, args.repeat, device) / epochs
    emit("eval_network", s, ipc=ipc, per="epoch", protocol_300_epochs_s=round(300 * s, 1))

    if not args.no_eval:
        bench_eval_nets(args, real, strategy, device, emit)


def bench_dm_graphs(args, real, ipc: int, batch_real: int, device, emit) -> None:
    """dm_iteration_graphs (CUDA): a DM iteration in steady state, all classes together, compiled with CUDA
    graphs (``compile="reduce-overhead"``) and without, as the difference of a long and a short run (the
    graphs' recording falls in both and cancels; a first, untimed run compiles)."""
    short, long = (3, 6) if args.quick else (10, 40)
    per_iteration = {}
    for mode in (True, "reduce-overhead"):
        speed = Speed(real_chunk="all", compile=mode)
        condense_dm(real, ipc, DMConfig(iterations=short, batch_real=batch_real), speed=speed, progress=False)  # compiles
        runs = {k: timed(lambda: condense_dm(real, ipc, DMConfig(iterations=k, batch_real=batch_real), speed=speed,
                                             progress=False), args.repeat, device) for k in (short, long)}
        per_iteration[mode] = (runs[long] - runs[short]) / (long - short)
    emit("dm_iteration_graphs", per_iteration["reduce-overhead"], forward_images=10 * (batch_real + ipc), ipc=ipc,
         batch_real=batch_real, real_chunk="all", compiled_s=round(per_iteration[True], 4),
         speedup=round(per_iteration[True] / per_iteration["reduce-overhead"], 2))


def bench_dm_sets(args, real, ipc: int, one: DMConfig, device, emit) -> None:
    """dm_sets_batched: --dm-sets DM iterations (one per set) in one batched pass, per set, against the same
    sets' iterations one after another (``condense_dm``), both with the device's real side."""
    sets = 2 if args.quick else args.dm_sets
    speed = Speed(real_chunk=(4 if args.quick else args.dm_chunk) if device.type == "cpu" else "all")
    s_alone = timed(lambda: [condense_dm(real, ipc, one, seed=s, speed=speed, progress=False) for s in range(sets)],
                    args.repeat, device) / sets
    s_sets = timed(lambda: condense_dm_sets(real, ipc, one, seeds=list(range(sets)), speed=speed, progress=False),
                   args.repeat, device) / sets
    emit("dm_sets_batched", s_sets, forward_images=10 * (one.batch_real + ipc), ipc=ipc, batch_real=one.batch_real,
         sets=sets, per="set and iteration", real_chunk=speed.real_chunk, alone_s=round(s_alone, 4),
         speedup=round(s_alone / s_sets, 2))


def bench_gm_outer(args, real, ipc: int, name: str, dsa: str | None, batch_real: int, device, emit) -> None:
    """dc_outer / dsa_outer lines: one outer iteration, plain path ("reference": real side in one
    batch, whole-batch network updates) and fast path ("fast": ``condense_gm``'s automatic
    ``real_chunk`` / ``micro_batch``), then their ratio.

    At 1 ipc an outer iteration is timed whole. Above, it is T matches with varsigma_theta network
    epochs after each but the last (10 ipc: T = 10, 50 epochs): one match ``m`` and one block of
    network epochs ``e`` are timed (loops (1, e) and (2, e)) and combined as ``T m + (T - 1) e``.
    """
    outer, inner = loop_schedule(ipc)
    repeat = args.repeat if outer == 1 else 1
    if args.quick:
        inner = min(inner, 2)
    times = {}
    paths = [("reference", dict(real_chunk=None, micro_batch=None)), ("fast", {}), ("fast_compiled", dict(compile=True))]
    if device.type == "cuda":  # condense_gm's automatic choice on CUDA is the plain path: "fast" would time it twice
        paths = [paths[0], ("reference_compiled", dict(real_chunk=None, micro_batch=None, compile=True))]
    for path, kw in paths:
        def run(loops):
            config = GMConfig(iterations=1, batch_real=batch_real, init="real", dsa_strategy=dsa, loops=loops)
            return condense_gm(real, ipc, config, progress=False, speed=Speed(**kw))
        if kw.get("compile"):
            run((2, inner))  # compile every graph first (5-10 s each): what is timed is the steady state
        if outer == 1:
            seconds, scaled = timed(lambda: run((1, inner)), repeat, device), None
        else:
            one = timed(lambda: run((1, inner)), repeat, device)
            two = timed(lambda: run((2, inner)), repeat, device)
            seconds = outer * one + (outer - 1) * (two - 2 * one)
            scaled = f"T={outer} matches ({one:.2f} s each) + {outer - 1} x {inner} network epochs " \
                     f"({two - 2 * one:.2f} s each block)"
        times[path] = seconds
        extra = {"scaled_from": scaled} if scaled else {}
        emit(name, seconds, path=path, ipc=ipc, batch_real=batch_real, **extra)
    for path in list(times)[1:]:
        emit(name + "_speedup", times[path], path=path, ipc=ipc, reference_s=round(times["reference"], 2),
             fast_s=round(times[path], 2), speedup=round(times["reference"] / times[path], 2))


def bench_eval_nets(args, real, strategy: str, device, emit) -> None:
    """eval_nets lines: the reference loop and the fast paths on the same sets, then their ratios."""
    passes = 2 if args.quick else args.eval_passes
    n_test = min(64 if args.quick else args.eval_test, real.x_test.shape[0])
    full_passes, full_test = 301, real.x_test.shape[0]  # the protocol: epochs + 1 passes, the whole test split
    x_test, y_test = real.x_test[:n_test], real.y_test[:n_test]
    for ipc in (1, 10):
        syn = select_random(real, ipc)
        for num_nets in (int(n) for n in args.nets.split(",")):
            seeds = [derive_seed(0, "net", i) for i in range(num_nets)]

            def build():
                nets = []
                for s in seeds:
                    seed_everything(s)
                    nets.append(get_network("convnet", 1, 10, real.info.im_size).to(device))
                return nets

            def reference():
                nets = build()
                for net, s in zip(nets, seeds):
                    train_network(net, syn.images, syn.labels, epochs=passes - 1, strategy=strategy,
                                  generator=make_generator(s))
                return nets

            def stacked():
                stack = StackedNetworks(build())
                return train_stacked(stack, syn.images, syn.labels, epochs=passes - 1, strategy=strategy,
                                     generators=[make_generator(s) for s in seeds])

            def side_by_side(compile=False):
                return train_side_by_side(build(), syn.images, syn.labels, epochs=passes - 1, strategy=strategy,
                                          generators=[make_generator(s) for s in seeds],
                                          micro_batch=16 if device.type == "cpu" else None, compile=compile)

            paths = [("reference", reference, lambda nets: [test_accuracy(n, x_test, y_test) for n in nets]),
                     ("stacked", stacked, lambda stack: test_accuracies(stack, x_test, y_test))]
            paths.append(("side_by_side", side_by_side, lambda nets: accuracies_side_by_side(
                nets, x_test, y_test, batch_size=32 if device.type == "cpu" else 1024)))
            if device.type == "cpu":
                paths.append(("side_by_side_compiled", lambda: side_by_side(compile=True),
                              lambda nets: accuracies_side_by_side(nets, x_test, y_test, batch_size=32, compile=True)))
            seconds = {}
            for path, train, test in paths:
                if path.endswith("_compiled"):  # compile every graph first: what is timed is the steady state
                    test(train())
                start_mib = reset_peak_memory(device)
                result = {}
                t_train = timed(lambda: result.__setitem__("m", train()), args.eval_repeat, device)
                t_test = timed(lambda: test(result["m"]), args.eval_repeat, device)
                total = t_train * full_passes / passes + t_test * full_test / n_test
                seconds[path] = total
                emit("eval_nets", total, path=path, ipc=ipc, nets=num_nets, strategy=strategy, epochs=300,
                     train_s=round(t_train * full_passes / passes, 1), test_s=round(t_test * full_test / n_test, 1),
                     scaled_from=f"{passes} of {full_passes} passes (train {t_train:.2f} s), "
                                 f"{n_test} of {full_test} test images (test {t_test:.2f} s)",
                     peak_memory_is="this path's" if start_mib is not None else "the process's so far",
                     peak_memory_mib_path=round(path_peak_memory_mib(device), 1),
                     peak_memory_mib_above_start=(None if start_mib is None
                                                  else round(path_peak_memory_mib(device) - start_mib, 1)))
            for path, _, _ in paths[1:]:
                emit("eval_nets_speedup", seconds[path], path=path, ipc=ipc, nets=num_nets,
                     reference_s=round(seconds["reference"], 1), fast_s=round(seconds[path], 1),
                     speedup=round(seconds["reference"] / seconds[path], 2))

if __name__ == "__main__":
    main()
