"""The thesis's architecture searches (Tables 3.4, 4.6, 5.5) in a profile: proxies, search, tables.

For a profile's :class:`~dc_lib.core.config.NASPlan`: carve the validation split, make each proxy set
from the remaining training images, train every sampled candidate on every proxy and on the whole
training split (the ground truth), then score each proxy (Spearman over its top-k and over all,
the selected candidate's test accuracy after retraining on the whole training split, time, storage).
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
from ..core.data import DatasetNotFoundError, RealData, first_per_class, load_dataset
from ..core.files import atomic_write
from ..core.seeding import derive_seed, make_generator
from ..engines.choose import evaluate_set
from ..engines.evaluation import EvalConfig
from ..methods.baselines import feature_network, select_herding, select_random
from ..methods.distribution_matching import DMConfig, condense_dm
from ..methods.gradient_matching import GMConfig, condense_gm
from ..runs.nas import (Candidate, nas_cell, proxy_scores, proxy_steps, rank_agreement, sample_space, train_candidates,
                        validation_split)
from ..runs.results import ResultStore, load_thesis, make_rows

PROXIES = ("random", "herding", "dc", "dsa", "dm")


def make_proxy(split, name: str, plan: NASPlan, seed: int, strategy: str | None, progress: bool = False):
    """``(images, labels, seconds)`` of proxy ``name``, made from ``split``'s training images only.

    ``early_stopping`` is a random draw of as many training images as the proxy sets' SGD steps see
    (``proxy_steps(ipc * classes, proxy_epochs, batch) * batch``), trained for one pass, i.e. the whole
    set for the same number of iterations; ``whole`` is the whole training split.
    """
    start = time.perf_counter()
    if name == "whole":
        return split.x_train, split.y_train, 0.0
    if name == "early_stopping":
        n = min(split.x_train.shape[0],
                proxy_steps(plan.ipc * split.info.num_classes, plan.proxy_epochs, plan.batch) * plan.batch)
        idx = torch.randperm(split.x_train.shape[0], generator=make_generator(derive_seed(seed, "early")))[:n]
        idx = idx.to(split.device)
        return split.x_train[idx], split.y_train[idx], 0.0
    if name not in PROXIES:
        raise ValueError(f"unknown proxy {name!r}; valid: {', '.join(PROXIES + ('early_stopping', 'whole'))}")
    if name == "random":
        syn = select_random(split, plan.ipc, seed=seed)
    elif name == "herding":
        net, _ = feature_network(split, epochs=plan.feature_epochs, seed=seed, progress=progress)
        syn = select_herding(split, plan.ipc, net, seed=seed)
    elif name == "dm":
        dm = DMConfig(iterations=plan.dm_iterations, batch_real=plan.batch_real, strategy=strategy)
        syn = condense_dm(split, plan.ipc, dm, seed=seed, progress=progress)
    else:
        gm = GMConfig(iterations=plan.gm_iterations, batch_real=plan.batch_real,
                      dsa_strategy=strategy if name == "dsa" else None)
        syn = condense_gm(split, plan.ipc, gm, seed=seed, progress=progress)
    return syn.images.detach(), syn.labels, time.perf_counter() - start


def _top(plan: NASPlan, n: int) -> int:
    return max(2, int(round(plan.top * n))) if isinstance(plan.top, float) else int(plan.top)


def run_plan(profile: str, out_dir: str | os.PathLike, *, root=None, device="cpu", seed: int = 0,
             progress: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """Run ``profile``'s search; rows to ``out_dir/results.csv``; returns the per-proxy table and notes."""
    plan: NASPlan = NAS[profile]
    out_dir = Path(out_dir)
    store = ResultStore(out_dir / "results.csv")
    try:
        real = first_per_class(load_dataset(plan.dataset, root, device=device), plan.train_per_class)
    except DatasetNotFoundError:
        return pd.DataFrame(), [f"{plan.dataset}: data not available"]
    notes = [real.note] if real.note else []
    split = validation_split(real, plan.validation, seed=seed)
    strategy = default_strategy(real.info.name)
    candidates = sample_space(plan.candidates, seed=seed)
    table = f"{plan.table}-nas"
    common = dict(table=table, ipc=plan.ipc, strategy=strategy, repeats=plan.repeats, profile=profile,
                  budget=plan.budget(), seed=seed, progress=progress)
    made = {}
    for name in (*plan.proxies, "early_stopping", "whole"):
        images, labels, seconds = make_proxy(split, name, plan, seed, strategy, progress)
        made[name] = (images.shape[0], seconds)
        epochs = {"whole": plan.whole_epochs, "early_stopping": 0}.get(name, plan.proxy_epochs)
        train_candidates(candidates, name, images, labels, split, store, epochs=epochs, batch=plan.batch, **common)
    rows = store.load()
    rows = rows[rows.table == table]
    truth = proxy_scores(rows, "whole")
    out = []
    for name in (*plan.proxies, "early_stopping", "whole"):
        scores = proxy_scores(rows, name)
        agree = rank_agreement(scores, truth, _top(plan, len(scores)))
        seconds = rows[(rows.method == name) & (rows.metric == "seconds")].value.sum() + made[name][1]
        test = _selected_test(real, split, Candidate.from_id(agree["selected"]), plan, store, table, name, profile,
                              seed, strategy)
        out.append({"proxy": name, "storage_imgs": made[name][0], "candidates": agree["candidates"], "k": agree["k"],
                    "spearman_topk": agree["spearman_topk"], "spearman_all": agree["spearman_all"],
                    "selected": agree["selected"], "test_acc": test, "time_min": seconds / 60})
    summary = pd.DataFrame(out)
    atomic_write(out_dir / "table_nas_summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    return summary, notes


def _selected_test(real, split, cand: Candidate, plan: NASPlan, store: ResultStore, table: str, proxy: str,
                   profile: str, seed: int, strategy) -> float:
    """Test accuracy (%) of ``proxy``'s selected candidate retrained on the whole training split (cached)."""
    cell = nas_cell(table, real.info.name, proxy, plan.ipc, cand.id, ";selected=test")
    if store.has(cell, 0, profile):
        done = store.load()
        g = done[(done.table == cell.table) & (done.method == proxy) & (done.setting == cell.setting)]
        return float(g.value.mean())
    final = RealData(real.info, split.x_train, split.y_train, real.x_test, real.y_test, real.source, real.note)
    protocol = EvalConfig(epochs=plan.whole_epochs, num_nets=plan.repeats, strategy=strategy, batch_size=plan.batch,
                          arch_overrides=cand.overrides())
    accs = evaluate_set(split.x_train, split.y_train, final, protocol, seed=derive_seed(seed, "nas-test", cand.id),
                        progress=False)
    store.append(make_rows(cell, 0, seed, accs, profile=profile, budget=plan.budget(), data_source=real.source,
                           note="selected by the proxy, retrained on the whole training split, tested on the test split"))
    return float(sum(accs) / len(accs))


def markdown(profile: str, summary: pd.DataFrame, notes: list[str], out_dir) -> str:
    """The performance, Spearman, time and storage table, with the thesis's numbers where the protocol is its own."""
    plan = NAS[profile]
    thesis = load_thesis()
    t = thesis[thesis.table == plan.table]
    same = plan.dataset == "cifar10" and plan.candidates is None
    title = (f"Table {plan.table}: architecture search with proxy sets on {plan.dataset}"
             + ("" if same else f" (a sample of {plan.candidates} of the 720 candidates on {plan.dataset}: "
                                "a substitute for the thesis's CIFAR-10 search, not comparable)"))
    lines = [f"# {title}", "", f"Profile `{profile}`, budget `{plan.budget()}`. "
             + ("Thesis protocol." if profile == "paper" else "**Reduced run**."), *[f"Note: {n}" for n in notes], "",
             "| proxy | storage (images) | selected | test acc | Spearman top-k (k) | Spearman all | time (min) | thesis: acc / Spearman / min |",
             "|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples(index=False):
        ref = "-"
        if same:
            vals = {m: t[(t.method == r.proxy) & (t.metric == m)]["mean"] for m in ("test_acc", "spearman", "time_min")}
            ref = " / ".join(f"{v.iloc[0]:g}" if len(v) else "-" for v in vals.values())
        sp = "-" if math.isnan(r.spearman_topk) else f"{r.spearman_topk:.2f}"
        lines.append(f"| {r.proxy} | {r.storage_imgs} | {r.selected} | {r.test_acc:.1f} | {sp} ({r.k}) "
                     f"| {r.spearman_all:.2f} | {r.time_min:.1f} | {ref} |")
    if not len(summary):
        lines.append(f"| {plan.dataset}: data not available | | | | | | | |")
    text = "\n".join(lines) + "\n"
    atomic_write(Path(out_dir) / "table_nas.md", lambda tmp: Path(tmp).write_text(text))
    return text
