"""Figures derived from saved sets and result tables (never from in-memory state alone)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from ..core.synset import SyntheticSet


def _skip(what: str, why: str) -> None:
    """Say why a figure is not drawn: a run without some dataset's data must still finish (and say so)."""
    print(f"{what} skipped: {why}")


def plot_synsets(sets: list[SyntheticSet], max_per_class: int = 10, panel_inches: float = 5.0,
                 why_none: str = "their datasets' data is not available; see the tables", titles=None):
    """One panel per set: rows are classes, columns images (image space); each panel
    ``panel_inches`` square (smaller keeps a notebook holding noise-like images small); ``titles``
    (one per set) replace the default "method dataset, ipc, K" titles.

    No sets: prints ``why_none`` and returns None, which ``save_figure`` skips.
    """
    if not sets:
        _skip("Figure", f"no synthetic sets to draw ({why_none})")
        return None
    fig, axes = plt.subplots(1, len(sets), figsize=(panel_inches * len(sets), panel_inches), squeeze=False)
    for i, (ax, syn) in enumerate(zip(axes[0], sets)):
        grid = syn.grid(max_per_class).permute(1, 2, 0).numpy()
        ax.imshow(grid.squeeze(), cmap="gray" if grid.shape[2] == 1 else None, vmin=0, vmax=1)
        ax.set_title(titles[i] if titles else f"{syn.method.upper()} {syn.dataset}, {syn.ipc} img/cls, K={syn.iteration}")
        ax.axis("off")
    fig.tight_layout()
    return fig


def _accuracy_axes(fig, ax, xlabel: str, title: str):
    """Finish a plot of test accuracy against a log-scaled quantity: labels, title, grid, legend."""
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_accuracy_vs_ipc(summary: pd.DataFrame, title: str = ""):
    """Mean ± std test accuracy against images per class, one line per method; thesis points as crosses.

    An empty summary (no results: data not available): prints why and returns None (see ``plot_synsets``).
    """
    if summary is None or not len(summary):
        _skip(title or "Figure",
              "no results to plot (the data of its cells is not available; see the table)")
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, g in summary.groupby("method"):
        g = g.sort_values("ipc")
        bars = ax.errorbar(g.ipc, g["mean"], yerr=g["std"], marker="o", capsize=3, label=f"{method} (reproduced)")
        ref = g[[not math.isnan(v) for v in g.thesis_mean]]
        if len(ref):
            ax.scatter(ref.ipc, ref.thesis_mean, marker="x", s=60, color=bars[0].get_color(),
                       label=f"{method} (thesis)")
    return _accuracy_axes(fig, ax, "images per class", title)


