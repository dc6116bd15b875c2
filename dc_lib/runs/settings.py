"""The ``setting`` column of a result row, parsed into what it changes.

A setting is ``key=value`` pairs joined by ``;``, the thesis CSV's own spelling, e.g.
``act_c=sigmoid;act_t=relu`` (Appendix A.T2: sigmoid in the condensing network C,
ReLU in the evaluation network T). Keys:

* ``act_c/act_t`` (sigmoid, relu, leakyrelu), ``pool_c/pool_t`` (none, maxpool, avgpool),
  ``norm_c/norm_t`` (none, batchnorm, layernorm, instancenorm, groupnorm),
  ``depth_c/depth_t``, ``width_c/width_t``: ConvNet options of C or T (A.T2-T6);
* ``distance`` (ours, alias ours_layerwise_cosine; euclidean, cosine): the gradient distance of
  DC/DSA (A.T7);
* ``aug`` (none, combination, or one DSA op such as crop): the DSA transformations used to
  condense *and* to train the evaluation networks (Table 4.5);
* ``scheme`` (a-f, ours): where ``aug`` is applied (Table 4.4): ``a`` nowhere, ``b`` only when
  training the evaluation networks, ``c``/``d`` also on the real/synthetic side of every match,
  ``e`` Siamese in condensation only, ``f`` independently on both sides, ``ours`` = DSA.
  Its companions ``condense_real``, ``condense_syn`` and ``test_syn`` (the thesis's own
  spelling of the same scheme) are labels;
* ``eval_aug`` (classic, dsa, none): how the evaluation networks are trained, whatever the
  method's own protocol: the MNIST crop/scale/rotate of DC and the coresets, the dataset's DSA
  strategy, or no augmentation (the same-evaluation check beside Table 4.1). It is left out of
  ``canonical`` because every row's budget records the evaluation augmentation it used, and rows
  are shared only when their budgets agree too;
* ``net_distribution`` (random, a validation-accuracy group such as ``30-40`` or ``>=70``, all): the
  networks DM draws its embedding from (Table 5.4); ``random``, DM's own fresh networks, is the default;
* ``rounds`` (a positive integer): T, the matching rounds per outer iteration of DC/DSA, in place of the
  ipc's schedule (its network epochs between rounds, ς_θ, kept; Figure A.F2);
* ``iteration`` (a non-negative integer): the set as it stood after that many iterations of its
  condensation, a snapshot of one timed run (Figure 5.4); part of the experiment's identity, so a
  snapshot never shares rows with a finished set;
* ``norm`` alone and ``ors`` are labels: chapter 5 names its instance/batch-norm rows with
  ``norm`` (the architecture name carries the change); ``ors=N`` marks the N random draws of
  Table A.T8 (the profile's set count carries the change).

Two settings that differ only in default values describe the same experiment
(``act_c=relu;act_t=relu`` is Table 3.1's DC cell), which ``canonical`` captures so that
identical experiments are run once and shared between tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.augment import OPS
from ..core.models import ACTS, NORMS
from ..methods.network_pool import DISTRIBUTIONS, RANDOM

# The default ConvNet of the thesis (section 3.3.1): depth 3, width 128, instance norm, ReLU, avg pooling.
NETWORK_DEFAULTS = {"act": "relu", "pool": "avgpool", "norm": "instancenorm", "depth": "3", "width": "128"}
_POOLINGS = {"none": "none", "maxpool": "maxpooling", "avgpool": "avgpooling"}
_OVERRIDE_NAME = {"act": "act", "pool": "pooling", "norm": "norm", "depth": "depth", "width": "width"}
# Table A.T7's names for the distances of gradient_matching.gradient_distance; the thesis CSV spells
# DC's own distance ``ours_layerwise_cosine``.
DISTANCES = {"ours": "ours", "ours_layerwise_cosine": "ours", "euclidean": "mse", "cosine": "cos"}
# Table 4.4: scheme -> (how condensation augments the matched batches, None = not at all;
# whether the evaluation networks train with augmentation).
SCHEMES = {"a": (None, False), "b": (None, True), "c": ("real", True), "d": ("syn", True),
           "e": ("siamese", False), "f": ("independent", True), "ours": ("siamese", True)}
LABEL_KEYS = ("norm", "ors", "condense_real", "condense_syn", "test_syn")
EVAL_AUGS = ("classic", "dsa", "none")


@dataclass(frozen=True)
class Setting:
    """A parsed setting.

    Attributes:
        condense_net, eval_net: ``get_network`` overrides for C and T (ConvNet family only).
        metric: gradient distance name for ``condense_gm`` (``ours``, ``mse``, ``cos``).
        aug: DSA strategy for condensing and evaluating (``None`` = the method's default,
            ``"none"`` = no augmentation at all).
        scheme: Table 4.4's scheme (None = the method's own); ``sides`` (``condense_gm``'s
            argument, None = no augmentation while condensing) and ``test_aug`` follow from it.
        eval_aug: the evaluation networks' augmentation if fixed (``classic``, ``dsa``, ``none``;
            None = the method's own protocol).
        net_distribution: the networks DM draws from (Table 5.4; ``random`` = fresh ones, DM's own).
        rounds: T of DC/DSA (Figure A.F2; None = the ipc's schedule).
        condense_tag: the non-default condensing options, for naming the saved set.
        canonical: the whole setting without defaults and labels (experiment identity).
    """

    condense_net: dict = field(default_factory=dict)
    eval_net: dict = field(default_factory=dict)
    metric: str = "ours"
    aug: str | None = None
    scheme: str | None = None
    sides: str | None = "siamese"
    test_aug: bool = True
    eval_aug: str | None = None
    net_distribution: str = RANDOM
    rounds: int | None = None
    condense_tag: str = ""
    canonical: str = ""


def _network_value(key: str, value: str):
    if key == "act" and value not in ACTS:
        raise ValueError(f"act must be one of {ACTS}, got {value!r}")
    if key == "norm" and value not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {value!r}")
    if key == "pool":
        if value not in _POOLINGS:
            raise ValueError(f"pool must be one of {tuple(_POOLINGS)}, got {value!r}")
        return _POOLINGS[value]
    if key in ("depth", "width"):
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{key} must be a positive integer, got {value!r}")
        return int(value)
    return value


def parse_setting(setting: str) -> Setting:
    """Parse ``key=value;...`` (see the module docstring); raise ValueError on unknown keys or values."""
    pairs = {}
    for part in filter(None, (p.strip() for p in (setting or "").split(";"))):
        key, sep, value = part.partition("=")
        if not sep or not value:
            raise ValueError(f"Setting part {part!r} is not key=value (in {setting!r})")
        pairs[key.strip()] = value.strip().lower()
    condense, evaluate, canonical = {}, {}, {}
    metric, aug, scheme, eval_aug, networks, rounds = "ours", None, None, None, RANDOM, None
    for key, value in pairs.items():
        base, _, stage = key.rpartition("_")
        if stage in ("c", "t") and base in NETWORK_DEFAULTS:
            (condense if stage == "c" else evaluate)[_OVERRIDE_NAME[base]] = _network_value(base, value)
            if value != NETWORK_DEFAULTS[base]:
                canonical[key] = value
        elif key == "distance":
            if value not in DISTANCES:
                raise ValueError(f"distance must be one of {tuple(DISTANCES)}, got {value!r}")
            metric = DISTANCES[value]
            if metric != "ours":
                canonical[key] = value
        elif key == "aug":
            if value not in ("none", "combination") and value not in OPS:
                raise ValueError(f"aug must be none, combination or one of {OPS}, got {value!r}")
            aug = value
            if value != "combination":
                canonical[key] = value
        elif key == "scheme":
            if value not in SCHEMES:
                raise ValueError(f"scheme must be one of {tuple(SCHEMES)}, got {value!r}")
            scheme = value
        elif key == "eval_aug":
            if value not in EVAL_AUGS:
                raise ValueError(f"eval_aug must be one of {EVAL_AUGS}, got {value!r}")
            eval_aug = value
        elif key == "net_distribution":
            if value not in DISTRIBUTIONS:
                raise ValueError(f"net_distribution must be one of {DISTRIBUTIONS}, got {value!r}")
            networks = value
            if value != RANDOM:
                canonical[key] = value
        elif key == "rounds":
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"rounds must be a positive integer, got {value!r}")
            rounds = int(value)
            canonical[key] = str(rounds)
        elif key == "iteration":
            if not value.isdigit():
                raise ValueError(f"iteration must be a non-negative integer, got {value!r}")
            canonical[key] = str(int(value))
        elif key not in LABEL_KEYS:
            raise ValueError(f"Unknown setting key {key!r} in {setting!r}; valid: "
                             f"{', '.join(k + s for k in NETWORK_DEFAULTS for s in ('_c', '_t'))}, "
                             f"distance, aug, scheme, eval_aug, net_distribution, rounds, iteration, and the label {', '.join(LABEL_KEYS)}")
    sides, test_aug = SCHEMES[scheme or "ours"]
    if scheme not in (None, "ours"):
        canonical["scheme"] = scheme
        if sides is None and not test_aug:  # scheme a never augments: every op is the same experiment
            canonical.pop("aug", None)
    condense_keys = [k for k in canonical if k.endswith("_c") or k in ("distance", "aug", "rounds")]
    tag = {k: canonical[k] for k in condense_keys}
    if networks != RANDOM:  # a file name: ">=70" -> "ge70"
        tag["nets"] = networks.replace(">=", "ge")
    if sides is None:  # nothing augments the condensation, whatever the op
        tag.pop("aug", None)
        tag["sides"] = "none"
    elif sides != "siamese":
        tag["sides"] = sides
    return Setting(condense_net=condense, eval_net=evaluate, metric=metric, aug=aug, scheme=scheme,
                   sides=sides, test_aug=test_aug, eval_aug=eval_aug, net_distribution=networks, rounds=rounds,
                   condense_tag="_".join(f"{k}-{tag[k]}" for k in sorted(tag)),
                   canonical=";".join(f"{k}={canonical[k]}" for k in sorted(canonical)))


def canonical_setting(setting: str) -> str:
    """``parse_setting(setting).canonical``, or the setting as written where this library does not
    parse it (a thesis setting of another kind, such as ``cl=eeil;stage=T3``)."""
    try:
        return parse_setting(setting).canonical
    except ValueError:
        return setting
