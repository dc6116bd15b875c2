"""Running table cells: make (or reuse) each small set, evaluate it, record the rows.

This is the glue the chapter notebooks call, so that a notebook stays a list of
cells to run plus a table and a figure. Every finished set is saved, and every
finished evaluation is written to the tidy CSV before the next one starts:
rerunning after an interruption skips what exists, and a DM condensation that
was cut off resumes from its checkpoint.
"""

from __future__ import annotations

import copy
import fcntl
import os
import warnings
from pathlib import Path

import pandas as pd
import torch

from ..core.augment import CLASSIC, default_strategy
from ..core.config import Profile, dm_iterations, gm_iterations
from ..core.data import DATASETS, DatasetInfo, DatasetNotFoundError, RealData, canonical_name, load_dataset
from ..core.seeding import derive_seed, make_generator, resolve_device
from ..core.synset import SetFileError, SyntheticSet
from ..core.checkpoint import Checkpointing
from ..core.files import atomic_write
from ..engines.choose import evaluate_set, evaluate_whole_dataset
from ..engines.evaluation import EvalConfig
from ..methods.dataset_distillation import DDConfig, condense_dd, evaluate_distilled
from ..methods.baselines import (embed_all, feature_network, select_forgetting, select_herding, select_k_center,
                                select_random)
from ..methods.distribution_matching import DMConfig, condense_dm, condense_mmd_pixels
from ..methods.generators import METHODS as GENERATORS
from ..methods.generators import GeneratorConfig, cached_generator, sample_set
from ..methods.gradient_matching import GMConfig, condense_gm, gm_method, loop_schedule
from ..methods.network_pool import RANDOM, group_states, train_pool
from .results import Cell, ResultStore, make_rows
from .settings import parse_setting

METHODS = ("dm", "mmd", "dc", "dsa", "dc_aug", "dd", "random", "herding", "kcenter", "forgetting", "gmmn", "vae",
           "biggan", "whole")
CORESETS = ("herding", "kcenter", "forgetting")
# The methods that learn a set, each called as fn(real, ipc, config, ...) with ``Runner.method_config``.
CONDENSERS = {"dm": condense_dm, "mmd": condense_mmd_pixels, "dc": condense_gm, "dsa": condense_gm,
              "dc_aug": condense_gm, "dd": condense_dd}
# The tables that compare DC with DD in DD's setting: on CIFAR10 the thesis trains with augmentation there,
# "as in DD" (A.1); DD's own random crops and flips, as DSA's crop and flip ops.
DD_COMPARISON = ("3.3", "A.T10", "A.T11")
DD_COMPARISON_AUG = "crop_flip"
# The thesis condenses with BN versions of VGG and ResNet (running statistics from real images,
# frozen) and a ResNet whose strided convolutions become stride 1 + average pooling (A.1); the
# evaluation networks use instance norm.
CONDENSING_VARIANT = {"vgg11": "vgg11_bn", "resnet18": "resnet18_ap_bn"}
# eta_S = 0.01 when the MLP condenses DC's set with DC's own distance (Table 3.2, stated; A.T7's MLP/ours value
# equals 3.2's MLP->MLP cell, so the same rate, an inference: hyperparameters.md). With A.T7's flattened distances
# the MLP keeps the 0.1 of every other network (stated); DSA's sets keep 0.1 on every network (its section states
# no exception).
LR_IMG_MLP_OURS = 0.01
# Table 5.3's DM with ResNet-18-BN condenses with the same stride-1 + average-pooling ResNet (B.1).
DM_CONDENSING_VARIANT = {"resnet18_bn": "resnet18_ap_bn"}


