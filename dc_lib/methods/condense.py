"""Every way of making a small set, by name: ``condense(real, "dm", ipc, run)``.

One entry point over the methods (DM, DC, DSA) and the selection baselines (random, herding,
k-center, forgetting) for the command line and the own-data notebook. The thesis's experiments
call the methods directly, with their chapter's settings (:mod:`dc_lib.runs.experiments`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ..core.augment import default_strategy
from ..core.checkpoint import Checkpointing
from ..core.config import SmallRun
from ..core.data import RealData
from ..core.synset import SetFileError, SyntheticSet
from . import baselines
from .baselines import select_random
from .distribution_matching import DMConfig, condense_dm
from .gradient_matching import GMConfig, condense_gm

METHODS = ("dm", "dc", "dsa", "random", "herding", "kcenter", "forgetting")


def condense(real: RealData, method: str, ipc: int, run: SmallRun, *, iterations: int | None = None,
             arch: str = "convnet", strategy: str | None = "auto", seed: int = 0,
             checkpoint_path: str | os.PathLike | None = None, progress: bool = True) -> SyntheticSet:
    """A set of ``ipc`` images per class of ``real`` made by ``method`` with the budget ``run``.

    ``iterations``: K for DM (default ``run.iterations``) and DC/DSA (``run.gm_iterations``); for
    herding, k-center and forgetting the epochs of their feature network (``run.feature_epochs``).
    ``strategy``: the DSA augmentation of DM and DSA (``auto``: the thesis's for the dataset; a
    dataset of your own gets flips unless you pass e.g. ``color_crop_cutout_scale_rotate``).
    ``checkpoint_path``: DM/DC/DSA resume from it when rerun, and keep it (the caller deletes it once
    the set is saved); herding/k-center/forgetting cache their feature network there.
    Returns the set with ``class_names`` of ``real``; images ``(num_classes * ipc, C, H, W)``, normalised.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    if strategy == "auto":
        strategy = default_strategy(real.info.name)
    ckpt = Path(checkpoint_path) if checkpoint_path is not None else None
    if method == "dm":
        k = run.iterations if iterations is None else iterations
        config = DMConfig(iterations=k, batch_real=run.batch_real, strategy=strategy, arch=arch)
        every = max(1, min(run.checkpoint_every, k // 10))
        syn = condense_dm(real, ipc, config, seed=seed, progress=progress,
                          checkpoint=Checkpointing(ckpt, every, keep=True) if ckpt else None)
    elif method in ("dc", "dsa"):
        k = run.gm_iterations if iterations is None else iterations
        # DC starts from noise, DSA from real images (the thesis's and authors' defaults).
        config = GMConfig(iterations=k, batch_real=run.batch_real, arch=arch, init="real" if method == "dsa" else "noise",
                          dsa_strategy=strategy if method == "dsa" else None)
        every = max(1, min(10, k // 10))
        syn = condense_gm(real, ipc, config, seed=seed, progress=progress,
                          checkpoint=Checkpointing(ckpt, every, keep=True) if ckpt else None)
    elif method == "random":
        syn = select_random(real, ipc, seed=seed)
    else:
        net, counts = baselines.feature_network(real, epochs=iterations or run.feature_epochs, seed=seed,
                                                arch=arch, cache=ckpt, progress=progress)
        if method == "herding":
            syn = baselines.select_herding(real, ipc, net, seed=seed)
        elif method == "kcenter":
            syn = baselines.select_k_center(real, ipc, net, seed=seed)
        else:
            syn = baselines.select_forgetting(real, ipc, counts, seed)
    syn.class_names = real.info.class_names()
    return syn


def condense_to(path: str | os.PathLike, real: RealData, method: str, ipc: int, run: SmallRun, *,
                iterations: int | None = None, seed: int = 0, reuse: bool = True, extra_config: dict | None = None,
                **kw) -> SyntheticSet:
    """:func:`condense`, saved at ``path`` (``.pt``) with its PNG grid beside it; nothing is lost
    when interrupted: a rerun resumes from ``path``'s ``.ckpt``, which is deleted only once the set is
    saved. ``reuse``: a finished set already at ``path`` for the same data, ipc, method, seed and K is
    loaded instead of made again (a foreign or unreadable file is made again, with a warning).
    ``extra_config`` is merged into the saved config (e.g. the command line). ``kw``: as :func:`condense`.
    """
    path = Path(path)
    k = iterations if iterations is not None else {"dm": run.iterations, "dc": run.gm_iterations,
                                                   "dsa": run.gm_iterations}.get(method, 0)
    if reuse and path.is_file():
        try:
            old = SyntheticSet.load(path, device=real.device)
            old.check_matches(real, ipc=ipc, method=method, where=str(path))
            if old.seed == seed and (method not in ("dm", "dc", "dsa") or old.iteration == k):
                return old
        except SetFileError as err:
            warnings.warn(f"{err}; making the set again")
    ckpt = path.with_suffix(".ckpt")
    syn = condense(real, method, ipc, run, iterations=iterations, seed=seed, checkpoint_path=ckpt, **kw)
    if extra_config:
        syn.config = {**syn.config, **extra_config}
    syn.save(path)
    syn.save_png(path.with_suffix(".png"))
    if method in ("dm", "dc", "dsa"):
        # Only now is the set safe on disk; until here the checkpoint is its only copy.
        ckpt.unlink(missing_ok=True)
    return syn
