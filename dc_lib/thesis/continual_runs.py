"""The thesis's continual-learning experiments (Figs. 3.4, 4.3, 5.6, 5.7) in a profile: streams, runs, tables.

A profile's :class:`~dc_lib.core.config.ContinualPlan` names the streams. Where the thesis's data are
missing (SVHN, CIFAR-100 on these machines) its cells read "data not available"; a substitute
stream is named in the table's title and rows and never set beside a thesis number.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.augment import NO_FLIP_STRATEGY
from ..core.config import CONTINUAL, ContinualPlan
from ..core.data import DatasetNotFoundError, first_per_class, load_arrays, load_dataset
from ..core.files import atomic_write
from ..runs.continual import EEILConfig, GDumbConfig, as_rgb32, run_eeil, run_gdumb
from ..runs.results import ResultStore, load_thesis

THESIS_EEIL = ("svhn", "mnist", "usps")
THESIS_GDUMB = ("cifar100",)


def stream_name(datasets) -> str:
    """``svhn>mnist>usps`` for a stream of tasks, ``mnist+fashionmnist`` for joined class spaces."""
    return ">".join(datasets)


def eeil_tasks(datasets, root=None, device="cpu", per_class: int | None = None) -> tuple[list | None, list[str]]:
    """The tasks of an E2E/EEIL stream as 32x32 RGB RealData, or ``(None, missing datasets)``."""
    tasks, missing = [], []
    for name in datasets:
        try:
            real = first_per_class(load_dataset(name, root, device=device), per_class)
            tasks.append(as_rgb32(real, f"{name}32rgb"))
        except DatasetNotFoundError:
            missing.append(name)
    return (None if missing else tasks), missing


def joined_classes(datasets, root=None, device="cpu"):
    """Datasets of one image shape joined into one class space (labels offset by the classes before
    them; normalisation from the joined training split), registered as ``a+b``; or ``(None, missing)``."""
    from ..core.own_data import register_arrays

    if len(datasets) == 1:
        try:
            return load_dataset(datasets[0], root, device=device), []
        except DatasetNotFoundError:
            return None, list(datasets)
    parts, missing = [], []
    for name in datasets:
        try:
            parts.append(load_arrays(name, root)[0])
        except DatasetNotFoundError:
            missing.append(name)
    if missing:
        return None, missing
    shapes = {p["x_train"].shape[1:] for p in parts}
    if len(shapes) > 1:
        raise ValueError(f"{' + '.join(datasets)}: images of different shapes {sorted(shapes)} cannot share a network")
    offsets = np.cumsum([0] + [int(p["y_train"].max()) + 1 for p in parts[:-1]])
    arrays = {k: np.concatenate([p[k] for p in parts]) for k in ("x_train", "x_test")}
    for k in ("y_train", "y_test"):
        arrays[k] = np.concatenate([p[k] + off for p, off in zip(parts, offsets)])
    name = "+".join(datasets)
    register_arrays(arrays, name, source=f"joined:{name}")
    return load_dataset(name, device=device), []


def _thesis_number(thesis: pd.DataFrame, stream: str, method: str, setting: str) -> float:
    rows = thesis[(thesis.dataset == stream) & (thesis.method == method) & (thesis.metric == "test_acc")
                  & (thesis.setting == setting)]
    return float(rows["mean"].iloc[0]) if len(rows) else float("nan")


def summarise_stages(rows: pd.DataFrame, thesis: pd.DataFrame | None = None) -> pd.DataFrame:
    """Mean ± population std per (table, stream, method, setting) over runs/orders and networks, with the
    thesis's final number where the stream is the thesis's (its text gives final stages only)."""
    if "metric" in rows:  # not the per-task rows (task_acc)
        rows = rows[rows.metric == "test_acc"]
    if not len(rows):
        return pd.DataFrame(columns=["table", "dataset", "method", "setting", "n", "runs", "mean", "std",
                                     "thesis_mean", "budget", "profile"])
    thesis = load_thesis() if thesis is None else thesis
    out = []
    for (table, stream, method, setting, profile, budget), g in rows.groupby(
            ["table", "dataset", "method", "setting", "profile", "budget"], sort=False):
        parts = dict(kv.split("=") for kv in setting.split(";"))
        stage = parts.get("stage", "")
        if stage.startswith("T"):  # EEIL: the thesis's text names the stage (T3)
            ref = _thesis_number(thesis, stream, method, setting)
        elif stage == parts.get("steps"):  # GDumb: the thesis gives the last step only, as stage=final
            ref = _thesis_number(thesis, stream, method, setting.replace(f"stage={stage}", "stage=final"))
        else:
            ref = float("nan")
        v = g.value.astype(float).to_numpy()
        out.append({"table": table, "dataset": stream, "method": method, "setting": setting, "n": len(v),
                    "runs": g.set_idx.nunique(), "mean": v.mean(), "std": v.std(ddof=0), "thesis_mean": ref,
                    "budget": budget, "profile": profile})
    return pd.DataFrame(out)


def markdown(summary: pd.DataFrame, title: str, profile_line: str, not_run: list[str]) -> str:
    """The table: one line per method, setting and stage; the thesis's cells not run, with the reason."""
    lines = [f"# {title}", "", profile_line, "",
             "| stream | method | setting | reproduced | n (runs) | thesis |", "|---|---|---|---|---|---|"]
    for r in summary.itertuples(index=False):
        ref = "-" if np.isnan(r.thesis_mean) else f"{r.thesis_mean:.1f}"
        lines.append(f"| {r.dataset} | {r.method} | {r.setting} | {r.mean:.1f} ± {r.std:.1f} | {r.n} ({r.runs}) | {ref} |")
    lines += [f"| {line} | | | | | |" for line in not_run]
    return "\n".join(lines) + "\n"


