"""Which engine evaluates a set: the reference loop or a fast path (the library's ``evaluate_set``).

The evaluation protocol itself is :func:`dc_lib.engines.evaluation.evaluate_set_loop`, the plain
loop one reads against the thesis (sections 3.3.1, 4.4.1, 5.3.1). Two fast paths give its
accuracies up to float rounding: :mod:`dc_lib.engines.stacked` (all networks as one stacked
model, on CUDA) and :mod:`dc_lib.engines.side_by_side` (networks side by side on the CPU
cores). This module only chooses between them, so the loop and its fast paths never import
each other: they import the loop, this module imports all three.
"""

from __future__ import annotations

import torch

from ..core.data import RealData
from ..core.speed import Speed
from .evaluation import EvalConfig, check_evaluation_args, evaluate_set_loop
from .side_by_side import evaluate_set_side_by_side
from .stacked import evaluate_set_stacked, supports_stacking


def choose_path(arch: str, device: torch.device | str, num_nets: int, set_size: int, *, batch_size: int = 256,
                arch_overrides: dict | None = None) -> str:
    """The path ``evaluate_set`` takes with ``Speed(engine="auto")``: ``"loop"``, ``"stacked"`` or ``"side_by_side"``.

    Only where a fast path was measured to pay (README.md, "Performance"): sets that fit
    one batch (``set_size <= batch_size``, the synthetic and coreset sets), at least 2
    networks, an architecture of :func:`~dc_lib.engines.stacked.supports_stacking`. Everything
    else (one network, whole-dataset training, BatchNorm) takes the plain loop.

    * CPU: ``"side_by_side"`` (:mod:`dc_lib.engines.side_by_side`). Stacking is slower there:
      one network's step is already compute-bound, the batched convolution is no faster
      than separate ones, and ``num_nets`` times larger activations fall out of cache.
    * CUDA: ``"stacked"``, where one network's small-batch step leaves the GPU mostly idle.
    """
    if not supports_stacking(arch, arch_overrides) or num_nets < 2 or set_size > batch_size:
        return "loop"
    return "stacked" if torch.device(device).type == "cuda" else "side_by_side"


def evaluate_set(images: torch.Tensor, labels: torch.Tensor, real: RealData, config: EvalConfig, *, seed: int,
                 progress: bool = True, speed: Speed = Speed()) -> list[float]:
    """Train ``config.num_nets`` fresh networks on one small set; return their test accuracies (%).

    ``images (N, C, H, W)`` (normalised) and ``labels (N,)``: the set; ``real``: the data whose
    test split scores it; ``config``: the protocol (epochs, lr schedule, batch, augmentation,
    networks: :class:`~dc_lib.engines.evaluation.EvalConfig`). Network ``i`` is seeded with
    ``derive_seed(seed, "net", i)`` (initialisation, shuffling and augmentation), so each
    accuracy is reproducible on its own.
    ``speed`` (:class:`~dc_lib.core.speed.Speed`, nothing in it changes the numbers beyond float
    rounding): ``engine`` ``loop`` trains the networks one after another (the reference,
    :func:`dc_lib.engines.evaluation.evaluate_set_loop`), ``stacked`` all at once as one stacked
    model (:mod:`dc_lib.engines.stacked`), ``side_by_side`` on the CPU cores
    (:mod:`dc_lib.engines.side_by_side`), ``auto`` the path :func:`choose_path` measured fastest
    for the device and set. Networks that cannot be stacked (BatchNorm, architectures not
    checked) always take the loop. ``compile``: the loop and side by side run each network
    through ``torch.compile`` (:mod:`dc_lib.engines.compiled`; ``"reduce-overhead"`` as True: CUDA
    graphs are DM's alone); the stacked path ignores it.
    """
    check_evaluation_args(images, labels, real, config)
    arch, overrides = config.arch, config.arch_overrides
    if speed.engine == "auto":
        path = choose_path(arch, real.device, config.num_nets, images.shape[0], batch_size=config.batch_size,
                           arch_overrides=overrides)
    elif speed.engine in ("stacked", "side_by_side"):
        path = speed.engine if supports_stacking(arch, overrides) else "loop"
    else:
        path = "loop"
    if path == "stacked":
        return evaluate_set_stacked(images, labels, real, config, seed=seed, progress=progress)
    if path == "side_by_side":
        return evaluate_set_side_by_side(images, labels, real, config, seed=seed, progress=progress,
                                         compile=bool(speed.compile))
    return evaluate_set_loop(images, labels, real, config, seed=seed, progress=progress, compile=bool(speed.compile))


def evaluate_whole_dataset(real: RealData, config: EvalConfig, *, seed: int, progress: bool = True,
                           speed: Speed = Speed()) -> list[float]:
    """The upper bound: networks trained on the whole training set (same recipe), test accuracies (%)."""
    return evaluate_set(real.x_train, real.y_train, real, config, seed=seed, progress=progress, speed=speed)
