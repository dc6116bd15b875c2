"""Neural architecture search with small proxy sets (thesis Tables 3.4, 4.6, 5.5; Figs. A.F1, 4.4, B.F1).

A condensed set trains a candidate architecture so cheaply that hundreds of candidates can be
ranked on it. The search space is the modular ConvNet: width W ∈ {32, 64, 128, 256}, depth
D ∈ {1, 2, 3, 4}, normalisation N ∈ {none, batch, layer, instance, group}, activation A ∈
{sigmoid, relu, leakyrelu}, pooling P ∈ {none, max, avg}: 720 candidates. Each candidate is
trained on a proxy (random real images, herding, DC, DSA, DM sets; early stopping: the whole
training set for as many SGD steps as the proxy takes; the whole set: the ground truth) and
scored on a validation split carved from the training set, never the test set. A proxy is
judged by Spearman's rank correlation between its validation accuracies and the whole set's,
over its own top-k candidates (and over all), and by the test accuracy of the candidate it
selects, retrained on the whole training split.

Where the thesis is silent (hyperparameters.md section 6 item 15): candidates train with the
authors' evaluation recipe (SGD, momentum 0.9, weight decay 5e-4, lr 0.01 decayed once at half
time, :func:`dc_lib.engines.evaluation.train_network`); the validation split is a seeded random draw.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import torch

from ..core.checks import positive_int
from ..core.data import RealData
from ..core.models import ACTS, NORMS, POOLINGS
from ..core.seeding import derive_seed, make_generator
from ..core.speed import Speed
from ..engines.choose import evaluate_set
from ..engines.evaluation import EvalConfig
from ..engines.side_by_side import map_on_cores
from .results import KEY, Cell, ResultStore, make_rows

WIDTHS = (32, 64, 128, 256)
DEPTHS = (1, 2, 3, 4)


@dataclass(frozen=True)
class Candidate:
    """One ConvNet of the search space; ``id`` is stable across runs (``w128-d3-instancenorm-relu-avgpooling``)."""

    width: int
    depth: int
    norm: str
    act: str
    pooling: str

    def __post_init__(self) -> None:
        for name, value, options in (("width", self.width, WIDTHS), ("depth", self.depth, DEPTHS),
                                     ("norm", self.norm, NORMS), ("act", self.act, ACTS),
                                     ("pooling", self.pooling, POOLINGS)):
            if value not in options:
                raise ValueError(f"unknown {name} {value!r} in the NAS space; valid: {', '.join(map(str, options))}")

    @property
    def id(self) -> str:
        return f"w{self.width}-d{self.depth}-{self.norm}-{self.act}-{self.pooling}"

    def overrides(self) -> dict:
        """The ConvNet options (``get_network("convnet", ..., **overrides)``)."""
        return {"width": self.width, "depth": self.depth, "norm": self.norm, "act": self.act, "pooling": self.pooling}

    @classmethod
    def from_id(cls, text: str) -> "Candidate":
        w, d, norm, act, pooling = text.split("-")
        return cls(int(w[1:]), int(d[1:]), norm, act, pooling)


def search_space(widths=None) -> list[Candidate]:
    """All 720 candidates in a fixed order (W, D, N, A, P); ``widths``: only those W (a stated sub-space)."""
    widths = WIDTHS if widths is None else tuple(widths)
    for w in widths:
        Candidate(w, DEPTHS[0], NORMS[0], ACTS[0], POOLINGS[0])  # an unknown width is named here
    return [Candidate(*c) for c in itertools.product(widths, DEPTHS, NORMS, ACTS, POOLINGS)]


def sample_space(n: int | None, seed: int = 0, widths=None) -> list[Candidate]:
    """``n`` distinct candidates drawn with ``seed`` (None: all), in the space's order; ``widths`` as
    :func:`search_space`."""
    space = search_space(widths)
    if n is None:
        return space
    positive_int("candidates", n)
    if n > len(space):
        raise ValueError(f"a sample of {n} candidates is larger than the space ({len(space)})")
    pick = torch.randperm(len(space), generator=make_generator(seed))[:n].sort().values
    return [space[int(i)] for i in pick]


def ranks(values) -> list[float]:
    """1-based ranks of ``values`` (ascending), ties given their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(x, y) -> float:
    """Spearman's rank correlation: Pearson's correlation of the (tie-averaged) ranks; NaN if a side is constant."""
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"spearman needs two equally long sequences of at least 2 values, got {len(x)} and {len(y)}")
    rx, ry = ranks(list(x)), ranks(list(y))
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx, vy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    return cov / math.sqrt(vx * vy) if vx > 0 and vy > 0 else float("nan")


