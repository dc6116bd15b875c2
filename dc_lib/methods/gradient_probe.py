"""Looking inside the bi-level loop of DC/DSA: gradient magnitudes of the in-loop network (Figure 4.5).

The thesis's Figure 4.5 compares the magnitudes of the gradients that real and synthetic batches
give at outer iteration k of Algorithm 2, i.e. on the network theta that, started fresh at k,
has been trained on S between matches (varsigma_theta epochs per round). A fresh network would
not show what the figure is about: on it real and synthetic batches give alike gradients by
construction, whereas after its epochs on S an un-augmented S is fitted and its gradients shrink.

* :class:`MagnitudeCapture` is a ``condense_gm`` ``on_match`` hook that records
  :func:`~dc_lib.methods.gradient_matching.gradient_magnitudes` at one (k, t) of the loop.
* :func:`replay_outer_iteration` runs outer iteration K + 1 from a saved set S_K (K = the set's
  iterations), so a set that is already made can be watched without condensing it again.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from ..core.checkpoint import save_checkpoint
from ..core.data import RealData
from ..core.seeding import make_generator
from ..core.speed import Speed
from ..core.synset import SyntheticSet
from .gradient_matching import GMConfig, condense_gm, gradient_magnitudes, loop_schedule
from .watch import Watch


def last_round(config: GMConfig, ipc: int) -> tuple[int, int]:
    """(t, epochs): the last match of an outer iteration, t = T - 1, and the epochs on S the
    network has had before it, t * varsigma_theta (the most it gets; 0 at 1 ipc, where T = 1)."""
    outer, inner = config.loops or loop_schedule(ipc)
    return outer - 1, (outer - 1) * inner


@dataclass
class MagnitudeCapture:
    """An ``on_match`` hook of ``condense_gm`` that records gradient magnitudes at one point of the loop.

    Just before match ``round`` (t) of outer iteration ``iteration`` (k) it runs
    :func:`~dc_lib.methods.gradient_matching.gradient_magnitudes` on the network as it stands
    there, with ``batch_real`` real images per class and ``strategy`` (None for DC; DSA's Siamese
    augmentation otherwise), drawing from its own ``generator`` so that the run it watches is
    unchanged. ``magnitudes`` is then ``{"real": (M,), "synthetic": (M,)}`` (None before).
    """

    real: RealData
    ipc: int
    iteration: int
    round: int
    batch_real: int
    strategy: str | None
    generator: torch.Generator
    magnitudes: dict[str, torch.Tensor] | None = field(default=None, init=False)

    def __call__(self, k: int, t: int, net: nn.Module, images: torch.Tensor) -> None:
        if (k, t) == (self.iteration, self.round):
            self.magnitudes = gradient_magnitudes(net, self.real, images, self.ipc, batch_real=self.batch_real,
                                                  strategy=self.strategy, generator=self.generator)


def replay_outer_iteration(real: RealData, syn: SyntheticSet, config: GMConfig, *, seed: int, on_match,
                           speed: Speed = Speed(), progress: bool = False) -> int:
    """Run outer iteration K + 1 of Algorithm 1/2 (``config``'s) from the saved set S_K, for ``on_match``.

    The replay is ``condense_gm`` itself, resumed at K from ``syn.images``: a fresh network,
    T matches each updating S, varsigma_theta epochs on S between them, ``on_match`` called
    before every match (k = K + 1). What it cannot restore is S's momentum buffer (not saved
    with a set; the replay starts without one) and the run's random stream (``seed`` gives a
    new one). The updated S is discarded: the saved set is not changed.

    Args:
        real: the real data (its device is the compute device).
        syn: a set made by ``condense_gm`` with ``config``; ``syn.iteration`` is K.
        config: the set's hyperparameters (its K is replaced by K + 1).
        seed: the replay's random stream (its fresh network and batches).
        on_match, speed, progress: as in ``condense_gm``.

    Returns:
        K + 1, the outer iteration replayed.
    """
    if syn.method != config.method:
        raise ValueError(f"the set is a {syn.method!r} set; the config condenses {config.method!r} sets")
    k = int(syn.iteration)
    config = replace(config, iterations=k + 1)
    images = syn.images.detach().to(real.device).clone().requires_grad_(True)
    optimizer = torch.optim.SGD([images], lr=config.lr_img, momentum=config.momentum)
    with tempfile.TemporaryDirectory() as tmp:
        # condense_gm's own resume path starts it at K from these images (a checkpoint of S_K).
        start = Path(tmp) / "start.ckpt"
        save_checkpoint(start, config.record(real, syn.ipc, seed), images, optimizer, make_generator(seed), k)
        condense_gm(real, syn.ipc, config, seed=seed, checkpoint=start, progress=progress, speed=speed,
                    watch=Watch(on_match=on_match))
    return k + 1