def plot_accuracy_bars(summary: pd.DataFrame, title: str = ""):
    """One bar per method (mean test accuracy, %), std as error bars and the thesis mean as a cross;
    ``summary`` as written by :func:`dc_lib.runs.results.summarise` (one row per method)."""
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * max(len(summary), 1), 3.6))
    names = [f"{r.method}\n{r.ipc} img/cls" for r in summary.itertuples()]
    ax.bar(names, summary["mean"], yerr=summary["std"], capsize=4, color=["C0", "C7", "C1", "C2"][:len(summary)])
    if "thesis_mean" in summary and summary["thesis_mean"].notna().any():
        ax.scatter(names, summary["thesis_mean"], marker="x", s=70, color="k", zorder=3, label="thesis")
        ax.legend(loc="lower right")
    for x, m in zip(names, summary["mean"]):
        ax.annotate(f"{m:.1f}", (x, m), ha="center", va="bottom", xytext=(0, 3), textcoords="offset points")
    ax.set_ylim(0, 100)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def save_figure(fig, path: str | os.PathLike) -> Path | None:
    """Write ``fig`` to ``path`` (PNG). ``fig`` None (a plot with nothing to draw) writes nothing and removes
    the figure of an earlier run, which would otherwise stand beside tables that no longer match it."""
    path = Path(path)
    if fig is None:
        if path.is_file():
            path.unlink()
            print(f"{path} not written (nothing to draw); removed the earlier run's figure")
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def plot_gradient_histograms(hist: pd.DataFrame, title: str = ""):
    """Figure 4.5: one panel per method (DC, DSA), real and synthetic gradient-magnitude histograms (log x).

    ``hist`` is ``chapter4.figure_4_5``'s tidy histogram. The title gets its dataset and ipc
    appended, each panel the outer iteration k it was measured at and the network's epochs on S.
    An empty histogram (data not available): prints why and returns None (see ``plot_synsets``).
    """
    if not len(hist):
        _skip(title or "Figure", "no gradient histogram (the data of its sets is not available)")
        return None
    title = f"{title}: {hist.dataset.iloc[0]}, {hist.ipc.iloc[0]} ipc" if "dataset" in hist else title
    methods = list(dict.fromkeys(hist["method"]))
    fig, axes = plt.subplots(1, len(methods), figsize=(5 * len(methods), 3.5), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], methods):
        rows = hist[hist["method"] == name]
        for side, g in rows.groupby("side", sort=False):
            share = g["count"] / g["count"].sum()
            ax.stairs(share.to_numpy(), [*g.bin_low, g.bin_high.iloc[-1]], label=side)
        ax.set_xscale("log")
        ax.set_xlabel("|gradient| of a weight")
        where = ""
        if "outer_iteration" in rows:
            where = (f", k = {rows.outer_iteration.iloc[0]} after {rows.epochs_on_syn.iloc[0]} epochs on S")
        ax.set_title(f"{name.upper()}{where}", fontsize=10)
        ax.legend()
    axes[0][0].set_ylabel("share of weights")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_evolution(frames: dict, iterations: list[int], mean, std, image_idx: int = 0):
    """Figure 4.6: one row per initialisation, one column per snapshot of synthetic image ``image_idx``.

    ``frames[init]`` is ``(snapshots, N, C, H, W)`` in normalised space; ``mean``/``std`` per channel.
    No frames (data not available): prints why and returns None (see ``plot_synsets``).
    """
    import torch

    if not frames or not iterations:
        _skip("Figure", "no snapshots to draw (the data of the run is not available)")
        return None

    fig, axes = plt.subplots(len(frames), len(iterations), figsize=(1.6 * len(iterations), 1.8 * len(frames)),
                             squeeze=False)
    m, s = torch.tensor(mean).view(-1, 1, 1), torch.tensor(std).view(-1, 1, 1)
    for row, (init, stack) in enumerate(frames.items()):
        for col, k in enumerate(iterations):
            img = (stack[col, image_idx] * s + m).clamp(0, 1).permute(1, 2, 0).squeeze(-1).numpy()
            axes[row][col].imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1)
            axes[row][col].set_xticks([])
            axes[row][col].set_yticks([])
            if row == 0:
                axes[row][col].set_title(f"k={k}")
        axes[row][0].set_ylabel(f"from {init}")
    fig.tight_layout()
    return fig


