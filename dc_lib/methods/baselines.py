"""Coreset selection baselines (thesis section 2.1 and A.3).

Every selector picks the same number of real images per class:

* random: uniform draw;
* herding (eq. 2.1): greedily add the sample that keeps the mean of the chosen
  embeddings closest (l2) to the class-mean embedding;
* k-center (eq. 2.2): start from the sample nearest the class centre, then add
  the sample farthest from its nearest chosen sample;
* forgetting (eq. 2.3, Toneva et al.): keep the samples forgotten most often
  (correct -> wrong between consecutive presentations) while training on the whole set.

Herding and k-center work on embeddings of a network trained on the whole
training set (``feature_network``); the thesis does not give its recipe, so we
use the evaluation recipe with the default ConvNet and its penultimate features.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..core.checks import non_negative_int, positive_int
from ..core.data import RealData, check_ipc
from ..core.files import atomic_write
from ..core.models import get_network
from ..core.seeding import make_generator, seed_everything
from ..core.synset import SyntheticSet


def _as_set(real: RealData, indices: torch.Tensor, ipc: int, method: str, seed: int, **config) -> SyntheticSet:
    info = real.info
    labels = torch.arange(info.num_classes).repeat_interleave(ipc).to(real.device)
    return SyntheticSet(real.x_train[indices.to(real.device)].clone(), labels, info.name, method, ipc,
                        info.mean, info.std, seed=seed,
                        config={"algorithm": method, "dataset": info.name, "ipc": ipc, "seed": seed, **config})


def select_random(real: RealData, ipc: int, seed: int = 0) -> SyntheticSet:
    """``ipc`` uniformly random real training images per class, as a SyntheticSet.

    Raises ValueError if ``ipc`` is not a positive int or a class has fewer than ``ipc`` images.
    """
    positive_int("ipc", ipc)  # check_ipc alone would take 1.5 as 1
    check_ipc(real, ipc)
    gen = make_generator(seed)
    picks = [idx[torch.randperm(idx.numel(), generator=gen)[:ipc].to(idx.device)] for idx in real.indices_class]
    return _as_set(real, torch.cat(picks), ipc, "random", seed)


def herding(features: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of ``k`` rows of ``features (N, F)`` chosen by herding (eq. 2.1), in pick order."""
    mu = features.mean(0)
    chosen: list[int] = []
    running = torch.zeros_like(mu)
    available = torch.ones(features.shape[0], dtype=torch.bool, device=features.device)
    for i in range(k):
        dist = (mu - (running + features) / (i + 1)).norm(dim=1)
        dist[~available] = float("inf")
        j = int(dist.argmin())
        chosen.append(j)
        running += features[j]
        available[j] = False
    return torch.tensor(chosen, dtype=torch.long)


