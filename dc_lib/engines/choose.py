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
from .evaluation import check_evaluation_args, evaluate_set_loop
from .side_by_side import evaluate_set_side_by_side
from .stacked import evaluate_set_stacked, supports_stacking


def choose_path(arch: str, device: torch.device | str, num_nets: int, set_size: int, *, batch_size: int = 256,
                arch_overrides: dict | None = None) -> str:
    """The path ``evaluate_set(stacked=None)`` takes: ``"loop"``, ``"stacked"`` or ``"side_by_side"``.

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


def evaluate_set(images: torch.Tensor, labels: torch.Tensor, real: RealData, *, arch: str = "convnet",
                 num_nets: int, epochs: int, strategy: str | None, seed: int,
                 test_limit: int | None = None, progress: bool = True, arch_overrides: dict | None = None,
                 stacked: bool | None = None, compile: bool = False, **train_kw) -> list[float]:
    """Train ``num_nets`` fresh networks of ``arch`` on one small set; return their test accuracies (%).

    ``images (N, C, H, W)`` (normalised) and ``labels (N,)``: the set; ``real``: the data whose
    test split scores it. Network ``i`` is seeded with ``derive_seed(seed, "net", i)``
    (initialisation, shuffling and augmentation), so each accuracy is reproducible on its own.
    ``test_limit`` tests on the first N test images only (the smoke profile).
    ``arch_overrides``: ConvNet-family options of the evaluation networks (Appendix A.T2-T6).
    ``stacked``: True trains the networks all at once as one stacked model
    (:mod:`dc_lib.engines.stacked`), False one after another (the reference loop,
    :func:`dc_lib.engines.evaluation.evaluate_set_loop`), None takes the path :func:`choose_path`
    measured fastest for the device and set: the loop, the stacked model, or on CPU the
    networks side by side on the cores (:mod:`dc_lib.engines.side_by_side`). Every path gives
    the loop's accuracies up to float rounding; networks that cannot be stacked
    (BatchNorm, architectures not checked) always take the loop.
    ``compile``: the loop and side by side run each network through ``torch.compile``
    (:mod:`dc_lib.engines.compiled`); the stacked path ignores it.
    ``train_kw``: as :func:`dc_lib.engines.evaluation.train_network` (``lr``, ``batch_size``, ...).
    """
    check_evaluation_args(images, labels, real, num_nets=num_nets, epochs=epochs, **train_kw)
    if stacked is None:
        path = choose_path(arch, real.device, num_nets, images.shape[0],
                           batch_size=train_kw.get("batch_size", 256), arch_overrides=arch_overrides)
    elif isinstance(stacked, bool):
        path = "stacked" if stacked and supports_stacking(arch, arch_overrides) else "loop"
    else:
        raise ValueError(f"stacked must be True, False or None (automatic), got {stacked!r}")
    common = dict(arch=arch, num_nets=num_nets, epochs=epochs, strategy=strategy, seed=seed, test_limit=test_limit,
                  progress=progress, arch_overrides=arch_overrides, **train_kw)
    if path == "stacked":
        return evaluate_set_stacked(images, labels, real, **common)
    if path == "side_by_side":
        return evaluate_set_side_by_side(images, labels, real, compile=compile, **common)
    return evaluate_set_loop(images, labels, real, compile=compile, **common)


def evaluate_whole_dataset(real: RealData, *, arch: str = "convnet", num_nets: int, epochs: int,
                           seed: int, strategy: str | None = None, test_limit: int | None = None,
                           progress: bool = True, compile: bool = False) -> list[float]:
    """The upper bound: networks trained on the whole training set (same recipe), test accuracies (%)."""
    return evaluate_set(real.x_train, real.y_train, real, arch=arch, num_nets=num_nets, epochs=epochs,
                        strategy=strategy, seed=seed, test_limit=test_limit, progress=progress, compile=compile)
