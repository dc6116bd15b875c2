"""The thesis's architecture searches (Tables 3.4, 4.6, 5.5) in a profile: proxies, search, tables.

For each :class:`~dc_lib.core.config.NASPlan` of a profile: carve the validation split from the
training set, make each proxy set from the remaining training images (saved, and reused by a rerun
or by another search with the same split), train every sampled candidate on every proxy and on the
whole training split (the ground truth), then score each proxy: Spearman over its top-k and over
all, the selected candidate's test accuracy after retraining on the whole training set, time and
storage.

Choices where the thesis is silent (hyperparameters.md section 6 item 15), stated once here:
proxy sets are made from the training split only (so the chapters' own sets, which saw every
training image, validation included, are not reused); early stopping trains on the whole training
split for as many SGD steps as a proxy takes (batches drawn from shuffled passes over it, one lr
schedule); the selected candidate is retrained on the whole training set (validation images
included) and tested once on the test split; time is wall time on the machine that ran it (making
the proxy plus training every candidate on it).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pandas as pd
import torch

from ..core.augment import default_strategy
from ..core.config import NAS, NASPlan
from ..core.data import DATASETS, DatasetNotFoundError, RealData, first_per_class, load_dataset
from ..core.files import atomic_write
from ..core.seeding import derive_seed, make_generator
from ..core.speed import Speed
from ..core.synset import SetFileError, SyntheticSet
from ..engines.choose import evaluate_set
from ..methods.baselines import feature_network, select_herding, select_random
from ..methods.distribution_matching import DMConfig, condense_dm
from ..methods.gradient_matching import GMConfig, condense_gm
from ..runs.nas import (Candidate, Proxy, ProxyTraining, SearchRows, nas_cell, proxy_scores, proxy_steps,
                        rank_agreement, sample_space, train_candidates, validation_split)
from ..runs.results import ResultStore, load_thesis, make_rows

PROXIES = ("random", "herding", "dc", "dsa", "dm")
ALWAYS = ("early_stopping", "whole")


def _set_path(out_dir: Path, plan: NASPlan, name: str, seed: int) -> Path:
    return out_dir / "synsets" / f"nas_{plan.dataset}_val{plan.validation}_{name}_ipc{plan.ipc}_seed{seed}.pt"


def _make_set(split: RealData, name: str, plan: NASPlan, seed: int, strategy, progress: bool) -> SyntheticSet:
    if name == "random":
        return select_random(split, plan.ipc, seed=seed)
    if name == "herding":
        net, _ = feature_network(split, epochs=plan.feature_epochs, seed=seed, progress=progress)
        return select_herding(split, plan.ipc, net, seed=seed)
    if name == "dm":
        return condense_dm(split, plan.ipc, DMConfig(iterations=plan.dm_iterations, batch_real=plan.batch_real,
                                                     strategy=strategy), seed=seed, progress=progress)
    gm = GMConfig(iterations=plan.gm_iterations, batch_real=plan.batch_real, init="real" if name == "dsa" else "noise",
                  dsa_strategy=strategy if name == "dsa" else None)
    return condense_gm(split, plan.ipc, gm, seed=seed, progress=progress)


def make_proxy(split: RealData, name: str, plan: NASPlan, seed: int, *, out_dir=None, progress: bool = False) -> Proxy:
    """Proxy ``name`` made from ``split``'s training images only (never its validation images).

    Sets (random, herding, dc, dsa, dm) are saved under ``out_dir/synsets`` when given and reused by a
    rerun if they match the data, ipc, method, seed and budget; a set's ``metrics["seconds"]`` keeps the
    time it took to make. ``early_stopping``: the whole training split for as many SGD steps as a proxy
    (``proxy_steps(ipc * classes, proxy_epochs, batch)``), as the images those steps see, in order;
    ``whole``: the whole training split.
    """
    n = split.x_train.shape[0]
    if name == "whole":
        return Proxy(name, split.x_train, split.y_train, storage=n)
    if name == "early_stopping":
        seen = proxy_steps(plan.ipc * split.info.num_classes, plan.proxy_epochs, plan.batch) * plan.batch
        gen = make_generator(derive_seed(seed, "early"))
        order = torch.cat([torch.randperm(n, generator=gen) for _ in range(math.ceil(seen / n))])[:seen]
        order = order.to(split.device)
        return Proxy(name, split.x_train[order], split.y_train[order], storage=min(seen, n))
    if name not in PROXIES:
        raise ValueError(f"unknown proxy {name!r}; valid: {', '.join(PROXIES + ALWAYS)}")
    strategy = default_strategy(split.info.name)
    path = None if out_dir is None else _set_path(Path(out_dir), plan, name, seed)
    if path is not None and path.is_file():
        try:
            syn = SyntheticSet.load(path, split.device)
            syn.check_matches(split, ipc=plan.ipc, method=name, where=str(path))
            if syn.seed == seed and syn.metrics.get("budget") == plan.training_budget():
                return Proxy(name, syn.images, syn.labels, storage=syn.images.shape[0],
                             seconds=float(syn.metrics["seconds"]))
        except SetFileError as err:
            print(f"{err}; making it again")
    start = time.perf_counter()
    syn = _make_set(split, name, plan, seed, strategy, progress)
    syn.metrics = {**syn.metrics, "seconds": time.perf_counter() - start, "budget": plan.training_budget()}
    if path is not None:
        syn.save(path)
    return Proxy(name, syn.images.detach(), syn.labels, storage=syn.images.shape[0], seconds=syn.metrics["seconds"])


def _top(plan: NASPlan, n: int) -> int:
    return max(2, int(round(plan.top * n))) if isinstance(plan.top, float) else int(plan.top)


def _training(plan: NASPlan, name: str, strategy) -> ProxyTraining:
    epochs = {"whole": plan.whole_epochs, "early_stopping": 0}.get(name, plan.proxy_epochs)
    return ProxyTraining(epochs=epochs, batch=plan.batch, strategy=strategy if plan.augment else None,
                         repeats=plan.repeats)


def run_plan(plan: NASPlan, profile: str, out_dir: str | os.PathLike, *, root=None, device="cpu", seed: int = 0,
             progress: bool = True, speed: Speed = Speed()) -> tuple[pd.DataFrame, list[str]]:
    """Run one search; rows to ``out_dir/results.csv``; returns its per-proxy summary and notes.

    Summary columns: proxy, storage_imgs, candidates, k, spearman_topk, spearman_all, selected,
    test_acc (%), time_min (making the proxy + training every candidate on it, this machine).
    """
    out_dir = Path(out_dir)
    store = ResultStore(out_dir / "results.csv")
    try:
        full = load_dataset(plan.dataset, root, device=device)
    except DatasetNotFoundError:
        return pd.DataFrame(), [f"{plan.dataset}: data not available"]
    real = first_per_class(full, plan.train_per_class)
    notes = [real.note] if real.note else []
    split = validation_split(real, plan.validation, seed=seed)
    strategy = default_strategy(real.info.name)
    candidates = sample_space(plan.candidates, seed=seed, widths=plan.widths)
    rows_as = SearchRows(table=f"{plan.table}-nas", ipc=plan.ipc, profile=profile, budget=plan.training_budget(),
                         seed=seed)
    made = {}
    for name in (*plan.proxies, *ALWAYS):
        made[name] = make_proxy(split, name, plan, seed, out_dir=out_dir, progress=progress)
        train_candidates(candidates, made[name], split, store, _training(plan, name, strategy), rows_as,
                         progress=progress, speed=speed)
    rows = store.load()
    rows = rows[(rows.table == rows_as.table) & (rows.profile == profile) & (rows.budget == rows_as.budget)]
    ids = {c.id for c in candidates}
    truth = {c: v for c, v in proxy_scores(rows, "whole").items() if c in ids}
    out = []
    for name in (*plan.proxies, *ALWAYS):
        scores = {c: v for c, v in proxy_scores(rows, name).items() if c in ids}
        agree = rank_agreement(scores, truth, _top(plan, len(scores)))
        timing = rows[(rows.method == name) & (rows.metric == "seconds")]
        seconds = timing[[s.split("candidate=")[1] in ids for s in timing.setting]].value.sum() + made[name].seconds
        test = selected_test(real, full, Candidate.from_id(agree["selected"]), plan, store, rows_as, strategy)
        out.append({"proxy": name, "storage_imgs": made[name].storage, "candidates": agree["candidates"],
                    "k": agree["k"], "spearman_topk": agree["spearman_topk"], "spearman_all": agree["spearman_all"],
                    "selected": agree["selected"], "test_acc": test, "time_min": seconds / 60})
    summary = pd.DataFrame(out)
    atomic_write(out_dir / f"table_{plan.table}_nas_summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    return summary, notes


def selected_test(real: RealData, full: RealData, cand: Candidate, plan: NASPlan, store: ResultStore,
                  rows_as: SearchRows, strategy) -> float:
    """Test accuracy (%) of a selected candidate retrained on the whole training set of the search
    (``real``: validation images included) with the ground truth's schedule, tested on ``full``'s test
    split; recorded once per candidate (method ``selected``), however many proxies select it."""
    cell = nas_cell(rows_as.table, real.info.name, "selected", rows_as.ipc, cand.id, ";selected=test")
    if store.has(cell, 0, rows_as.profile, rows_as.budget):
        done = store.load()
        g = done[(done.table == cell.table) & (done.method == "selected") & (done.setting == cell.setting)
                 & (done.profile == rows_as.profile) & (done.budget == rows_as.budget)]
        return float(g.value.mean())
    final = RealData(real.info, real.x_train, real.y_train, full.x_test, full.y_test, real.source, real.note)
    protocol = _training(plan, "whole", strategy).protocol(cand)
    accs = evaluate_set(real.x_train, real.y_train, final, protocol,
                        seed=derive_seed(rows_as.seed, "nas-test", cand.id), progress=False)
    store.append(make_rows(cell, 0, rows_as.seed, accs, profile=rows_as.profile, budget=rows_as.budget,
                           data_source=real.source,
                           note="selected by a proxy, retrained on the whole training set, tested on the test split"))
    return float(sum(accs) / len(accs))


def run_profile(profile: str, out_dir, *, root=None, device="cpu", seed: int = 0, progress: bool = True,
                speed: Speed = Speed()) -> list[tuple[NASPlan, pd.DataFrame, list[str]]]:
    """Every search of ``profile`` (paper: Tables 3.4, 4.6 and 5.5), each written as its table."""
    if profile not in NAS:
        raise ValueError(f"Unknown profile {profile!r}. Valid profiles: {', '.join(NAS)}")
    out = []
    for plan in NAS[profile]:
        summary, notes = run_plan(plan, profile, out_dir, root=root, device=device, seed=seed, progress=progress,
                                  speed=speed)
        markdown(plan, profile, summary, notes, out_dir)
        out.append((plan, summary, notes))
    return out


def is_thesis_protocol(plan: NASPlan) -> bool:
    """Whether a search is the thesis's own (CIFAR-10, the whole space, the whole training set)."""
    return plan.dataset == "cifar10" and plan.candidates is None and not plan.widths and not plan.train_per_class