def top_k(scores: dict[str, float], k: int) -> list[str]:
    """The ``k`` ids of highest score (ties broken by id, so the pick is stable)."""
    return [c for c, _ in sorted(scores.items(), key=lambda t: (-t[1], t[0]))[:k]]


def validation_split(real: RealData, size: int | float, seed: int = 0) -> RealData:
    """``real`` with a validation split carved from its training set as its "test" split.

    ``size``: images (the thesis's 5000 in chapters 3/4) or a fraction (0.1 in chapter 5). The
    returned RealData trains on the rest and tests on the held-out images; ``real``'s test split is
    not touched (it is kept for the selected architectures). Proxy sets made from the returned
    training split are disjoint from the validation images. Seeded, not stratified (the thesis does
    not say how it draws the split).
    """
    n = real.x_train.shape[0]
    k = int(round(size * n)) if isinstance(size, float) else int(size)
    if not 0 < k < n:
        raise ValueError(f"validation size {size} must leave both splits non-empty ({n} training images)")
    perm = torch.randperm(n, generator=make_generator(derive_seed(seed, "validation"))).to(real.device)
    val, train = perm[:k].sort().values, perm[k:].sort().values
    return RealData(real.info, real.x_train[train], real.y_train[train], real.x_train[val], real.y_train[val],
                    real.source, real.note)


def nas_cell(table: str, dataset: str, proxy: str, ipc: int, candidate: str, metric_setting: str = "") -> Cell:
    return Cell(chapter=int(table[0]) if table[0].isdigit() else 5, table=table, dataset=dataset, ipc=ipc,
                method=proxy, condense_arch="none" if proxy in ("random", "early_stopping", "whole", "selected")
                else "convnet", eval_arch="convnet_nas720", setting=f"nas;candidate={candidate}" + metric_setting)


def proxy_steps(n_images: int, epochs: int, batch: int) -> int:
    """SGD steps of training on a proxy of ``n_images``: ``(epochs + 1)`` passes (the authors' schedule
    makes one more than ``epochs``) of ``ceil(n / batch)`` batches."""
    return (epochs + 1) * math.ceil(n_images / batch)


@dataclass(frozen=True)
class Proxy:
    """A proxy training set of a search: ``images (N, C, H, W)`` (normalised), ``labels (N,)``.

    ``storage``: the images it keeps (early stopping: the whole-set images its steps see);
    ``seconds``: wall time to make it (condensation, herding's network; 0 for a draw).
    """

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    storage: int
    seconds: float = 0.0


@dataclass(frozen=True)
class ProxyTraining:
    """How every candidate trains on a proxy: ``epochs`` E (``E + 1`` passes, lr decayed once at half time,
    :class:`~dc_lib.engines.evaluation.EvalConfig`), ``batch``, ``strategy`` (DSA augmentation or None)
    and ``repeats`` (networks per candidate, averaged; thesis: 5)."""

    epochs: int
    batch: int
    strategy: str | None
    repeats: int

    def protocol(self, candidate: Candidate) -> EvalConfig:
        return EvalConfig(epochs=self.epochs, num_nets=self.repeats, strategy=self.strategy, batch_size=self.batch,
                          arch_overrides=candidate.overrides())


@dataclass(frozen=True)
class SearchRows:
    """What every row of one search records besides the candidate: its table, ipc, profile, budget and seed."""

    table: str
    ipc: int
    profile: str
    budget: str
    seed: int = 0


def candidate_workers(device, todo: int, speed: Speed) -> int:
    """Candidates trained at once: on CPU (engine ``auto`` or ``side_by_side``) one per core, each on one
    torch thread, since a small ConvNet's step does not keep two cores busy; on CUDA, or with the
    ``loop`` engine, one at a time (its repeats then take ``evaluate_set``'s stacked path on CUDA)."""
    if torch.device(device).type != "cpu" or speed.engine not in ("auto", "side_by_side"):
        return 1
    return max(1, min(todo, torch.get_num_threads()))


