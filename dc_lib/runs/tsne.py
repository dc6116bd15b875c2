"""Figure 5.3's input: real and synthetic images of the first classes, embedded by one trained network.

The thesis (Figure 5.3) embeds the 50-ipc sets of DC, DSA and DM of the first three CIFAR10 classes,
with real images of those classes, by a network trained on the whole training set, and maps the
features to 2-D with t-SNE: DM's synthetic points spread over the real distribution, DC's and DSA's
gather in parts of it. :func:`tsne_inputs` assembles the features, :func:`embed_2d` runs scikit-learn's
t-SNE on all of them at once (so the sets share one map). A t-SNE map shows that claim but does not
measure it: :func:`coverage` does, in the features themselves (t-SNE distances mean little).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..core.data import RealData
from ..core.seeding import derive_seed, make_generator
from ..core.synset import SyntheticSet
from ..methods.baselines import embed_all

REAL = "real"


@dataclass
class TSNEInputs:
    """Features to map, one row per image.

    Attributes:
        features: ``(N, F)`` float32, the network's penultimate features.
        labels: ``(N,)`` int, each image's class.
        sources: ``(N,)`` str, ``real`` or the synthetic set's method (``dc``, ``dsa``, ``dm``).
    """

    features: np.ndarray
    labels: np.ndarray
    sources: np.ndarray


def tsne_inputs(net, real: RealData, sets: list[SyntheticSet], *, classes: int, real_per_class: int,
                seed: int = 0) -> TSNEInputs:
    """Features of ``real_per_class`` random training images of each of the first ``classes`` classes
    (seeded) and of every image of those classes in each of ``sets``, all through ``net.embed``.

    Real rows come first, class by class, then each set's rows in the order of ``sets``.
    """
    if classes > real.info.num_classes:
        raise ValueError(f"{classes} classes asked, {real.info.name} has {real.info.num_classes}")
    gen = make_generator(derive_seed(seed, "tsne real images"))
    images = [real.sample_class(c, real_per_class, gen) for c in range(classes)]
    labels = [torch.full((x.shape[0],), c) for c, x in enumerate(images)]
    sources = [REAL] * sum(x.shape[0] for x in images)
    for syn in sets:
        keep = (syn.labels < classes).to(syn.images.device)
        images.append(syn.images[keep].to(real.device))
        labels.append(syn.labels[keep].cpu())
        sources += [syn.method] * int(keep.sum())
    features = embed_all(net, torch.cat(images)).cpu().numpy().astype(np.float32)
    return TSNEInputs(features, torch.cat(labels).numpy(), np.asarray(sources))


def embed_2d(inputs: TSNEInputs, seed: int = 0, perplexity: float = 30.0) -> pd.DataFrame:
    """t-SNE of all the features together (scikit-learn, PCA init where there are 2+ features, seeded): one row per image with
    ``x``, ``y``, ``label`` and ``source``. The perplexity is capped below a third of the points, as
    t-SNE needs."""
    from sklearn.manifold import TSNE

    n = inputs.features.shape[0]
    perplexity = max(1.0, min(perplexity, (n - 1) / 3))
    init = "pca" if inputs.features.shape[1] >= 2 else "random"  # PCA needs two feature dimensions
    points = TSNE(n_components=2, perplexity=perplexity, init=init, random_state=seed).fit_transform(inputs.features)
    return pd.DataFrame({"x": points[:, 0], "y": points[:, 1], "label": inputs.labels, "source": inputs.sources})


def coverage(inputs: TSNEInputs) -> pd.DataFrame:
    """How much of the real distribution each synthetic set covers, in the network's feature space.

    For each synthetic source and class: the mean, over the real images of that class, of the
    Euclidean distance (feature units) from the image's features to the nearest synthetic image of
    the class. Lower means the synthetic images spread over more of the real images; a set gathered
    in one part of its class leaves the far real images far. One row per (``source``, ``label``)
    with ``distance`` and the counts ``real`` and ``synthetic``; classes a set lacks are left out.
    """
    features = torch.from_numpy(inputs.features)
    rows = []
    for source in dict.fromkeys(s for s in inputs.sources if s != REAL):
        for label in sorted(set(inputs.labels.tolist())):
            real = features[(inputs.sources == REAL) & (inputs.labels == label)]
            syn = features[(inputs.sources == source) & (inputs.labels == label)]
            if not len(real) or not len(syn):
                continue
            distance = torch.cdist(real, syn).min(dim=1).values.mean().item()
            rows.append({"source": source, "label": label, "distance": distance, "real": len(real),
                         "synthetic": len(syn)})
    return pd.DataFrame(rows, columns=["source", "label", "distance", "real", "synthetic"])
