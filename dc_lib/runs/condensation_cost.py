"""What condensing costs, DC against DD (Table A.T11): time per outer iteration and backprop memory.

The thesis times whole runs on one GTX 1080-Ti (DC 46 vs DD 160 min on MNIST/LeNet). A reduced
profile cannot run either protocol to the end, so it times a few outer iterations of each method
(every one starts from a fresh network, so they cost alike) and scales to each protocol's K. Memory
is the peak of what autograd holds for backward (:class:`~dc_lib.core.footprint.Footprint`), the
part that separates the two methods on any device; on CUDA the allocator's peak is kept too.
"""

from __future__ import annotations

from dataclasses import replace

from ..core.data import RealData
from ..core.footprint import Footprint
from ..methods.dataset_distillation import DDConfig, condense_dd
from ..methods.gradient_matching import GMConfig, condense_gm

MB = 2 ** 20


def condensation_cost(real: RealData, ipc: int, config: GMConfig | DDConfig, *, iterations: int,
                      seed: int = 0) -> dict[str, float]:
    """Run ``iterations`` outer iterations of DC (a :class:`GMConfig`) or DD (a :class:`DDConfig`) at
    ``ipc`` and return ``seconds_per_iteration`` (wall time, s), ``peak_saved_mb`` (MiB held for
    backward at the peak) and ``cuda_peak_mb`` (MiB, NaN off CUDA)."""
    condense = condense_dd if isinstance(config, DDConfig) else condense_gm
    with Footprint(real.device) as cost:
        condense(real, ipc, replace(config, iterations=iterations), seed=seed, progress=False)
    cuda = float("nan") if cost.cuda_peak_bytes is None else cost.cuda_peak_bytes / MB
    return {"seconds_per_iteration": cost.seconds / iterations, "peak_saved_mb": cost.peak_saved_bytes / MB,
            "cuda_peak_mb": cuda}


def protocol_minutes(seconds_per_iteration: float, protocol_iterations: int) -> float:
    """Minutes a whole run of ``protocol_iterations`` outer iterations takes at the measured rate."""
    return seconds_per_iteration * protocol_iterations / 60.0