def train_candidates(candidates: list[Candidate], proxy: Proxy, split: RealData, store: ResultStore,
                     training: ProxyTraining, rows: SearchRows, *, progress: bool = True,
                     speed: Speed = Speed()) -> None:
    """Train each candidate ``training.repeats`` times on ``proxy`` and record its validation accuracy
    (% on ``split``'s held-out images) and time; a candidate with rows in ``store`` is skipped, and each
    one is recorded as soon as it finishes, so an interrupted search loses at most the ones in flight.

    Rows: metric ``val_acc`` (one per repeat) and ``seconds`` (one per candidate: its share of the
    machine's wall time, i.e. its elapsed time x the threads it ran on / torch's threads, so that the
    seconds of a search sum to its wall time whichever engine ran it). The candidate's networks are
    seeded from its id alone, so every proxy trains the same initialisations.
    """
    from tqdm import tqdm

    info = split.info
    if proxy.images.shape[1:] != split.x_train.shape[1:] or int(proxy.labels.max()) >= info.num_classes:
        raise ValueError(f"proxy {proxy.name!r}: images {tuple(proxy.images.shape[1:])} with labels up to "
                         f"{int(proxy.labels.max())} do not fit {info.name} ({tuple(split.x_train.shape[1:])}, "
                         f"{info.num_classes} classes)")
    recorded = store.load()
    if len(recorded):  # finished: rows of this key made with this budget (another budget is redone)
        recorded = recorded[(recorded.budget == rows.budget) & (recorded.metric == "val_acc")]
    done = {tuple(r) for r in recorded[KEY].itertuples(index=False, name=None)} if len(recorded) else set()
    todo = [c for c in candidates
            if nas_cell(rows.table, info.name, proxy.name, rows.ipc, c.id).key(0, rows.profile) not in done]
    workers = candidate_workers(split.device, len(todo), speed)
    inner = Speed(engine="loop", compile=speed.compile) if workers > 1 else speed
    all_threads = torch.get_num_threads()

    def train(i: int) -> tuple[list[float], float]:
        cand, start = todo[i], time.perf_counter()
        accs = evaluate_set(proxy.images, proxy.labels, split, training.protocol(cand),
                            seed=derive_seed(rows.seed, "nas", cand.id), progress=False, speed=inner)
        return accs, (time.perf_counter() - start) * torch.get_num_threads() / all_threads

    bar = tqdm(total=len(todo), desc=f"nas {rows.table} {proxy.name}", disable=not progress)

    def record(i: int, result: tuple[list[float], float]) -> None:
        accs, seconds = result
        cell = nas_cell(rows.table, info.name, proxy.name, rows.ipc, todo[i].id)
        new = make_rows(cell, 0, rows.seed, accs, profile=rows.profile, budget=rows.budget, data_source=split.source)
        for r in new:
            r["metric"] = "val_acc"
        timing = make_rows(cell, 0, rows.seed, [seconds], profile=rows.profile, budget=rows.budget,
                           data_source=split.source)
        timing[0].update(metric="seconds", net_idx=training.repeats)
        store.append(new + timing)
        bar.update()

    with bar:
        if workers > 1:
            map_on_cores(train, len(todo), workers=workers, on_done=record)
        else:
            for i in range(len(todo)):
                record(i, train(i))


def proxy_scores(rows, proxy: str) -> dict[str, float]:
    """Mean validation accuracy per candidate id of ``proxy`` (rows of :func:`train_candidates`)."""
    df = rows[(rows.method == proxy) & (rows.metric == "val_acc")]
    return {s.split("candidate=")[1]: float(g.value.mean()) for s, g in df.groupby("setting")}


def rank_agreement(proxy: dict[str, float], truth: dict[str, float], k: int) -> dict:
    """How well ``proxy`` ranks like ``truth``: Spearman over the proxy's top ``k`` and over every shared
    candidate, and the candidate the proxy selects (its best)."""
    shared = sorted(set(proxy) & set(truth))
    if len(shared) < 2:
        raise ValueError(f"need at least 2 candidates scored by both the proxy and the whole set, got {len(shared)}")
    top = top_k({c: proxy[c] for c in shared}, min(k, len(shared)))
    return {"spearman_topk": spearman([proxy[c] for c in top], [truth[c] for c in top]) if len(top) > 1 else float("nan"),
            "spearman_all": spearman([proxy[c] for c in shared], [truth[c] for c in shared]),
            "k": len(top), "selected": top[0], "candidates": len(shared)}