def markdown(plan: NASPlan, profile: str, summary: pd.DataFrame, notes: list[str], out_dir) -> str:
    """The performance, Spearman, time and storage table, with the thesis's numbers where the search is its own."""
    thesis = load_thesis()
    t = thesis[thesis.table == plan.table]
    same = is_thesis_protocol(plan)
    space = f"{plan.candidates or 'all'} of the {'W ∈ {' + ', '.join(map(str, plan.widths)) + '} half' if plan.widths else '720 candidates'}"
    title = (f"Table {plan.table}: architecture search with proxy sets on {plan.dataset}"
             + ("" if same else f" ({space}{' of the space' if plan.widths else ''}; a substitute for the "
                                "thesis's CIFAR-10 search: its numbers are not comparable, shown for the kind of result)"))
    k = "top-k"
    lines = [f"# {title}", "", f"Profile `{profile}`, budget `{plan.budget()}`. "
             + ("Thesis protocol." if profile == "paper" else "**Reduced run**.")
             + " Time: making the proxy plus training every candidate on it, wall time on the machine that ran it.",
             *[f"Note: {n}" for n in notes], "",
             f"| proxy | storage (images) | selected | test acc | Spearman {k} (k) | Spearman all | time (min) | "
             "thesis: acc / Spearman / min / storage |",
             "|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples(index=False):
        ref = "not comparable (substitute search)"
        if same:
            vals = [t[(t.method == r.proxy) & (t.metric == m)]["mean"]
                    for m in ("test_acc", "spearman", "time_min", "storage_imgs")]
            ref = " / ".join(f"{v.iloc[0]:g}" if len(v) else "-" for v in vals)
        sp = "-" if math.isnan(r.spearman_topk) else f"{r.spearman_topk:.2f}"
        lines.append(f"| {r.proxy} | {r.storage_imgs} | {r.selected} | {r.test_acc:.1f} | {sp} ({r.k}) "
                     f"| {r.spearman_all:.2f} | {r.time_min:.1f} | {ref} |")
    if not same and len(summary):
        lines += ["", "How this search differs from the thesis's in kind: " + differences(plan)]
    if len(summary):
        lines += ["", "The thesis's claims on these rows:", *[f"- {c}" for c in claims(summary)]]
    run = set(summary.proxy) if len(summary) else set()
    missing = sorted(set(t.method) - run)
    if missing:
        lines += ["", "| proxy | reason |", "|---|---|"]
    for proxy in missing:
        why = (f"{plan.dataset}: data not available" if not len(summary)
               else "not run in this profile (cost; `./reproduce.sh nas --profile paper` runs it)")
        lines.append(f"| {proxy} | {why} |")
    text = "\n".join(lines) + "\n"
    atomic_write(Path(out_dir) / f"table_{plan.table}_nas.md", lambda tmp: Path(tmp).write_text(text))
    return text


CIFAR10_TRAIN = 50000  # the training images of the thesis's searches, before the validation split


def step_ratio(plan: NASPlan) -> float:
    """SGD steps of the ground truth (``whole_epochs`` over the training split) per step of a proxy's
    training, which is also early stopping's budget: how far the ground truth sees beyond early stopping."""
    classes = DATASETS[plan.dataset].num_classes
    train = plan.train_per_class * classes if plan.train_per_class else CIFAR10_TRAIN
    train -= round(plan.validation * train) if isinstance(plan.validation, float) else plan.validation
    return (plan.whole_epochs * math.ceil(train / plan.batch)
            / proxy_steps(plan.ipc * classes, plan.proxy_epochs, plan.batch))


def differences(plan: NASPlan) -> str:
    """What separates a reduced search from the thesis's, in words (printed under its table)."""
    parts = []
    if plan.dataset != "cifar10":
        parts.append(f"{plan.dataset} instead of CIFAR-10 (an easier task: the candidates' accuracies lie closer "
                     "together, so their ranking is noisier)")
    if plan.widths:
        parts.append(f"only the widths {'/'.join(map(str, plan.widths))} (the thesis's best candidates are "
                     "mostly wide ones; here depth, normalisation, activation and pooling decide the ranking)")
    if plan.candidates is not None:
        parts.append(f"a seeded sample of {plan.candidates} candidates instead of all")
    if plan.train_per_class:
        parts.append(f"the first {plan.train_per_class} training images per class")
    if plan.whole_epochs < 100:
        parts.append(f"a ground truth of {plan.whole_epochs} whole-set epochs instead of 100 (it ranks how fast a "
                     "candidate learns as much as how well it ends)")
    if plan.train_per_class:
        thesis = next(p for p in NAS["paper"] if p.table == plan.table)
        parts.append(f"a ground truth of {step_ratio(plan):.1f}x the SGD steps of a proxy's training and of early "
                     f"stopping (the thesis's Table {plan.table}: {step_ratio(thesis):.0f}x), so early stopping sees "
                     "much of what the ground truth sees, which favours it against the condensed proxies")
    if plan.repeats < 5:
        parts.append(f"{plan.repeats} training(s) per candidate instead of 5 (each accuracy is one network's)")
    return "; ".join(parts) + "."


def claims(summary: pd.DataFrame) -> list[str]:
    """The thesis's NAS claims checked on a search's summary (Tables 3.4, 4.6, 5.5): a condensed proxy ranks
    the candidates better than random images and than early stopping, DM at least as well as DSA, and every
    proxy costs a fraction of the whole set's time."""
    by = summary.set_index("proxy")
    condensed = [p for p in ("dc", "dsa", "dm") if p in by.index]
    out = []

    def state(text: str, holds: bool, because: str) -> None:
        out.append(f"{text}: **{'holds' if holds else 'does not hold'}** at this budget ({because}).")

    for stat, label in (("spearman_topk", "over the proxy's top-k"), ("spearman_all", "over all candidates")):
        for p in condensed:
            for other in ("random", "early_stopping"):
                if other in by.index and not (math.isnan(by.at[p, stat]) or math.isnan(by.at[other, stat])):
                    state(f"{p} ranks better than {other.replace('_', ' ')} {label}", by.at[p, stat] > by.at[other, stat],
                          f"Spearman {by.at[p, stat]:.2f} vs {by.at[other, stat]:.2f}")
    if {"dm", "dsa"} <= set(by.index):
        state("DM ranks at least as well as DSA over its top-k", by.at["dm", "spearman_topk"] >= by.at["dsa", "spearman_topk"],
              f"{by.at['dm', 'spearman_topk']:.2f} vs {by.at['dsa', 'spearman_topk']:.2f}")
    if "whole" in by.index:
        for p in (*condensed, "random", "herding"):
            if p in by.index:
                ratio = by.at[p, "time_min"] / by.at["whole", "time_min"]
                state(f"searching with {p} is cheaper than with the whole set (thesis: 0.2-4 % of its time)", ratio < 1,
                      f"{by.at[p, 'time_min']:.1f} vs {by.at['whole', 'time_min']:.1f} min, {100 * ratio:.0f} %")
    return out
