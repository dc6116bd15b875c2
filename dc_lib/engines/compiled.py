"""``torch.compile`` for the hot network calls, off unless asked for, eager when it cannot work.

On CPU, inductor fuses each block's instance norm, activation and pooling into a few
C++ loops that read the activations once, where eager PyTorch makes a pass over memory
per operation; with this ConvNet the activations, not the convolutions' arithmetic,
are what a 2-core machine waits for. Measured on 2 cores (README.md, "Performance"):
DM's real-side embedding 1.4x, a training step on a 10-ipc set 1.3-1.5x, testing 1.2-1.7x.

What it costs: the first call of each new graph (a new architecture, batch size, or
train/eval mode) compiles for 5-10 s; later networks of the same architecture reuse
the graph (parameters are its inputs, not constants). Results equal the eager ones up
to float rounding, not bit for bit, so the ``smoke`` profile (whose notebook outputs
nbval compares) keeps it off. Second-order gradients (DC/DSA's synthetic side) cannot
go through a compiled graph and always run eagerly.

Off by default in the library functions (the plain path is the readable reference);
the ``cpu`` profile turns it on (``Profile.compile``). CUDA is not switched on by any
profile: it was not measured there.

``"reduce-overhead"`` (``Speed(compile="reduce-overhead")``) asks for torch's CUDA graphs on top:
each fixed-shape call replays a recorded graph instead of launching its kernels one by one, which
is what small networks on a large GPU wait for. A graph is recorded per shape and keeps its
parameters' addresses, so a caller must keep one network and write new weights into it
(DM does: ``distribution_matching.draw_network(..., into=net)``), and call :func:`step_begin`
once per iteration. On CPU there are no graphs and it is the default mode. Not measured on a GPU yet.
"""

from __future__ import annotations

import functools
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.speed import REDUCE_OVERHEAD, check_compile


RECOMPILE_LIMIT = 64


@functools.lru_cache(maxsize=None)
def compile_works(device_type: str) -> bool:
    """Whether ``torch.compile`` can build and run a small conv net's forward and backward here.

    Tried once per process and device type; a failure (no C++ compiler, no Triton on CUDA, an
    unsupported platform) warns once and the callers run eagerly.
    """
    try:
        net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.GroupNorm(2, 2), nn.ReLU(), nn.Flatten()).to(device_type)
        x = torch.randn(2, 1, 5, 5, device=device_type)
        F.mse_loss(torch.compile(net)(x), torch.zeros(2, 18, device=device_type)).backward()
        return True
    except Exception as err:  # noqa: BLE001 - any failure means: run eagerly
        warnings.warn(f"torch.compile does not work on {device_type} here ({type(err).__name__}: "
                      f"{str(err).splitlines()[0] if str(err) else ''}); running without it", stacklevel=2)
        return False


def graphs_on(enabled, device) -> bool:
    """Whether ``enabled`` asks for CUDA graphs and ``device`` can have them (CUDA, compiling works)."""
    device_type = torch.device(device).type
    return enabled == REDUCE_OVERHEAD and device_type == "cuda" and compile_works(device_type)


def step_begin(enabled, device) -> None:
    """Tell CUDA graphs a new iteration begins (the outputs of the last one may be overwritten);
    nothing unless :func:`graphs_on`."""
    if graphs_on(enabled, device):
        torch.compiler.cudagraph_mark_step_begin()


def maybe_compile(fn, enabled: bool | str, device) -> object:
    """``torch.compile(fn)`` if ``enabled`` and compiling works on ``device``, else ``fn`` itself.

    ``fn``: a module or a function of one tensor (e.g. ``net.embed``); compiled, it comes back as a
    function of that tensor that runs the original's parameters in the original's train/eval mode,
    so optimisers built on the original train it. ``enabled``: False, True (torch's default mode), or
    ``"reduce-overhead"`` (CUDA graphs on CUDA; the default mode elsewhere).
    """
    check_compile(enabled)
    if not enabled or not compile_works(torch.device(device).type):
        return fn
    # Each grad mode, thread count (side by side sets 1 per worker), train/eval mode and batch-size
    # range is a graph of its own; dynamo's default of 8 per function would fall back to eager.
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    compiled = torch.compile(fn, mode=REDUCE_OVERHEAD if graphs_on(enabled, device) else None)

    def call(x: torch.Tensor) -> torch.Tensor:
        # Augmented batches come with assorted strides (even on size-1 dimensions); each new
        # stride pattern would cost a recompilation, so hand the graph one layout only.
        return compiled(_standard_layout(x))

    return call


def _standard_layout(x: torch.Tensor) -> torch.Tensor:
    expected, step = [], 1
    for size in reversed(x.shape):
        expected.append(step)
        step *= size
    return x if x.stride() == tuple(reversed(expected)) else x.clone(memory_format=torch.contiguous_format)
