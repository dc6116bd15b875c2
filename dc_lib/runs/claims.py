"""The thesis's ordering claims, as data, checked on a table's rows.

A claim says that some cells of a table beat others: DC beats every coreset (Table 3.1), DM beats
random selection (Table 5.1). It is checked per group of cells (per dataset and ipc, say) on the
summary a table prints: it holds in a group when the lowest mean of the ``better`` cells is above
(or, for a claim that allows ties, not below) the highest mean of the cells it is compared with.
Each verdict comes with its evidence from the rows: the two means and stds, whether their ±1 std
ranges overlap, how many networks, and where the two rows' budgets differ (a known difference of
protocol, stated, never a guessed cause); and with the same comparison on the thesis's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .results import table_name

CORESETS_3_1 = ("random", "herding", "kcenter", "forgetting")
CORESETS_4_1 = ("random", "herding", "forgetting")


@dataclass(frozen=True)
class Claim:
    """One ordering claim of the thesis.

    Attributes:
        table: the table under which it is printed (and whose rows hold the ``better`` cells).
        says: the claim, in words.
        source: where the thesis makes it (experiments.csv's "what it shows", a section).
        better: the cells claimed higher, as column -> value (or tuple of values) of the summary; a
            name that is no column of the summary is a key of the rows' setting (``scheme``, ``aug``).
        than: the cells they are compared with; None = every other cell of the group.
        per: the summary columns (or setting keys) that form a group; the claim is checked in each.
        than_table: the table holding the ``than`` cells, when it is not ``table``.
        ties: the claim allows equality (``>=``).
    """

    table: str
    says: str
    source: str
    better: dict
    than: dict | None = None
    per: tuple[str, ...] = ("dataset", "ipc")
    than_table: str | None = None
    ties: bool = False
    tables: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "tables", tuple(dict.fromkeys((self.table, self.than_table or self.table))))


CLAIMS = (
    Claim("3.1", "DC beats every coreset method (random, herding, k-center, forgetting)",
          'experiments.csv, Table 3.1: "Gradient matching beats every coreset selector on 4 datasets"',
          better={"method": "dc"}, than={"method": CORESETS_3_1}),
    Claim("F3.3", "DC beats herding at every number of images per class",
          'experiments.csv, Figure 3.3: "DC > herding everywhere"',
          better={"method": "dc"}, than={"method": "herding"}),
    Claim("3.2", "The ConvNet-condensed set trains every evaluation network well: each beats ConvNet trained "
                 "on random real images (Table 3.1's random row, the same chapter's protocol)",
          'experiments.csv, Table 3.2: "Sets learned on one architecture train other architectures well '
          '(except MLP-learned sets)"',
          better={"method": "dc", "condense_arch": "convnet"}, than={"method": "random"}, than_table="3.1"),
    Claim("3.3", "DC beats DD at the same number of images per class, on DD's own networks",
          'experiments.csv, Table 3.3: "DC beats DD; DC at 1 ipc beats DD at 10 ipc on MNIST"',
          better={"method": "dc"}, than={"method": "dd"}),
    Claim("3.3", "DC at 1 image per class beats DD at 10", 'experiments.csv, Table 3.3: "DC at 1 ipc beats DD at '
          '10 ipc on MNIST"', better={"method": "dc", "ipc": 1}, than={"method": "dd", "ipc": 10}, per=("dataset",)),
    Claim("A.T10", "The LeNet-learned DC set trains every network better than the LeNet-learned DD set",
          'experiments.csv, Table A.T10: "DC sets transfer across archs; DD sets (with learned lrs) collapse on '
          'AlexNet/VGG/ResNet"', better={"method": "dc"}, than={"method": "dd"}, per=("dataset", "ipc", "eval_arch")),
    Claim("A.T8", "DC beats the best 10 random coresets (optimal random selection, top 10)",
          'experiments.csv, Table A.T8: "Even the best 10 of 1000 random coresets, and cGAN images, are far below DC"',
          better={"method": "dc"}, than={"method": "ors_top10"}),
    Claim("4.1", "DSA beats DC", 'experiments.csv, Table 4.1: "DSA improves on DC, most at 10 and 50 ipc"',
          better={"method": "dsa"}, than={"method": "dc"}),
    Claim("4.1", "Both synthetic sets (DC and DSA) beat every coreset (random, herding, forgetting)",
          "Table 4.1, synthesis vs coreset methods (hyperparameters.md 2.3)",
          better={"method": ("dc", "dsa")}, than={"method": CORESETS_4_1}),
    Claim("4.2", "DSA beats DC on CIFAR100", 'experiments.csv, Table 4.2: "DSA 13.9/32.3 vs DC 12.8/25.2"',
          better={"method": "dsa"}, than={"method": "dc"}),
    Claim("4.3", "ResNet-18 is the best evaluation network of every DSA set",
          'experiments.csv, Table 4.3: "Convolutional C-archs transfer; ResNet is the best classifier"',
          better={"eval_arch": "resnet18"}, per=("dataset", "ipc", "condense_arch")),
    Claim("4.4", "With each transformation, Siamese augmentation in condensation plus augmentation when training "
                 "the evaluation networks (DSA) beats every other scheme",
          'experiments.csv, Table 4.4: "Siamese augmentation in C plus augmentation in T is best for each op; '
          'independent aug hurts"', better={"scheme": "ours"}, per=("dataset", "ipc", "aug")),
    Claim("4.5", "The combination of transformations beats every single one (and none)",
          'experiments.csv, Table 4.5: "the random-one-of-all combination is best everywhere"',
          better={"setting": "aug=combination"}),
    Claim("A.T7", "DC's own distance (layer-wise, output-node-wise cosine) beats the squared Euclidean and the "
                  "cosine distance of the flattened gradients",
          'experiments.csv, Table A.T7: "Layer-wise per-output cosine beats flattened Euclidean and cosine on most '
          'archs"', better={"setting": "distance=ours_layerwise_cosine"},
          than={"setting": ("distance=euclidean", "distance=cosine")}, per=("dataset", "ipc", "condense_arch")),
    Claim("5.1", "DM beats random real images", "Table 5.1: DM above random selection in every cell of the thesis",
          better={"method": "dm"}, than={"method": "random"}),
    Claim("5.2", "Batch norm lifts DM: BN at least as good as instance norm",
          'experiments.csv, Table 5.2: "BN (stats from synthetic data of all classes) lifts DM to 65.2/48.0/28.2"',
          better={"method": "dm", "setting": "norm=batchnorm"}, than={"method": "dm", "setting": "norm=instancenorm"},
          ties=True),
    Claim("5.3", "DM's set (condensed with ConvNet-BN) trains every BN network better than DSA's",
          'experiments.csv, Table 5.3: "DM sets transfer better than DSA sets"',
          better={"method": "dm", "condense_arch": "convnet_bn"}, than={"method": "dsa", "condense_arch": "convnet_bn"},
          per=("dataset", "ipc", "eval_arch")),
    Claim("5.3", "DM sets learned with the deeper networks (VGG11-BN, ResNet18-BN) train every BN network worse "
                 "than DM's ConvNet-BN set",
          'experiments.csv, Table 5.3: "sets learned on complex archs transfer worse"',
          better={"method": "dm", "condense_arch": "convnet_bn"},
          than={"method": "dm", "condense_arch": ("vgg11_bn", "resnet18_bn")}, per=("dataset", "ipc", "eval_arch")),
    Claim("B.T1", "DM beats the generators' samples, pixel MMD and random real images",
          'experiments.csv, Table B.T1: "GAN/VAE/GMMN samples are no better than random real images; pixel MMD '
          'helps a bit; DM far better"', better={"method": "dm"}, than={"method": ("random", "gmmn", "vae", "biggan", "mmd")}),
    Claim("B.T1", "Pixel-space MMD beats random real images", 'experiments.csv, Table B.T1: "pixel MMD helps a bit"',
          better={"method": "mmd"}, than={"method": "random"}),
    Claim("F5.5", "DM beats random real images at every set size",
          'experiments.csv, Figure 5.5: "DM above random at all sizes (67.0..80.8); gap narrows with size"',
          better={"method": "dm"}, than={"method": "random"}),
)


def claims_of(table: str) -> list[Claim]:
    return [c for c in CLAIMS if c.table == table]


def setting_value(setting: str, key: str) -> str:
    """The value of ``key`` in a ``key=value;...`` setting ("" where it has none)."""
    return _budget(setting).get(key, "")


def _with_setting_keys(df: pd.DataFrame, keys) -> pd.DataFrame:
    """``df`` with a column for each of ``keys`` it lacks, read from its rows' settings."""
    missing = [k for k in dict.fromkeys(keys) if k not in df.columns]
    if not missing or not len(df):
        return df
    return df.assign(**{k: df.setting.map(lambda s, k=k: setting_value(s, k)) for k in missing})


def _select(df: pd.DataFrame, selector: dict) -> pd.Series:
    keep = pd.Series(True, index=df.index)
    for column, value in selector.items():
        keep &= df[column].isin(value if isinstance(value, tuple) else (value,))
    return keep


def _budget(budget: str) -> dict[str, str]:
    """``key=value;...`` (a budget, a setting) as a dict."""
    return dict(part.split("=", 1) for part in str(budget).split(";") if "=" in part)


# Budget fields a row records only where it departs from its method's default (Runner.budget: eta_S of the
# MLP under DC's distance): one row having it is a difference, not a field the other method lacks.
OVERRIDES = ("lr_img",)


def _budget_difference(a: pd.Series, b: pd.Series) -> str:
    """Where the budgets of two rows differ, among the fields both record and the overrides either records."""
    ba, bb = _budget(a.budget), _budget(b.budget)
    diff = [f"{k} ({ba[k]} vs {bb[k]})" for k in ba if k in bb and ba[k] != bb[k]]
    diff += [f"{k} ({ba.get(k, 'default')} vs {bb.get(k, 'default')})" for k in OVERRIDES
             if (k in ba) != (k in bb)]
    return "budgets differ in " + ", ".join(diff) if diff else "the budget fields both rows record are equal"


def _name(row: pd.Series, varying: list[str], claim: Claim) -> str:
    """A row named by what sets it apart in the comparison (method, networks, setting, table)."""
    parts = [row.method]
    parts += [f"C={row.condense_arch}"] if "condense_arch" in varying else []
    parts += [f"T={row.eval_arch}"] if "eval_arch" in varying else []
    parts += [row.setting] if "setting" in varying and row.setting else []
    if claim.than_table and row.table != claim.table:
        parts.append(f"({table_name(row.table)})")
    return " ".join(parts)


def _group_label(claim: Claim, keys: tuple) -> str:
    words = []
    for column, value in zip(claim.per, keys):
        words.append(f"{value} ipc" if column == "ipc" else f"C = {value}" if column == "condense_arch" else str(value))
    return ", ".join(words)


def _overlap(a: pd.Series, b: pd.Series) -> str:
    apart = a["mean"] - a["std"] > b["mean"] + b["std"] or b["mean"] - b["std"] > a["mean"] + a["std"]
    gap = a["mean"] - b["mean"]
    n = f"{a.n} and {b.n} networks" if a.n != b.n else f"{a.n} networks each"
    return (f"the ±1 std ranges do not overlap ({n})" if apart
            else f"the gap, {gap:+.1f}, is within the ±1 std ranges, which overlap ({n})")


def _pm(mean: float, std: float) -> str:
    return f"{mean:.1f} ± {std:.1f}"


def _thesis_verdict(claim: Claim, a: pd.DataFrame, b: pd.DataFrame) -> str:
    if a.thesis_mean.isna().any() or b.thesis_mean.isna().any():
        return "The thesis prints no number for some of these cells"
    low, high = a.thesis_mean.min(), b.thesis_mean.max()
    holds = low >= high if claim.ties else low > high
    return f"Thesis: {low:.1f} vs {high:.1f}, {'holds' if holds else 'does not hold'}"


def check(claim: Claim, summaries: dict[str, pd.DataFrame]) -> list[str]:
    """One line per group where both sides have rows: the verdict at this budget and its evidence."""
    rows = summaries.get(claim.table, pd.DataFrame())
    others = summaries.get(claim.than_table or claim.table, pd.DataFrame())
    if not len(rows) or not len(others):
        return ["- not checked: the cells it compares were not run in this profile"]
    keys = [*claim.per, *claim.better, *(claim.than or {})]
    rows, others = _with_setting_keys(rows, keys), _with_setting_keys(others, keys)
    better = rows[_select(rows, claim.better)]
    lines = []
    for keys, a in better.groupby(list(claim.per), sort=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        group = others[_select(others, dict(zip(claim.per, keys)))]
        b = group[_select(group, claim.than)] if claim.than is not None else group.drop(a.index, errors="ignore")
        if not len(b):
            continue
        low, high = a.loc[a["mean"].idxmin()], b.loc[b["mean"].idxmax()]
        holds = low["mean"] >= high["mean"] if claim.ties else low["mean"] > high["mean"]
        both = pd.concat([a, b])
        # Name rows by what tells them apart; a selection's "none" condensing network is no difference.
        varying = [c for c in ("condense_arch", "eval_arch", "setting")
                   if both.loc[both[c] != "none", c].nunique() > 1 or (c != "condense_arch" and both[c].nunique() > 1)]
        side_a = _name(low, varying, claim) if len(a) == 1 else f"the lowest of them, {_name(low, varying, claim)}"
        side_b = (_name(high, varying, claim) if len(b) == 1
                  else f"the best of {', '.join(_name(r, varying, claim) for _, r in b.iterrows())}: "
                       f"{_name(high, varying, claim)}")
        lines.append(f"- {_group_label(claim, keys)}: **{'holds' if holds else 'does not hold'}** at this budget: "
                     f"{side_a} {_pm(low['mean'], low['std'])} vs {side_b} {_pm(high['mean'], high['std'])}; "
                     f"{_overlap(low, high)}; {_budget_difference(low, high)}. {_thesis_verdict(claim, a, b)}.")
    return lines or ["- not checked: no group has both sides run in this profile"]


def claims_text(table: str, summaries: dict[str, pd.DataFrame]) -> str:
    """The claims printed under ``table``: each with its source, then one verdict per group ("" if none)."""
    blocks = [f"**{c.says}** ({c.source}):\n\n" + "\n".join(check(c, summaries)) for c in claims_of(table)]
    if not blocks:
        return ""
    return "### The thesis's claims, checked on these rows\n\n" + "\n\n".join(blocks) + "\n"