def k_center(features: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of ``k`` rows of ``features (N, F)`` chosen greedily by k-center (eq. 2.2)."""
    first = int((features - features.mean(0)).norm(dim=1).argmin())
    chosen = [first]
    nearest = (features - features[first]).norm(dim=1)
    for _ in range(k - 1):
        j = int(nearest.argmax())
        chosen.append(j)
        nearest = torch.minimum(nearest, (features - features[j]).norm(dim=1))
    return torch.tensor(chosen, dtype=torch.long)


def forgetting_counts(correct: torch.Tensor) -> torch.Tensor:
    """Forgetting events per sample from ``correct (presentations, N)`` booleans: correct then wrong.

    A sample never classified correctly in the run counts as forgotten at every presentation (more
    than any learned sample can be), as Toneva et al. rank never-learned examples first.
    """
    correct = correct.bool()
    counts = (correct[:-1] & ~correct[1:]).sum(0)
    return torch.where(correct.any(0), counts, torch.full_like(counts, correct.shape[0]))


def _per_class(real: RealData, ipc: int, pick) -> torch.Tensor:
    positive_int("ipc", ipc)
    check_ipc(real, ipc)
    return torch.cat([idx[pick(c, idx).to(idx.device)] for c, idx in enumerate(real.indices_class)])


@torch.no_grad()
def embed_all(net, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Penultimate features of ``x (N, C, H, W)`` -> ``(N, F)``, in eval mode."""
    net.eval()
    return torch.cat([net.embed(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)])


def feature_network(real: RealData, *, epochs: int, seed: int = 0, arch: str = "convnet",
                    cache: str | os.PathLike | None = None, progress: bool = True):
    """A network trained on the whole training set, and the forgetting counts of that run.

    Returns ``(net, counts)``; ``counts (N,)`` are the forgetting events of every
    training sample (correctness recorded each time the sample is presented).
    Cached at ``cache`` (a ``.pt`` file) so it is trained once per dataset and budget.
    """
    non_negative_int("epochs", epochs)  # 0: an untrained network (features of a random ConvNet)
    info = real.info
    key = {"dataset": info.name, "arch": arch, "epochs": epochs, "seed": seed}
    if cache is not None and Path(cache).is_file():
        state = torch.load(cache, map_location=real.device, weights_only=False)
        if state["key"] == key:
            net = get_network(arch, info.channel, info.num_classes, info.im_size).to(real.device)
            net.load_state_dict(state["weights"])
            return net, state["counts"]
    seed_everything(seed)
    net = get_network(arch, info.channel, info.num_classes, info.im_size).to(real.device)
    gen = make_generator(seed)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    n = real.x_train.shape[0]
    history = torch.zeros(max(epochs, 1), n, dtype=torch.bool)
    net.train()
    for ep in tqdm(range(epochs), desc=f"feature net {info.name}", disable=not progress):
        order = torch.randperm(n, generator=gen).to(real.device)
        for start in range(0, n, 256):
            idx = order[start:start + 256]
            logits = net(real.x_train[idx])
            loss = F.cross_entropy(logits, real.y_train[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            history[ep, idx.cpu()] = (logits.argmax(1) == real.y_train[idx]).cpu()
    counts = forgetting_counts(history)
    if cache is not None:
        state = {"key": key, "weights": net.state_dict(), "counts": counts}
        atomic_write(cache, lambda tmp: torch.save(state, tmp))
    return net, counts


def _features(real: RealData, net, features: torch.Tensor | None) -> torch.Tensor:
    if features is None:
        return embed_all(net, real.x_train)
    if features.shape[0] != real.x_train.shape[0]:
        raise ValueError(f"features has {features.shape[0]} rows for {real.x_train.shape[0]} training images; "
                         "pass embed_all(net, real.x_train)")
    return features.to(real.device)


def select_herding(real: RealData, ipc: int, net, seed: int = 0, *, features: torch.Tensor | None = None
                   ) -> SyntheticSet:
    """Herding on ``net``'s embeddings, per class. ``features (N, F)``: those embeddings of
    ``real.x_train`` when already computed (several draws on one network embed the images once)."""
    positive_int("ipc", ipc)  # before embedding the whole training set
    feats = _features(real, net, features)
    return _as_set(real, _per_class(real, ipc, lambda c, idx: herding(feats[idx], ipc)), ipc, "herding", seed)


def select_k_center(real: RealData, ipc: int, net, seed: int = 0, *, features: torch.Tensor | None = None
                    ) -> SyntheticSet:
    """k-center on ``net``'s embeddings, per class; ``features`` as :func:`select_herding`."""
    positive_int("ipc", ipc)  # before embedding the whole training set
    feats = _features(real, net, features)
    return _as_set(real, _per_class(real, ipc, lambda c, idx: k_center(feats[idx], ipc)), ipc, "kcenter", seed)


def select_forgetting(real: RealData, ipc: int, counts: torch.Tensor, seed: int = 0) -> SyntheticSet:
    """The ``ipc`` most-forgotten samples per class (ties broken by a seeded random order)."""
    gen = make_generator(seed)

    def pick(c, idx):
        noise = torch.rand(idx.numel(), generator=gen) * 0.5  # < 1: breaks ties only
        return torch.argsort(counts[idx.cpu()].float() + noise, descending=True)[:ipc]

    return _as_set(real, _per_class(real, ipc, pick), ipc, "forgetting", seed)