def plot_incremental(summary: pd.DataFrame, title: str = ""):
    """Accuracy (%) after each stage/step, one line per memory method; KD dashed where it was run.

    ``summary`` as from :func:`dc_lib.thesis.continual_runs.summarise_stages` (``setting`` holds ``stage=``,
    ``kd=`` and ``steps=``); one panel per number of steps. Empty (data not available): None, with a line.
    """
    if summary is None or not len(summary):
        _skip(f"Figure{' ' + title if title else ''}", "no continual-learning results (data not available)")
        return None
    df = summary.copy()
    parts = df.setting.map(lambda s: dict(kv.split("=") for kv in s.split(";")))
    df["stage"] = parts.map(lambda p: int(str(p["stage"]).lstrip("T")))
    df["kd"] = parts.map(lambda p: p.get("kd", ""))
    df["steps"] = parts.map(lambda p: p.get("steps", ""))
    panels = sorted(df.steps.unique(), key=str)
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.6), squeeze=False)
    for ax, steps in zip(axes[0], panels):
        for i, (method, g) in enumerate(df[df.steps == steps].groupby("method", sort=False)):
            for kd, h in g.groupby("kd"):
                h = h.sort_values("stage")
                ax.errorbar(h.stage, h["mean"], yerr=h["std"], marker="o", capsize=3, color=f"C{i}",
                            linestyle="--" if kd == "yes" else "-",
                            label=f"{method}{' + KD' if kd == 'yes' else ''}")
        ax.set_xlabel("stage" if steps == "" else f"step (of {steps})")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(title if steps == "" else f"{title}, {steps} steps")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_proxy_scatter(rows: pd.DataFrame, proxies, top: dict | None = None, title: str = ""):
    """One panel per proxy: each candidate's validation accuracy (%) on the proxy against the whole
    set's, the proxy's top-k (``top[proxy]``: ids) highlighted. ``rows``: the search's tidy rows."""
    from .nas import proxy_scores

    if rows is None or not len(rows):
        _skip(f"Figure{' ' + title if title else ''}", "no search results (data not available)")
        return None
    truth = proxy_scores(rows, "whole")
    fig, axes = plt.subplots(1, len(proxies), figsize=(3.4 * len(proxies), 3.2), squeeze=False)
    for ax, proxy in zip(axes[0], proxies):
        scores = proxy_scores(rows, proxy)
        ids = sorted(set(scores) & set(truth))
        best = set((top or {}).get(proxy, ()))
        ax.scatter([scores[i] for i in ids], [truth[i] for i in ids], s=12, color="C7")
        ax.scatter([scores[i] for i in ids if i in best], [truth[i] for i in ids if i in best], s=22, color="C3",
                   label="proxy's top-k")
        ax.set_title(proxy)
        ax.set_xlabel("validation acc. on the proxy (%)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("validation acc., whole set (%)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_forgetting_counts(counts: dict, title: str = ""):
    """Histogram of forgetting counts (events per training image) for each dataset in ``counts``
    (name -> ``(N,)`` tensor), log scale: whether the score spreads or is decided by its tie-break.
    A never-learned image counts once per presentation (the rightmost bar)."""
    if not counts:
        _skip(f"Figure{' ' + title if title else ''}", "no coreset network (data not available)")
        return None
    fig, axes = plt.subplots(1, len(counts), figsize=(4 * len(counts), 3), squeeze=False)
    for ax, (name, c) in zip(axes[0], counts.items()):
        values = c.cpu().long().bincount()
        ax.bar(range(len(values)), values.tolist(), color="C0")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("forgetting events")
        ax.grid(alpha=0.3, axis="y")
    axes[0][0].set_ylabel("training images")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_tsne(points: pd.DataFrame, title: str = ""):
    """Figure 5.3: one panel per synthetic set, its images (large, outlined) over the real images (small,
    faint) in the shared t-SNE map; colour = class. ``points``: ``x, y, label, source`` rows
    (:func:`dc_lib.runs.tsne.embed_2d`). No synthetic set: prints why and returns None."""
    methods = [m for m in dict.fromkeys(points.source) if m != "real"]
    if not methods:
        _skip("Figure", "no synthetic set to place among the real images (see the lines above)")
        return None
    real = points[points.source == "real"]
    fig, axes = plt.subplots(1, len(methods), figsize=(4 * len(methods), 4), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, method in zip(axes[0], methods):
        ax.scatter(real.x, real.y, c=[cmap(int(c) % 10) for c in real.label], s=4, alpha=0.25)
        syn = points[points.source == method]
        ax.scatter(syn.x, syn.y, c=[cmap(int(c) % 10) for c in syn.label], s=60, edgecolors="black", linewidths=1.2)
        ax.set_title(method.upper())
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_sensitivity(curve: pd.DataFrame, title: str = "", why_none: str = ""):
    """Figure A.F2: test accuracy (mean ± std, %) against K (outer iterations, log axis), one line per T,
    one panel per dataset; ``curve`` as :func:`dc_lib.thesis.chapter3.figure_a_f2` returns it. Empty:
    prints ``why_none`` and returns None."""
    if curve is None or not len(curve):
        _skip(title or "Figure A.F2", why_none or "no runs to plot")
        return None
    datasets = list(dict.fromkeys(curve.dataset))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for rounds, g in curve[curve.dataset == dataset].groupby("rounds"):
            g = g.sort_values("iteration")
            ax.errorbar(g.iteration, g["mean"], yerr=g["std"], marker="o", capsize=3, label=f"T = {rounds}")
        _accuracy_axes(fig, ax, "K (outer iterations)", f"{title} {dataset}".strip())
    return fig


def plot_time_curve(curve: pd.DataFrame, title: str = ""):
    """Test accuracy (mean ± std, %) against condensation wall time (minutes, log axis), one line per
    method (Figure 5.4), with DSA's final accuracy as a dashed line; ``curve`` as
    :func:`dc_lib.runs.time_curve.time_curve_rows` returns it. Empty: prints why and returns None."""
    if curve is None or not len(curve):
        _skip(title or "Figure 5.4", "no timed runs to plot (not run in this profile, or its data is not here)")
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, g in curve.groupby("method"):
        g = g.sort_values("seconds")
        line = ax.errorbar(g.seconds / 60, g["mean"], yerr=g["std"], marker="o", capsize=3, label=method.upper())
        if method == "dsa":
            ax.axhline(g["mean"].iloc[-1], linestyle="--", color=line[0].get_color(), alpha=0.6,
                       label="DSA's final accuracy")
    return _accuracy_axes(fig, ax, "condensation wall time (min, this machine)", title)
