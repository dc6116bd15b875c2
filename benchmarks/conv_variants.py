"""Time DC/DSA's two inner pieces under variants that might speed them up; one JSON line per figure.

    python benchmarks/conv_variants.py [--device cpu] [--repeat 3]

The pieces (MNIST-sized inputs, default ConvNet, the cpu profile's settings otherwise):
  gm_network_block  50 plain-SGD steps on a 10-ipc set (100 images, one batch), as between two
                    matches at 10 ipc; --micro lists the micro-batch sizes tried (100 = none)
  gm_real_gradient  the gradient of the mean loss of 256 real images of one class, the real side
                    of one match; --chunk lists the chunk sizes tried (256 = unchunked)
Variants: "compiled" (torch.compile, what the cpu profile runs), "eager", "channels_last"
(network and inputs in NHWC, compiled), and on CPU "native_conv" (oneDNN switched off, so
convolutions run as im2col + GEMM; eager, as inductor's graphs assume oneDNN's layouts).

GFLOP/s counts the forward and backward work that torch's FLOP counter sees. This script exists
to back the README's "what did not pay off" with figures; benchmarks/bench.py is the main one.
"""

from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from bench import path_peak_memory_mib, reset_peak_memory, timed
from dc_lib.core.models import get_network
from dc_lib.core.seeding import make_generator, seed_everything
from dc_lib.engines.compiled import maybe_compile
from dc_lib.engines.evaluation import train_epoch


def make_net(variant: str, device):
    seed_everything(0)
    net = get_network("convnet", 1, 10, (28, 28)).to(device)
    if variant == "channels_last":
        net = net.to(memory_format=torch.channels_last)
    return net, maybe_compile(net, variant in ("compiled", "channels_last"), device)


def layout(x: torch.Tensor, variant: str) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last) if variant == "channels_last" else x


def network_block(variant: str, micro: int, device):
    net, model = make_net(variant, device)
    x = layout(torch.randn(100, 1, 28, 28, device=device), variant)
    y = torch.arange(10, device=device).repeat_interleave(10)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    gen = make_generator(0)
    micro_batch = None if micro >= 100 else micro

    def run(steps: int = 50) -> None:
        for _ in range(steps):
            train_epoch(model, optimizer, x, y, batch_size=256, strategy=None, generator=gen, micro_batch=micro_batch)
    return net, run


def real_gradient(variant: str, chunk: int, device):
    net, model = make_net(variant, device)
    x = layout(torch.randn(256, 1, 28, 28, device=device), variant)
    y = torch.zeros(256, dtype=torch.long, device=device)
    params = list(net.parameters())

    def run() -> None:
        for s in range(0, 256, chunk):
            loss = F.cross_entropy(model(x[s:s + chunk]), y[s:s + chunk], reduction="sum") / 256
            torch.autograd.grad(loss, params)
    return net, run


def piece_flops(name: str, build, device) -> float:
    """Forward + backward FLOPs of one piece, counted on the eager network (the work of every variant)."""
    _, run = build("eager", 16 if name == "gm_network_block" else 32, device)
    with FlopCounterMode(display=False) as counter:
        run(1) if name == "gm_network_block" else run()
    return counter.get_total_flops() * (50 if name == "gm_network_block" else 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--micro", default="16,10,20,25,50,100", help="gm_network_block: micro-batch sizes")
    parser.add_argument("--chunk", default="32,8,16,64,256", help="gm_real_gradient: chunk sizes")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    variants = ["compiled", "eager", "channels_last"] + (["native_conv"] if device.type == "cpu" else [])
    micros = [int(m) for m in args.micro.split(",")]
    chunks = [int(c) for c in args.chunk.split(",")]
    jobs = [("gm_network_block", v, "micro_batch", m, network_block) for v in variants for m in
            (micros if v == "compiled" else micros[:1])]
    jobs += [("gm_real_gradient", v, "chunk", c, real_gradient) for v in variants for c in
             (chunks if v == "compiled" else chunks[:1])]
    work = {"gm_network_block": piece_flops("gm_network_block", network_block, device),
            "gm_real_gradient": piece_flops("gm_real_gradient", real_gradient, device)}
    for name, variant, knob, size, build in jobs:
        with torch.backends.mkldnn.flags(enabled=variant != "native_conv"):
            _, run = build(variant, size, device)
            run()  # warm-up: compiles every graph this piece needs
            reset_peak_memory(device)
            seconds = timed(run, args.repeat, device)
        print(json.dumps({"name": name, "variant": variant, knob: size, "seconds": round(seconds, 4),
                          "gflops": round(work[name] / seconds / 1e9, 1), "peak_mib": round(path_peak_memory_mib(device)),
                          "device": str(device), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
