"""One small set against random real images of the same size, under the same protocol.

The comparison every condensation result is read against (thesis Tables 3.1, 4.1, 5.1: the
"random" column): train fresh networks on the set, and on random real images, and test both on
the real test split. Used by the quickstart, the own-data notebook and ``dc-lib evaluate``.

The random baseline depends on its draw, so it is measured over several draws: draw ``d`` of
``nets`` is its own random subset, seeded ``derive_seed(seed, "random", d)``, trained once.
"""

from __future__ import annotations

from dataclasses import replace

from ..core.data import RealData
from ..core.seeding import derive_seed
from ..core.synset import SyntheticSet
from ..engines.choose import evaluate_set
from ..engines.evaluation import EvalConfig
from ..methods.baselines import select_random
from .results import Cell, make_rows


def random_draws(real: RealData, ipc: int, draws: int, seed: int) -> list[SyntheticSet]:
    """``draws`` random real subsets of ``ipc`` images per class, each with its own seed."""
    return [select_random(real, ipc, seed=derive_seed(seed, "random", d)) for d in range(draws)]


def against_random(syn: SyntheticSet, real: RealData, *, nets: int, epochs: int, strategy: str | None,
                   seed: int = 0, arch: str = "convnet", test_limit: int | None = None,
                   progress: bool = True) -> dict[str, list[float]]:
    """Test accuracies (%) of ``nets`` fresh ``arch`` networks trained on ``syn``, and of one network
    on each of ``nets`` random draws of ``syn.ipc`` real images per class (same epochs, augmentation
    ``strategy``, seeds). Returns ``{"set": [...], "random": [...]}``, ``nets`` values each.

    ``syn.images``: ``(num_classes * ipc, C, H, W)`` in ``real``'s normalised space.
    """
    syn.check_matches(real, where="the set to evaluate")
    protocol = EvalConfig(epochs=epochs, num_nets=nets, strategy=strategy, arch=arch, test_limit=test_limit)
    ours = evaluate_set(syn.images.to(real.device), syn.labels.to(real.device), real, protocol, seed=seed,
                        progress=progress)
    one_net = replace(protocol, num_nets=1)
    rand = [evaluate_set(r.images, r.labels, real, one_net, seed=r.seed, progress=progress)[0]
            for r in random_draws(real, syn.ipc, nets, seed)]
    return {"set": ours, "random": rand}


def comparison_rows(syn: SyntheticSet, accuracies: dict[str, list[float]], *, table: str, profile: str,
                    budget: str, data_source: str, seed: int = 0, arch: str = "convnet",
                    set_idx: int = 0) -> list[dict]:
    """Tidy rows (:data:`dc_lib.runs.results.COLUMNS`) of :func:`against_random`'s accuracies: the set's
    networks as ``set_idx`` (default 0), ``net_idx`` 0..nets-1; random draw ``d`` as ``set_idx`` d,
    ``net_idx`` 0."""
    cell = Cell(chapter=0, table=table, dataset=syn.dataset, ipc=syn.ipc, method=syn.method,
                condense_arch=str(syn.config.get("arch", arch)), eval_arch=arch)
    rows = make_rows(cell, set_idx, seed, accuracies["set"], profile=profile, budget=budget, data_source=data_source)
    rand = Cell(chapter=0, table=table, dataset=syn.dataset, ipc=syn.ipc, method="random",
                condense_arch="none", eval_arch=arch)
    for d, acc in enumerate(accuracies["random"]):
        rows += make_rows(rand, d, derive_seed(seed, "random", d), [acc], profile=profile, budget=budget,
                          data_source=data_source, note="one network per random draw")
    return rows