def _config(cls, pairs):
    return replace(cls(), **dict(pairs))


def run_plan(protocol: str, profile: str, out_dir: str | os.PathLike, *, root=None, device="cpu", seed: int = 0,
             progress: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """Run ``protocol`` (``eeil`` or ``gdumb``) of ``profile``'s plan; rows to ``out_dir/results.csv``.

    Returns the stage summary and the lines of cells not run (data not available, not in the profile).
    """
    plan: ContinualPlan = CONTINUAL[profile]
    out_dir = Path(out_dir)
    store = ResultStore(out_dir / "results.csv")
    not_run = []
    if protocol == "eeil":
        datasets, thesis_stream = plan.eeil_stream, THESIS_EEIL
        stream = stream_name(datasets)
        tasks, missing = eeil_tasks(datasets, root, device, plan.train_per_class)
        config = _config(EEILConfig, plan.eeil_budget)
        if tasks is None:
            not_run.append(f"{stream}: data not available ({', '.join(missing)})")
        else:
            shared = {}  # the first stage and model-free memories, computed once (run_eeil)
            for method in plan.eeil_methods:
                for kd in plan.eeil_kd:
                    run_eeil(tasks, method, kd, config, store, stream=stream, profile=profile,
                             budget=plan.budget("eeil"), table="F4.3", seed=seed, progress=progress, shared=shared)
    else:
        datasets, thesis_stream = plan.gdumb_datasets, THESIS_GDUMB
        stream = "+".join(datasets)
        real, missing = joined_classes(datasets, root, device)
        real = first_per_class(real, plan.train_per_class) if real is not None else None
        config = _config(GDumbConfig, plan.gdumb_budget)
        if real is None:
            not_run.append(f"{stream}: data not available ({', '.join(missing)})")
        else:
            # Digits must not be mirrored (the thesis drops flips for MNIST and SVHN); a joined stream
            # with digits in it takes the digits' strategy for all its classes.
            digits = any(d in ("mnist", "svhn", "usps") for d in datasets)
            strategy = NO_FLIP_STRATEGY if digits else "auto"
            for steps in plan.gdumb_steps:
                for method in plan.gdumb_methods:
                    run_gdumb(real, method, steps, config, store, profile=profile, budget=plan.budget("gdumb"),
                              seed=seed, strategy=strategy, cache_dir=out_dir / "memories", progress=progress)
    if tuple(datasets) != thesis_stream:
        thesis_name = stream_name(thesis_stream) if protocol == "eeil" else thesis_stream[0]
        not_run.append(f"{thesis_name} (the thesis's stream): not run in this profile (its data are not on "
                       f"these machines; `--profile paper` where they are); {stream} is a substitute, not comparable")
    rows = store.load()
    rows = rows[rows.setting.str.startswith(f"cl={protocol}")] if len(rows) else rows
    summary = summarise_stages(rows)
    atomic_write(out_dir / f"table_{protocol}_summary.csv", lambda tmp: summary.to_csv(tmp, index=False))
    return summary, not_run


def write_markdown(protocol: str, profile: str, out_dir, summary: pd.DataFrame, not_run: list[str]) -> str:
    """Write ``table_<protocol>.md`` and return its text."""
    plan = CONTINUAL[profile]
    if protocol == "eeil":
        stream = stream_name(plan.eeil_stream)
        title = f"Figs. 3.4 / 4.3: task-incremental E2E/EEIL on {stream}" + (
            "" if plan.eeil_stream == THESIS_EEIL else " (substitute stream for the thesis's svhn>mnist>usps)")
    else:
        stream = "+".join(plan.gdumb_datasets)
        title = f"Figs. 5.6 / 5.7: class-incremental GDumb on {stream}" + (
            "" if plan.gdumb_datasets == THESIS_GDUMB else " (substitute stream for the thesis's cifar100)")
    reduced = "**Reduced run**" if profile != "paper" else "Thesis protocol"
    line = (f"Profile `{profile}`, budget `{plan.budget(protocol)}` over the thesis's settings. {reduced}. "
            "Std is the population std over runs (class orders) and networks.")
    text = markdown(summary, title, line, not_run)
    text += "\nThe thesis's claims, checked on these rows:\n\n" + "\n".join(claims(protocol, summary)) + "\n"
    atomic_write(Path(out_dir) / f"table_{protocol}.md", lambda tmp: Path(tmp).write_text(text))
    return text


def _final(summary: pd.DataFrame, method: str, **want) -> pd.Series | None:
    """The summary row of ``method`` at the last stage/step among rows whose setting has ``want``."""
    rows = []
    for r in summary[summary.method == method].itertuples(index=False):
        parts = dict(kv.split("=") for kv in r.setting.split(";"))
        if all(parts.get(k) == str(v) for k, v in want.items()):
            rows.append((int(str(parts["stage"]).lstrip("T")), r))
    return max(rows, key=lambda t: t[0])[1] if rows else None


def claims(protocol: str, summary: pd.DataFrame) -> list[str]:
    """The thesis's claims that ``summary`` touches, each stated as holding or not, with the numbers.

    E2E/EEIL (Figs. 3.4, 4.3): a condensed memory (DC, DSA, DM) ends above herding, with and without
    KD. GDumb (Figs. 5.6, 5.7): at the last step DM > herding > random; DM's and random's final
    accuracies do not depend on the number of steps (within 1 point, the thesis's largest such gap
    being 0.2); herding ends lower with more steps.
    """
    out = []

    def say(claim: str, holds: bool, evidence: str) -> None:
        out.append(f"- {claim}: **{'holds' if holds else 'does not hold'}** at this budget ({evidence})")

    if not len(summary):
        return ["- no rows: no claim can be checked (data not available)"]
    if protocol == "eeil":
        for kd in ("no", "yes"):
            herd = _final(summary, "herding", kd=kd)
            for method in ("dc", "dsa", "dm"):
                mine = _final(summary, method, kd=kd)
                if herd is not None and mine is not None:
                    say(f"{method.upper()} memory above herding at the last stage, KD {kd}", mine.mean > herd.mean,
                        f"{mine.mean:.1f} ± {mine.std:.1f} vs {herd.mean:.1f} ± {herd.std:.1f}")
        return out
    steps = sorted({int(dict(kv.split("=") for kv in s.split(";"))["steps"]) for s in summary.setting})
    for n in steps:
        final = {m: _final(summary, m, steps=n) for m in ("dm", "dsa", "herding", "random")}
        ranked = [m for m in ("dm", "herding", "random") if final[m] is not None]
        if len(ranked) > 1:
            values = [final[m].mean for m in ranked]
            say(f"{n} steps: final accuracy " + " > ".join(m.upper() if m == "dm" else m for m in ranked),
                all(a > b for a, b in zip(values, values[1:])),
                ", ".join(f"{m} {v:.1f}" for m, v in zip(ranked, values)))
    if len(steps) > 1:
        few, many = steps[0], steps[-1]
        for m in ("dm", "random"):
            a, b = _final(summary, m, steps=few), _final(summary, m, steps=many)
            if a is not None and b is not None:
                say(f"{m} does not depend on the split ({few} vs {many} steps, within 1 point)",
                    abs(a.mean - b.mean) <= 1.0, f"{a.mean:.1f} vs {b.mean:.1f}")
        for m in ("herding", "dsa"):
            a, b = _final(summary, m, steps=few), _final(summary, m, steps=many)
            if a is not None and b is not None:
                say(f"{m} ends lower with more steps ({few} vs {many})", b.mean < a.mean, f"{a.mean:.1f} vs {b.mean:.1f}")
    return out