class Runner:
    """Runs cells for one chapter and profile, writing under ``out_dir``.

    Files: ``out_dir/results.csv`` (tidy rows of every table),
    ``out_dir/synsets/*.pt`` (the small sets, reused across tables).
    ``reuse_from``: other chapters' output folders whose identical experiments are copied
    instead of rerun (chapter 4 reuses chapter 3's coresets and DC, as the thesis does).
    """

    # False for a runner that only reads what jobs wrote (runs.jobs.Aggregator): a figure that runs its own
    # experiment outside the table cells (Figure 5.4's timed runs) then draws only the rows it finds.
    computes = True

    def __init__(self, profile: Profile, out_dir: str | os.PathLike, *, data_root=None,
                 device: str = "auto", seed: int = 0, reuse_from=()):
        self.profile = profile
        self.out_dir = Path(out_dir)
        self.data_root = data_root
        self.device = resolve_device(device)
        self.seed = seed
        self.store = ResultStore(self.out_dir / "results.csv")
        self.reuse = [ResultStore(Path(d) / "results.csv") for d in reuse_from]
        self._data: dict[str, RealData | str] = {}
        # Cells whose data was missing, per table: every table lists them as "data not available",
        # also tables whose notebook cell passes no not-run list of its own (tables.write_table).
        self.unavailable: dict[str, list[Cell]] = {}
        self._groups: dict[tuple, tuple[Path, int]] = {}  # Table 5.4's group files, once per runner
        self._features: dict[tuple, torch.Tensor] = {}  # coreset networks' embeddings of their pools

    # -- data -------------------------------------------------------------------------------
    def data(self, dataset: str) -> RealData | None:
        """The dataset on the compute device, or None if it is not available (see ``missing``)."""
        name = canonical_name(dataset)
        if name not in self._data:
            try:
                self._data[name] = load_dataset(name, self.data_root, self.device)
            except DatasetNotFoundError as err:
                self._data[name] = str(err)
                # Once per dataset, so a run without its data says where it looked (the message lists it).
                print(f"{name}: data not available. {err}")
        value = self._data[name]
        return value if isinstance(value, RealData) else None

    @staticmethod
    def info(dataset: str) -> DatasetInfo:
        """What is known of a dataset without its data (shape, classes, normalisation)."""
        return DATASETS[canonical_name(dataset)]

    def missing(self, dataset: str) -> str:
        """Why a dataset is unavailable ('' if it is available)."""
        self.data(dataset)
        value = self._data[canonical_name(dataset)]
        return value if isinstance(value, str) else ""

    # -- sets -------------------------------------------------------------------------------
    def synset_path(self, cell: Cell, set_idx: int) -> Path:
        tag = parse_setting(cell.setting).condense_tag
        return (self.out_dir / "synsets"
                / f"{cell.dataset}_ipc{cell.ipc}_{cell.method}_{cell.condense_arch}{'_' + tag if tag else ''}"
                  f"_set{set_idx}.pt")

    def set_seed(self, cell: Cell, set_idx: int) -> int:
        return derive_seed(self.seed, cell.dataset, cell.ipc, cell.method, cell.condense_arch, set_idx)

    def synset(self, cell: Cell, set_idx: int = 0) -> SyntheticSet:
        """Load the set if it was made before with the same budget, else make and save it."""
        found = self.find_synset(cell, set_idx)
        return found if found is not None else self._make_synset(cell, set_idx)

    def find_synset(self, cell: Cell, set_idx: int = 0) -> SyntheticSet | None:
        """The set of ``cell`` made before with this budget (here or in a reused chapter's folder),
        or None: nothing is made (the figures that only draw the sets other cells made)."""
        path = self.synset_path(cell, set_idx)
        seed = self.set_seed(cell, set_idx)
        real = self.data(cell.dataset)
        if real is None:
            return None
        config = self.method_config(cell, real)
        iterations = getattr(config, "iterations", 0)
        # A set made with the same seed and budget, here or by a chapter this one reuses, is the same set --
        # if it is a set of this data, ipc and method: a file copied in or left by another run must not be
        # scored as this cell's. A file that is unreadable or for other data is made again (with a warning).
        for candidate in (path, *(Path(store.path.parent) / "synsets" / path.name for store in self.reuse)):
            if candidate.is_file():
                try:
                    syn = SyntheticSet.load(candidate, self.device)
                    syn.check_matches(real, ipc=cell.ipc, method=self.set_method(cell, real), where=str(candidate))
                except SetFileError as err:
                    warnings.warn(f"{err}; not reusing it: the set is made again and saved at {path}",
                                  RuntimeWarning, stacklevel=2)
                    continue
                expected_batch = getattr(config, "batch_real", None)
                networks = getattr(config, "networks", None)  # by file name: the folder may be spelled otherwise
                expected_rate = getattr(config, "lr_img", None)  # a set condensed at another eta_S is another set
                same_budget = (syn.config.get("batch_real", expected_batch) == expected_batch
                               and syn.config.get("lr_img", expected_rate) == expected_rate
                               and syn.config.get("networks") == (Path(networks).name if networks else None)
                               # a coreset chosen by another feature network or pool is another set
                               and (cell.method not in CORESETS or syn.config.get("coreset") == self.coreset_record()))
                if syn.seed == seed and syn.iteration == iterations and same_budget:
                    return syn
        return None

    def _make_synset(self, cell: Cell, set_idx: int) -> SyntheticSet:
        path = self.synset_path(cell, set_idx)
        seed = self.set_seed(cell, set_idx)
        real = self.data(cell.dataset)
        config = self.method_config(cell, real)
        if cell.method in CONDENSERS:
            # DC/DSA checkpoint after every outer iteration: one costs minutes at 10 ipc on CPU.
            every = 1 if isinstance(config, GMConfig) else self.profile.checkpoint_every
            syn = CONDENSERS[cell.method](real, cell.ipc, config, seed=seed, progress=self.profile.progress,
                                          speed=self.profile.speed,
                                          checkpoint=Checkpointing(path.with_suffix(".ckpt"), every, keep=True))
        elif cell.method == "random":
            syn = select_random(real, cell.ipc, seed=seed)
        elif cell.method in CORESETS:
            syn = self._select_coreset(cell, real, seed, set_idx)
        elif cell.method in GENERATORS:
            syn = sample_set(self.generator(cell, real, set_idx), real, cell.ipc, config, seed=seed)
        else:
            raise ValueError(f"Unknown method {cell.method!r}; valid: {', '.join(METHODS)}")
        syn.save(path)
        # Only now is the condensation safe on disk; until here the checkpoint is its only copy.
        path.with_suffix(".ckpt").unlink(missing_ok=True)
        return syn

    def method_config(self, cell: Cell, real: RealData) -> DMConfig | GMConfig | DDConfig | GeneratorConfig | None:
        """The hyperparameters with which the cell's set is condensed: the thesis's, with this
        profile's budget (K, real batch) and the cell's setting (Tables 4.4, 4.5, A.T2-A.T7);
        None for the selection baselines."""
        p = self.profile
        if cell.method == "dm":
            group = self.network_group(cell, real)
            return DMConfig(iterations=dm_iterations(p, cell.dataset), batch_real=p.batch_real,
                            arch=DM_CONDENSING_VARIANT.get(cell.condense_arch, cell.condense_arch),
                            networks=None if group is None else str(group[0]))
        if cell.method == "mmd":
            return DMConfig(iterations=dm_iterations(p, cell.dataset), batch_real=p.batch_real, embedding="pixels")
        if cell.method == "dd":
            return self.dd_config(cell, real)
        if cell.method in GENERATORS:
            return GeneratorConfig(cell.method, iterations=p.chapter5.generator_steps)
        if cell.method in ("dc", "dsa", "dc_aug"):
            setting = parse_setting(cell.setting)
            init, strategy, sides = self._gm_plan(cell, real)
            # Figure A.F2 varies T alone: the ipc's network epochs between rounds (ς_θ) stay.
            loops = None if setting.rounds is None else (setting.rounds, loop_schedule(cell.ipc)[1])
            rate = self.lr_img(cell)
            return GMConfig(iterations=self.gm_iterations(cell), batch_real=p.gm_batch_real, init=init, loops=loops,
                            dsa_strategy=strategy, metric=setting.metric, sides=sides,
                            **({"lr_img": rate} if rate is not None else {}),
                            arch=CONDENSING_VARIANT.get(cell.condense_arch, cell.condense_arch),
                            arch_overrides=setting.condense_net)
        return None

    @staticmethod
    def lr_img(cell: Cell) -> float | None:
        """eta_S of a DC cell where it is not GMConfig's 0.1 (the MLP under DC's own distance), else None."""
        if cell.method == "dc" and cell.condense_arch == "mlp" and parse_setting(cell.setting).metric == "ours":
            return LR_IMG_MLP_OURS
        return None

    def network_group(self, cell: Cell, real: RealData) -> tuple[Path, int] | None:
        """The file of trained states a DM cell of Table 5.4 draws its networks from (its setting's
        ``net_distribution``), and how many states it holds; None for DM's own fresh networks.

        The networks are trained once per dataset and architecture as the chapter 5 plan's ``network_pool``
        says, cached under ``pools/`` behind a file lock (the jobs of one results folder share one pool);
        a runner that only aggregates never trains them. A group no state reaches gets an empty file
        (:meth:`unrunnable` says so). The file is named by the pool's record, so a set drawn from another
        pool is never taken for this one's, and written once per runner from the pool as it is on disk.
        """
        group = parse_setting(cell.setting).net_distribution
        if group == RANDOM:
            return None
        key = (cell.dataset, cell.condense_arch, group)
        if key in self._groups:
            return self._groups[key]
        plan = self.profile.chapter5.network_pool
        if plan is None:
            raise ValueError(f"{cell}: the profile {self.profile.name!r} has no network_pool to draw from")
        folder = self.out_dir / "pools"
        cache = folder / f"{cell.dataset}_{cell.condense_arch}.pt"
        if not self.computes and not cache.is_file():
            raise FileNotFoundError(f"{cache}: the networks Table 5.4 draws from were not trained by the jobs; rerun "
                                    "them, or run the notebook with AGGREGATE_ONLY = False")
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{cache.name}.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one worker trains, the others then read its cache
            pool = train_pool(real, nets=plan.nets, epochs=plan.epochs, keep_every=plan.keep_every,
                              val_size=plan.val_size, train_size=plan.train_size, arch=cell.condense_arch,
                              progress=self.profile.progress, cache=cache,
                              seed=derive_seed(self.seed, "network pool", cell.dataset, cell.condense_arch))
            trained = derive_seed(0, *sorted(pool.record.items()))
            path = folder / f"{cell.dataset}_{cell.condense_arch}_{parse_setting(cell.setting).condense_tag}_{trained}.pt"
            states = group_states(pool, group)
            atomic_write(path, lambda tmp: torch.save(states, tmp))
        self._groups[key] = (path, len(states))
        return self._groups[key]

    def unrunnable(self, cell: Cell, real: RealData) -> str | None:
        """Why a cell cannot run at this budget whatever is rerun, or None: a Table 5.4 group that no state of
        the trained networks reaches."""
        group = self.network_group(cell, real) if cell.method == "dm" else None
        if group is not None and group[1] == 0:
            return (f"no state of the trained networks has a validation accuracy in "
                    f"{parse_setting(cell.setting).net_distribution} % at this budget")
        return None

    def generator(self, cell: Cell, real: RealData, set_idx: int = 0):
        """The small generator behind set ``set_idx`` of a Table B.T1 cell: one per dataset, method and set
        index, whatever the ipc (its samples are the sets), trained once and cached under ``generators/``."""
        config = self.method_config(cell, real)
        seed = derive_seed(self.seed, cell.dataset, cell.method, "generator", set_idx)
        cache = self.out_dir / "generators" / f"{cell.dataset}_{cell.method}_set{set_idx}.pt"
        return cached_generator(real, config, seed=seed, cache=cache, progress=self.profile.progress)

    def dd_config(self, cell: Cell, real: RealData) -> DDConfig:
        """DD's hyperparameters for a cell: its paper's, with the profile's K and real batch. The paper's
        K is 400 epochs of real batches (``dd_iterations=None``), its lr halved every 40 of them."""
        plan = self.profile.distillation
        per_epoch = -(-real.x_train.shape[0] // plan.dd_batch_real)
        iterations = plan.dd_iterations or 400 * per_epoch
        return DDConfig(iterations=iterations, batch_real=plan.dd_batch_real, arch=cell.condense_arch,
                        decay_every=max(1, iterations // 10))

    def eval_config(self, cell: Cell, real: RealData) -> EvalConfig:
        """The evaluation protocol of a cell's sets (:meth:`eval_protocol`, this profile's networks)."""
        strategy, epochs = self.eval_protocol(cell, real)
        p = self.profile
        return EvalConfig(epochs=epochs, num_nets=self.num_nets(cell), strategy=strategy, arch=cell.eval_arch,
                          arch_overrides=parse_setting(cell.setting).eval_net, test_limit=p.test_limit)

    def _gm_plan(self, cell: Cell, real: RealData) -> tuple[str, str | None, str]:
        """(init, DSA strategy, sides) with which a DC/DSA cell's set is condensed."""
        setting = parse_setting(cell.setting)
        if setting.scheme:  # Table 4.4: every scheme starts from real images, as DSA
            init, augmented = "real", setting.sides is not None
        else:
            init = self.profile.chapter3.dc_init if cell.method == "dc" else "real"
            augmented = cell.method != "dc"
        return init, self.dsa_strategy(cell, real) if augmented else None, setting.sides or "siamese"

    def set_method(self, cell: Cell, real: RealData) -> str:
        """The ``method`` the cell's set carries: the cell's, except where a DC/DSA cell's setting turns
        the augmentation off or away from Siamese (Tables 4.4, 4.5: e.g. a ``dsa`` cell with ``aug=none``
        condenses a ``dc`` set)."""
        if cell.method in ("dc", "dsa", "dc_aug"):
            _, strategy, sides = self._gm_plan(cell, real)
            return gm_method(strategy, sides)
        return cell.method

    def _select_coreset(self, cell: Cell, real: RealData, seed: int, set_idx: int = 0) -> SyntheticSet:
        """Herding / k-center / forgetting of draw ``set_idx``: network ``set_idx % feature_nets``, trained on
        the whole training set (cached on disk), chooses from a seeded ``coreset_fraction`` of each class."""
        p = self.profile
        pool = real if p.coreset_pool is None else _class_pool(real, p.coreset_pool)
        net, counts = self.coreset_network(real, set_idx)
        keep = _class_fraction(pool, p.coreset_fraction, seed)
        if cell.method in ("herding", "kcenter"):
            # The draws of one network share its embedding of the pool (computed once per runner, not per draw).
            key = (real.info.name, p.coreset_pool, self._feature_net(set_idx))
            if key not in self._features:
                self._features[key] = embed_all(net, pool.x_train)
            features = self._features[key][keep.to(self._features[key].device)]
        pool = RealData(pool.info, pool.x_train[keep], pool.y_train[keep], pool.x_test, pool.y_test, pool.source,
                        pool.note)
        if cell.method == "herding":
            syn = select_herding(pool, cell.ipc, net, seed, features=features)
        elif cell.method == "kcenter":
            syn = select_k_center(pool, cell.ipc, net, seed, features=features)
        else:
            syn = select_forgetting(pool, cell.ipc, counts[keep.cpu()], seed)
        syn.config = {**syn.config, "coreset": self.coreset_record()}
        return syn

    def coreset_record(self) -> dict:
        """What chooses a coreset besides its seed: the feature network's budget and the pool it chooses from
        (recorded in the saved set, so that a set chosen under another budget is never reused)."""
        p = self.profile
        return {"feature_epochs": p.feature_epochs, "pool": p.coreset_pool, "feature_nets": p.feature_nets,
                "fraction": p.coreset_fraction}

    def _feature_net(self, set_idx: int) -> int:
        """Which coreset network draw ``set_idx`` uses: ``set_idx % feature_nets`` (one per draw if None)."""
        return set_idx % self.profile.feature_nets if self.profile.feature_nets else set_idx

    def coreset_network(self, real: RealData, set_idx: int = 0):
        """``(net, counts)`` behind draw ``set_idx`` of the coreset cells on ``real``: network
        ``set_idx % feature_nets`` trained ``feature_epochs`` on the profile's pool (cached under
        ``out_dir/features``), and each training image's forgetting count over that run."""
        p = self.profile
        pool = real if p.coreset_pool is None else _class_pool(real, p.coreset_pool)
        net_idx = self._feature_net(set_idx)
        net_seed = derive_seed(self.seed, "features", *((net_idx,) if net_idx else ()))  # network 0: the seed of old
        name = Path("features") / f"{real.info.name}_pool{p.coreset_pool}_net{net_idx}.pt"
        # A reused chapter's network of the same name is the same network (its cache checks data, epochs, seed).
        cache = next((d / name for d in (self.out_dir, *(s.path.parent for s in self.reuse)) if (d / name).is_file()),
                     self.out_dir / name)
        return feature_network(pool, epochs=p.feature_epochs, seed=net_seed, cache=cache, progress=p.progress)

    def eval_protocol(self, cell: Cell, real: RealData) -> tuple[str | None, int]:
        """(augmentation, epochs) for training the evaluation networks of a cell.

        Chapter 5 and DSA sets: DSA augmentation (authors' DM/DSA code). DC and coreset
        sets (chapters 3/4): MNIST uses the classical crop/scale/rotate (thesis A.1), other
        datasets none. A setting's ``eval_aug`` overrides all of these. Epochs: the augmented
        budget, or ``eval_epochs_plain`` without augmentation, unless the chapter's plan fixes them.
        """
        scheme = parse_setting(cell.setting)
        if scheme.eval_aug is not None:
            strategy = (CLASSIC if scheme.eval_aug == "classic" else None if scheme.eval_aug == "none"
                        else self.dsa_strategy(cell, real))
            epochs = self.profile.eval_epochs if strategy else self.profile.eval_epochs_plain
        elif scheme.scheme:  # Table 4.4 decides whether the evaluation networks see augmentation
            strategy = self.dsa_strategy(cell, real) if scheme.test_aug else None
            epochs = self.profile.eval_epochs if strategy else self.profile.eval_epochs_plain
        elif cell.chapter == 5 or cell.method in ("dsa", "dm"):
            strategy, epochs = self.dsa_strategy(cell, real), self.profile.eval_epochs
        elif real.info.name == "mnist":
            strategy, epochs = CLASSIC, self.profile.eval_epochs
        elif cell.table in DD_COMPARISON:
            strategy, epochs = DD_COMPARISON_AUG, self.profile.eval_epochs
        else:
            strategy, epochs = None, self.profile.eval_epochs_plain
        plan = {3: self.profile.chapter3, 4: self.profile.chapter4}.get(cell.chapter)
        if plan is not None and plan.eval_epochs is not None:
            epochs = plan.eval_epochs
        if plan is not None:
            epochs = dict(plan.arch_epochs).get(cell.eval_arch, epochs)
        return strategy, epochs

    def gm_iterations(self, cell: Cell) -> int:
        """K of a DC/DSA cell (the chapter's plan may give its DSA sets more, ``config.gm_iterations``)."""
        return gm_iterations(self.profile, cell.ipc, cell.method, cell.chapter)

    @staticmethod
    def dsa_strategy(cell: Cell, real: RealData) -> str | None:
        """The DSA strategy of a cell: the thesis default, or the ``aug`` of its setting (Table 4.5)."""
        aug = parse_setting(cell.setting).aug
        if aug is None or aug == "combination":
            return default_strategy(real.info.name)
        return None if aug == "none" else aug

    def budget(self, cell: Cell, strategy: str | None, epochs: int) -> str:
        """The profile budget plus what this cell used beyond it (chapters 3/4, and any ``eval_aug``).

        The evaluation augmentation must be in it whenever a setting can change it: rows are shared
        between cells whose settings differ only in ``eval_aug`` exactly when their budgets agree.
        """
        p = self.profile
        draws = f";draws={self.num_sets(cell)}" if self.num_sets(cell) != p.num_sets else ""
        if self.num_nets(cell) != p.num_nets:
            draws += f";draw_nets={self.num_nets(cell)}"
        gm = f";K_gm={self.gm_iterations(cell)};batch_real_gm={p.gm_batch_real}"
        rate = self.lr_img(cell)
        if rate is not None:  # a rate of its own is part of what a row measured (claims name it)
            gm += f";lr_img={rate}"
        setting = parse_setting(cell.setting)
        if cell.chapter == 5 and setting.eval_aug is None:
            # Chapter 5's DSA sets (Table 5.3, Figure 5.4) are condensed with chapter 4's K and real batch;
            # Table 5.4's DM sets depend on how the networks they draw from were trained.
            pool = (f";{p.chapter5.network_pool.budget()}" if setting.net_distribution != RANDOM
                    and p.chapter5.network_pool is not None else "")
            return p.budget() + (gm if cell.method in ("dc", "dsa") else "") + pool + draws
        extra = f";eval_aug={strategy or 'none'};eval_epochs={epochs}"
        if cell.method in ("dc", "dsa", "dc_aug"):
            extra += gm
        if cell.method in CORESETS:
            extra += f";feature_epochs={p.feature_epochs};pool={p.coreset_pool or 'all'}"
            if p.feature_nets is not None or p.coreset_fraction != 1.0:
                extra += f";feature_nets={p.feature_nets or 'per draw'};fraction={p.coreset_fraction}"
        return p.budget() + extra + draws

    def cell_budget(self, cell: Cell, real: RealData) -> str:
        """The budget string a cell's rows carry (rows of another budget are redone, not reused)."""
        if cell.method in GENERATORS:  # the generator's training is part of what made the set
            steps = self.method_config(cell, real).iterations
            return self.budget(cell, *self.eval_protocol(cell, real)) + f";generator_steps={steps}"
        if cell.method == "dd":  # trained DD's way, by its learned steps (no epochs, no augmentation)
            config = self.dd_config(cell, real)
            return (f"{self.profile.budget()};K_dd={config.iterations};batch_real_dd={config.batch_real};"
                    f"eval=learned_steps")
        return self.whole_budget() if cell.method == "whole" else self.budget(cell, *self.eval_protocol(cell, real))

    def with_profile(self, profile: Profile) -> "Runner":
        """A runner of the same kind for ``profile``, writing into the same results and sharing the loaded
        data (Table A.T8 draws its random sets with other budgets); a planning runner plans with it."""
        other = copy.copy(self)
        other.profile = profile
        other._groups = {}  # another profile may train its networks otherwise
        return other

    def num_sets(self, cell: Cell) -> int:
        """Sets of a cell: 1 for the whole-set bound, ``baseline_draws`` for random and coreset cells
        (cheap to make), ``num_sets`` for condensed sets."""
        p = self.profile
        if cell.method == "whole":
            return 1
        if cell.method in ("random", *CORESETS) and p.baseline_draws is not None:
            return p.baseline_draws
        return p.num_sets

    def num_nets(self, cell: Cell) -> int:
        """Evaluation networks per set of a cell: ``draw_nets`` for random and coreset draws (when the profile
        sets it), ``num_nets`` otherwise."""
        p = self.profile
        if cell.method in ("random", *CORESETS) and p.draw_nets is not None:
            return p.draw_nets
        return p.num_nets

    def whole_budget(self) -> str:
        p = self.profile
        nets = p.whole_nets or p.num_nets
        return f"{p.budget()};whole_epochs={p.whole_epochs}" + (f";whole_nets={nets}" if nets != p.num_nets else "")

    # -- cells ------------------------------------------------------------------------------
    def cell_data(self, cell: Cell) -> RealData | None:
        """The data of a cell of a known method, or None (the cell is then listed as "data not available"
        by its table)."""
        if cell.method not in METHODS:
            raise ValueError(f"Unknown method {cell.method!r}; valid: {', '.join(METHODS)}")
        real = self.data(cell.dataset)
        if real is None and cell not in self.unavailable.setdefault(cell.table, []):
            self.unavailable[cell.table].append(cell)
        return real

    def run(self, cell: Cell, sets=None) -> str:
        """Run every missing set of ``cell`` (or of its set indices ``sets``: a job runs one set of a cell,
        ``dc_lib.runs.jobs``); return a status ('done', or why it was not run)."""
        real = self.cell_data(cell)
        if real is None:
            return "data not available"
        p = self.profile
        budget = self.cell_budget(cell, real)
        for set_idx in (range(self.num_sets(cell)) if sets is None else sets):
            # Rows of another budget are an experiment this profile no longer runs: redo and replace them.
            if self.store.has(cell, set_idx, p.name, budget):
                continue
            if self._copy_shared_rows(cell, set_idx, budget):
                continue
            why = self.unrunnable(cell, real)
            if why:
                return why
            seed = self.set_seed(cell, set_idx)
            eval_seed = derive_seed(seed, "eval", cell.eval_arch)
            if cell.method == "whole":
                protocol = EvalConfig(epochs=p.whole_epochs, num_nets=p.whole_nets or p.num_nets,
                                      arch=cell.eval_arch, test_limit=p.test_limit)
                accs = evaluate_whole_dataset(real, protocol, seed=eval_seed, progress=p.progress, speed=p.speed)
            elif cell.method == "dd":
                accs = evaluate_distilled(self.synset(cell, set_idx), real, arch=cell.eval_arch, num_nets=p.num_nets,
                                          seed=eval_seed, test_limit=p.test_limit)
            else:
                syn = self.synset(cell, set_idx)
                protocol = self.eval_config(cell, real)
                accs = evaluate_set(syn.images, syn.labels, real, protocol, seed=eval_seed, progress=p.progress,
                                    speed=p.speed)
            self.store.append(make_rows(cell, set_idx, seed, accs, profile=p.name, budget=budget,
                                        data_source=real.source, note=real.note))
        return "done"

    def _copy_shared_rows(self, cell: Cell, set_idx: int, budget: str) -> bool:
        """Reuse rows of the identical experiment recorded under another table (e.g. 5.1 -> 5.2).

        Identical: same data, method, architectures, set, profile and budget, and a setting that
        differs at most in default values and labels (``act_c=relu;act_t=relu`` is Table 3.1's cell).
        """
        canonical = parse_setting(cell.setting).canonical
        for store in (self.store, *self.reuse):
            df = store.load()
            if not len(df):
                continue
            same = df[(df.dataset == cell.dataset) & (df.ipc == cell.ipc) & (df.method == cell.method)
                      & (df.condense_arch == cell.condense_arch) & (df.eval_arch == cell.eval_arch)
                      & (df.set_idx == set_idx) & (df.profile == self.profile.name)
                      & (df.budget == budget)]
            same = same[[parse_setting(s).canonical == canonical for s in same.setting]]
            if len(same):
                first = same[same.table == same.table.iloc[0]]
                if store is not self.store:  # say where a number computed by another chapter's run came from
                    origin = f"run of {store.path.parent.parent.name}, Table {first.table.iloc[0]}"
                    first = first.assign(note=["; ".join(filter(None, (n, origin))) for n in first.note])
                self.store.append(first.assign(chapter=cell.chapter, table=cell.table,
                                               setting=cell.setting).to_dict("records"))
                return True
        return False

    def rows(self, table: str) -> pd.DataFrame:
        """Tidy rows of one table for this profile."""
        df = self.store.load()
        return df[(df.table == table) & (df.profile == self.profile.name)] if len(df) else df


def _class_fraction(real: RealData, fraction: float, seed: int) -> torch.Tensor:
    """Sorted training indices of a seeded random ``fraction`` of every class (all of them at 1.0)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"coreset_fraction must be in (0, 1], got {fraction!r}")
    if fraction == 1.0:
        return torch.arange(real.x_train.shape[0], device=real.device)
    gen = make_generator(derive_seed(seed, "coreset fraction"))
    keep = [idx[torch.randperm(idx.numel(), generator=gen)[:max(1, round(fraction * idx.numel()))].to(idx.device)]
            for idx in real.indices_class]
    return torch.cat(keep).sort().values


def _class_pool(real: RealData, per_class: int) -> RealData:
    """The first ``per_class`` training images of every class (the smoke profile's coreset pool)."""
    keep = torch.cat([idx[:per_class] for idx in real.indices_class])
    return RealData(real.info, real.x_train[keep], real.y_train[keep], real.x_test, real.y_test,
                    real.source, real.note)
