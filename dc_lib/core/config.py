"""One config, three profiles: every budget of every chapter lives here.

* ``smoke``: seconds per notebook; what CI and nbval run. Numbers are meaningless.
* ``cpu``:   a laptop or a 2-core CI-class machine, about 1.5 hours per chapter.
             Reduced (fewer iterations, smaller real batches, fewer networks,
             fewer evaluation epochs, fewer datasets); every table says so.
* ``paper``: the thesis protocol (hyperparameters.md sections 0.1, 3.2, 7) for a GPU box.

A result row records its profile and ``Profile.budget()``, so a reduced number
can never pass for a thesis-protocol number.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace

from .speed import Speed


@dataclass(frozen=True)
class NetworkPoolPlan:
    """The trained networks Table 5.4's DM draws from (:func:`dc_lib.methods.network_pool.train_pool`).

    Attributes:
        nets: networks trained from different seeds (thesis: 1,000).
        epochs: epochs each is trained (the thesis does not say).
        keep_every: SGD steps between kept states (each also kept before its first step).
        val_size: validation images carved from the training set; states are grouped by their accuracy on them.
        train_size: train on at most this many of the remaining training images (None = all; smoke only).
    """

    nets: int
    epochs: int
    keep_every: int
    val_size: int
    train_size: int | None = None

    def budget(self) -> str:
        return (f"pool_nets={self.nets};pool_epochs={self.epochs};pool_keep_every={self.keep_every};"
                f"pool_val={self.val_size}" + (f";pool_train={self.train_size}" if self.train_size else ""))


@dataclass(frozen=True)
class Chapter5Plan:
    """Which chapter 5 experiments a profile runs.

    Attributes:
        table_5_1: (datasets, ipcs) for DM and random selection (Table 5.1).
        whole: also train on the whole training set (the upper bound row).
        table_5_2: (dataset, ipc) pairs for the instance- vs batch-norm comparison.
        figure_5_5: (dataset, ipcs) for the larger-set curve, DM vs random.
        figure_5_2: (dataset, ipc) pairs whose DM sets are drawn (Figure 5.2).
        mmd: also run the pixel-space MMD baseline of Appendix B.2 on table_5_1's cells.
        imagenet: the ipcs of DM and random selection on ImageNet-1K at 64x64 (section 5.3.2's prose;
            thesis 1, 10, 50); () = not run.
        figure_5_3: Figure 5.3's t-SNE as (dataset, ipc, classes, real images per class): the DC, DSA
            and DM sets of the first ``classes`` classes among that many real images, all embedded by a
            network trained on the whole set (thesis: CIFAR10, 50 ipc, 3 classes); None = not drawn.
        table_b_t1: Table B.T1's (datasets, ipcs): random, the three small generators, pixel MMD and DM
            (thesis: CIFAR10 at 1, 10, 50).
        generator_steps: training steps of each Table B.T1 generator (GMMN, VAE, GAN).
        table_5_3: Table 5.3's (dataset, ipc): DSA condensed with ConvNet-BN and DM condensed with
            ConvNet-BN, AlexNet-BN, VGG11-BN and ResNet18-BN, each set evaluated on the four BN
            networks (thesis: CIFAR10, 50 ipc); None = not run. ``table_5_3_dm_archs``: the networks DM
            condenses with there (None = all four).
        figure_5_4: Figure 5.4's (dataset, ipc, snapshots): one timed DSA run and one timed DM run,
            each set evaluated at ``snapshots`` points of its run, against the wall time spent to
            reach them on the machine that ran it (thesis: CIFAR10, 50 ipc, one GTX 1080); None = not run.
        table_5_4: Table 5.4's (dataset, ipcs): DM drawing its embedding network from fresh ones (DM's own),
            from each validation-accuracy group of trained ConvNets' states, and from all of them (thesis:
            CIFAR10 at 1, 10, 50); None = not run. ``network_pool``: how those ConvNets are trained.
    """

    table_5_1: tuple[tuple[str, ...], tuple[int, ...]]
    whole: bool
    table_5_2: tuple[tuple[str, int], ...]
    figure_5_5: tuple[str, tuple[int, ...]]
    figure_5_2: tuple[tuple[str, int], ...]
    mmd: bool = False
    imagenet: tuple[int, ...] = ()
    figure_5_3: tuple[str, int, int, int] | None = None
    table_b_t1: tuple[tuple[str, ...], tuple[int, ...]] = ((), ())
    generator_steps: int = 0
    table_5_3: tuple[str, int] | None = None
    table_5_3_dm_archs: tuple[str, ...] | None = None
    figure_5_4: tuple[str, int, int] | None = None
    table_5_4: tuple[str, tuple[int, ...]] | None = None
    network_pool: NetworkPoolPlan | None = None


@dataclass(frozen=True)
class DistillationPlan:
    """Which DD-comparison experiments a profile runs (notebook 09: Tables 3.3, A.T10, A.T11, Figure A.F4).

    Attributes:
        pairs: (dataset, network) of Tables 3.3 / A.T11, the network condensing and evaluating both
            methods (thesis: MNIST with LeNet, CIFAR10 with AlexCifarNet).
        dc_ipcs: DC's ipcs in Table 3.3 (thesis 1 and 10); DD runs at ``dd_ipc`` (10, its only one).
        dd_iterations: DD's outer iterations (None = its paper's 400 epochs of ``dd_batch_real`` real
            images, ~23k on MNIST); ``dd_batch_real``: real images per DD iteration (1024).
        a_t10_archs: networks that train the LeNet-learned MNIST sets of Table A.T10 (thesis: all six of
            Table 3.2); DD's sets train every one of the six (30 SGD steps cost nothing).
        cost_iterations: outer iterations of DC and of DD timed for Table A.T11 (each a fresh network).
        whole: the whole-set bound of each pair's network (Table 3.3).
    """

    pairs: tuple[tuple[str, str], ...]
    dc_ipcs: tuple[int, ...]
    dd_ipc: int = 10
    dd_iterations: int | None = None
    dd_batch_real: int = 1024
    a_t10_archs: tuple[str, ...] = ()
    cost_iterations: tuple[int, int] = (1, 1)
    whole: bool = False


@dataclass(frozen=True)
class GradientMatchingPlan:
    """Which chapter 3/4 experiments a profile runs (Tables 3.1 and 4.1, Figures 3.2, 3.3, 4.2).

    Attributes:
        datasets, ipcs: the grid of Tables 3.1 / 4.1.
        curve_ipcs: extra ipcs for Figure 3.3 (DC and herding vs ipc) on ``datasets[0]``.
        dc_init: ``noise`` (thesis) or ``real`` (the cpu profile: comparable per A.1, converges faster).
        eval_epochs: epochs of every evaluation network of the chapter (None = the profile's
            ``eval_epochs`` with augmentation, ``eval_epochs_plain`` without).
        cross_arch: (condensing archs, evaluation archs) of the cross-architecture table
            (3.2 / 4.3, MNIST 1 ipc); the condensing archs are also A.T7's.
        ablations: which appendix ablation tables to run (``A.T2`` ... ``A.T7``; chapter 3).
        ablate_condensing: False runs only the ablation rows that need no new condensation: the
            default condensing ConvNet (reusing Table 3.1's set), and A.T7's rows with DC's own distance
            (Table 3.2's sets); the rest are listed as not run, but for A.T7's ``distance_archs``.
        distance_archs: architectures (C = T) on which Table A.T7 runs every distance, each a new
            condensation, whatever ``ablate_condensing`` says (cpu: the three small networks).
        ors_draws: random coresets drawn for the optimal-random-selection baseline (A.T8, one
            network each; thesis 1000); 0 = not run. ``ors_ipcs``: its ipcs.
        whole: also train on the whole training set of each of ``datasets`` (Table 3.1's upper-bound
            row; the thesis's other tables repeat it, so only chapter 3's plan runs it).
        per_op, per_op_ipc: Table 4.5's DSA transformations to run (``none``, an op, or
            ``combination``) and its ipc (thesis 10).
        schemes: Table 4.4's (dataset, ipc, schemes, ops) to run (thesis: CIFAR10, 10 ipc, all
            seven schemes x crop/flip/scale/rotate); None = not run.
        evolution: Figure 4.6's (dataset, ipc, K): DSA from noise and from real images with
            snapshots; None = not run.
        cifar100_ipcs: the ipcs on CIFAR100 of Table 4.2 (chapter 4's plan) and Table A.T9 (chapter 3's):
            thesis 1 and 10; () = not run.
        same_evaluation: (datasets, ipcs) on which chapter 4 evaluates its herding, DC and DSA sets
            both ways, with the MNIST crop/scale/rotate and with DSA augmentation (a check beside
            Table 4.1, not in the thesis); None = not run.
        arch_epochs: evaluation epochs per evaluation architecture, overriding ``eval_epochs`` for
            it, e.g. ``(("vgg11", 500),)``: the larger networks of the cross-architecture tables need
            more epochs than a ConvNet to converge on a tiny set.
        sensitivity: Figure A.F2's (datasets, ipc, rounds, snapshots): one DC run of K outer iterations per
            T in ``rounds`` (ς_θ as the ipc's schedule), its set evaluated at ``snapshots`` values of K along
            the run (thesis: MNIST, FashionMNIST, SVHN, CIFAR10 at 10 ipc; the T and K it tried are not
            printed); None = not run.
        dsa_iterations_multi: K for this chapter's DSA sets above 1 ipc (None = the profile's
            ``gm_iterations_multi``); lets a chapter spend spare time on DSA without rerunning
            the DC and coreset rows it copies from chapter 3.
    """

    datasets: tuple[str, ...]
    ipcs: tuple[int, ...]
    curve_ipcs: tuple[int, ...] = ()
    dc_init: str = "noise"
    eval_epochs: int | None = None
    cross_arch: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
    ablations: tuple[str, ...] = ()
    ablate_condensing: bool = True
    distance_archs: tuple[str, ...] = ()
    ors_draws: int = 0
    ors_ipcs: tuple[int, ...] = ()
    whole: bool = False
    per_op: tuple[str, ...] = ()
    per_op_ipc: int = 10
    schemes: tuple | None = None
    evolution: tuple | None = None
    cifar100_ipcs: tuple[int, ...] = ()
    same_evaluation: tuple[tuple[str, ...], tuple[int, ...]] | None = None
    dsa_iterations_multi: int | None = None
    arch_epochs: tuple[tuple[str, int], ...] = ()
    sensitivity: tuple[tuple[str, ...], int, tuple[int, ...], int] | None = None

    def __post_init__(self):
        unknown = [a for a in self.distance_archs if a not in ARCHS]
        if unknown:  # a misspelt network would silently drop its A.T7 cells
            raise ValueError(f"distance_archs: unknown architecture(s) {unknown}; valid: {', '.join(ARCHS)}")


@dataclass(frozen=True)
class Profile:
    """A named set of budgets.

    Attributes:
        dm_iterations: K for DM (thesis: 20000; 10000 for 64x64 datasets).
        batch_real: real images per class per DM iteration (thesis: 256).
        num_sets: small sets per table cell (thesis: 5).
        num_nets: evaluation networks per set (thesis: 20).
        eval_epochs: epochs to train each evaluation network (authors' code: 1000
            with augmentation, i.e. for DSA and DM sets).
        whole_epochs: epochs for whole-dataset networks (not stated; we use the
            same recipe as for the small sets).
        test_limit: test on the first N test images only (None = whole test split).
        checkpoint_every: DM iterations between checkpoints.
        progress: show tqdm bars (off in smoke so nbval outputs are stable).
        eval_epochs_plain: epochs for evaluation without augmentation (authors: 300).
        gm_iterations: K for DC/DSA at 1 ipc (thesis: 1000 outer iterations).
        gm_iterations_multi: K for DC/DSA above 1 ipc (None = gm_iterations); an outer
            iteration at 10 ipc costs ~40x one at 1 ipc (T = 10 matches, 9 x 50 network epochs).
        gm_batch_real: real images per class per gradient match (thesis: 256).
        feature_epochs: epochs of the whole-set network behind herding, k-center, forgetting (the
            forgetting counts are taken over this run, so it must be long enough for them to spread).
        coreset_pool: the first N training images per class that the coreset network trains on and
            the selectors choose from (None = the whole training set; smoke only).
        baseline_draws: sets per random / coreset cell (None = ``num_sets``): their sets cost nothing
            to make, and a single draw says more about the draw than about the method.
        draw_nets: evaluation networks per random / coreset draw (None = ``num_nets``). With several draws
            the spread between draws is the uncertainty that matters (MNIST 1 ipc: 20 random draws span
            48.9-71.7 %, the networks of one draw 1-2 points), so networks are better spent on draws.
        feature_nets: distinct coreset networks per dataset; draw ``d`` uses network ``d % feature_nets``
            (None = one per draw, each trained with its own seed).
        coreset_fraction: each coreset draw selects from a seeded random fraction of every class
            (1.0 = the whole class). With one network, this is what makes herding / k-center draws differ
            (the thesis does not say how its 5 runs of a deterministic selector differ).
        whole_nets: networks of the whole-dataset bound (None = ``num_nets``).
        compile: run condensation and evaluation networks through ``torch.compile`` (speed only,
            equal up to float rounding; :mod:`dc_lib.engines.compiled`). Off in smoke, whose notebook
            outputs nbval compares bit for bit, and in paper (not measured on CUDA).
    """

    name: str
    description: str
    dm_iterations: int
    batch_real: int
    num_sets: int
    num_nets: int
    eval_epochs: int
    whole_epochs: int
    test_limit: int | None
    checkpoint_every: int
    progress: bool
    chapter5: Chapter5Plan = field(repr=False, default=None)
    eval_epochs_plain: int = 300
    gm_iterations: int = 1000
    gm_iterations_multi: int | None = None
    gm_batch_real: int = 256
    feature_epochs: int = 10
    coreset_pool: int | None = None
    compile: bool = False
    baseline_draws: int | None = None
    draw_nets: int | None = None
    feature_nets: int | None = None
    coreset_fraction: float = 1.0
    whole_nets: int | None = None
    chapter3: GradientMatchingPlan = field(repr=False, default=None)
    chapter4: GradientMatchingPlan = field(repr=False, default=None)
    distillation: DistillationPlan = field(repr=False, default=None)

    def budget(self) -> str:
        """A compact, stable description stored with every result row."""
        test = "full" if self.test_limit is None else str(self.test_limit)
        return (f"K={self.dm_iterations};batch_real={self.batch_real};sets={self.num_sets};"
                f"nets={self.num_nets};epochs={self.eval_epochs};test={test}")

    @property
    def reduced(self) -> bool:
        return self.name != "paper"

    @property
    def speed(self) -> Speed:
        """The profile's speed-only switches (nothing in them changes a number beyond float rounding)."""
        return Speed(compile=self.compile)

    def as_dict(self) -> dict:
        return asdict(self)


# The architectures of the cross-architecture tables (3.2, 4.3, A.T7), as the thesis names them.
ARCHS = ("mlp", "convnet", "lenet", "alexnet", "vgg11", "resnet18")

# Evaluation epochs of the larger networks on a 1-ipc set (cpu), where more stop helping: measured with
# benchmarks/cross_arch_epochs.py on chapter 3's MNIST DC set, 3 networks (README, Table 3.2): LeNet
# 80.8 / 85.9 / 86.1 at 200 / 500 / 1000 epochs, AlexNet 78.1 / 84.4 / 85.1, VGG11 76.1 / 81.1 / 82.7.
CPU_ARCH_EPOCHS = (("lenet", 500), ("alexnet", 500), ("vgg11", 1000), ("resnet18", 500))

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="seconds; checks that everything runs (numbers are meaningless)",
        dm_iterations=5, batch_real=16, num_sets=1, num_nets=1, eval_epochs=4, whole_epochs=1,
        test_limit=500, checkpoint_every=2, progress=False,
        chapter5=Chapter5Plan(table_5_1=(("mnist",), (1,)), whole=False,
                              table_5_2=(("mnist", 1),), figure_5_5=("mnist", (1, 2)),
                              figure_5_2=(("mnist", 1),), mmd=True, figure_5_3=("mnist", 1, 3, 20),
                              table_b_t1=(("mnist",), (1,)), generator_steps=2, table_5_3=("mnist", 1),
                              figure_5_4=("mnist", 1, 3), table_5_4=("mnist", (1,)),
                              network_pool=NetworkPoolPlan(nets=1, epochs=2, keep_every=1, val_size=20,
                                                           train_size=100)),
        eval_epochs_plain=4, gm_iterations=1, gm_batch_real=8, feature_epochs=2, coreset_pool=40,
        chapter3=GradientMatchingPlan(("mnist",), (1,), curve_ipcs=(), dc_init="noise",
                                      cross_arch=(("convnet",), ("mlp", "convnet")), ablations=("A.T2",),
                                      ors_draws=3, ors_ipcs=(1,), sensitivity=(("mnist",), 1, (1, 2), 2)),
        chapter4=GradientMatchingPlan(("mnist",), (1,), cross_arch=(("convnet",), ("mlp", "convnet")),
                                      per_op=("none", "crop", "combination"), per_op_ipc=1,
                                      schemes=("mnist", 1, ("ours", "C"), ("crop",)), evolution=("mnist", 1, 2),
                                      same_evaluation=(("mnist",), (1,))),
        distillation=DistillationPlan(pairs=(("mnist", "lenet"),), dc_ipcs=(1, 10), dd_iterations=2, dd_batch_real=64,
                                      a_t10_archs=("mlp", "lenet"), cost_iterations=(1, 1))),
    "cpu": Profile(
        name="cpu",
        description="reduced protocol for a 2-core CPU, about 2 h per chapter",
        dm_iterations=400, batch_real=64, num_sets=1, num_nets=3, eval_epochs=300, whole_epochs=2,
        test_limit=None, checkpoint_every=50, progress=True,
        # Table 5.1: DM and random on MNIST, FashionMNIST and the lossy CIFAR10 copy at 1/10 ipc, with the
        # whole-set bound (one network, 2 epochs; MNIST's and FashionMNIST's are copied from chapter 3's rows).
        # The analyses below (Tables 5.3, 5.4, B.T1, Figures 5.3, 5.4) are notebook 10's
        # (./reproduce.sh chapter5_analyses), so that each notebook's cpu run stays near 2 hours.
        chapter5=Chapter5Plan(table_5_1=(("mnist", "fashionmnist", "cifar10"), (1, 10)), whole=True,
                              table_5_2=(("mnist", 10),), figure_5_5=("mnist", (1, 5, 10)),
                              figure_5_2=(("mnist", 10), ("fashionmnist", 10)), mmd=False,
                              # Notebook 10, measured 2026-12-06 with --jobs 2: 138 min of jobs (268 min on one
                              # worker: Table 5.3 133, 5.4 76, B.T1 60) + Figure 5.4's 467 s, ~2.4 h in all, over
                              # the ~2 h target. t-SNE under a minute (chapter 3's FashionMNIST coreset network is
                              # reused); B.T1's generators 1500 steps each (the GAN's ~13 min on one worker).
                              figure_5_3=("fashionmnist", 10, 3, 300), table_b_t1=(("cifar10",), (1, 10)),
                              generator_steps=1500,
                              # Table 5.3 at CIFAR10 (lossy) 1 ipc, the thesis's 50 ipc being far beyond 2 cores:
                              # measured 2026-12-06 as 4 jobs of ~36 min each on one core, beside a test run (most
                              # of it the 4 BN networks' 300-epoch evaluations and 10k-image tests). Figure 5.4 at
                              # CIFAR10 1 ipc: DSA K = 200 against DM K = 400, 6 snapshots each, 467 s measured alone.
                              # ResNet18-BN condenses no DM set here: one DM iteration with it costs ~9 s on
                              # one core (K = 400: ~1 h, measured per iteration), as much as the other three
                              # condensers together. It still evaluates every set.
                              table_5_3=("cifar10", 1), table_5_3_dm_archs=("convnet_bn", "alexnet_bn", "vgg11_bn"),
                              figure_5_4=("cifar10", 1, 6),
                              # Table 5.4: 2 ConvNets x 3 epochs on the lossy CIFAR10, a state every 40 steps (~25 min
                              # on one core, measured), then DM at 1 ipc from each of the 9 distributions; a group no
                              # state reaches is listed as such.
                              table_5_4=("cifar10", (1,)),
                              network_pool=NetworkPoolPlan(nets=2, epochs=3, keep_every=40, val_size=5000)),
        # Chapters 3/4: one DC outer iteration costs (MNIST, batch_real 64, real init) 4.1 s at 1 ipc and
        # 159 s at 10 ipc (9 x 50 network steps on the set dominate); DSA 2.6 s and 169 s. K = 200 / 6
        # then cost ~14 / 16 min per set. 200 evaluation epochs and a 2000-image pool per class for the
        # coreset network keep each chapter near 2 hours on 2 cores. Chapter 4 copies DC and the coresets
        # from chapter 3 and spends the time saved on K = 12 for DSA at 10 ipc (K = 6 left DSA below
        # herding on MNIST: 95.0 vs 96.0 %).
        # Baselines: 5 draws x 1 network each (their sets cost nothing to make; one draw misled by 12 points at
        # MNIST 1 ipc, while the 3 networks of one draw agree within 1-2 points).
        # Coresets: one ConvNet per dataset trained 6 epochs on the whole training set (its forgetting counts
        # need a run that long to spread), each draw choosing from a seeded half of every class.
        eval_epochs_plain=300, gm_iterations=200, gm_iterations_multi=6, gm_batch_real=64,
        feature_epochs=6, coreset_pool=None, compile=True, baseline_draws=5, draw_nets=1, feature_nets=1, coreset_fraction=0.5,
        whole_nets=1,
        chapter3=GradientMatchingPlan(("mnist", "fashionmnist"), (1, 10), curve_ipcs=(), dc_init="real",
                                      eval_epochs=200, cross_arch=(("convnet",), ARCHS),
                                      ablations=("A.T2", "A.T3", "A.T4", "A.T5", "A.T6", "A.T7"),
                                      # The whole-set bound: one network, 2 epochs (whole_epochs), per dataset.
                                      ablate_condensing=False, ors_draws=20, ors_ipcs=(1,), whole=True,
                                      # A.T7 on the three small networks (C = T), as 8 new DC sets at 1 ipc:
                                      # VGG11 and ResNet18 condensing cost ~10x a ConvNet here (paper).
                                      distance_archs=("mlp", "convnet", "lenet"),
                                      # No Figure A.F2 (sensitivity=None): its K axis at 10 ipc would end at this
                                      # profile's K = 6 of the thesis's 1000 (an outer iteration with T = 10 costs
                                      # ~159 s here), short of where the choice of K is made.
                                      arch_epochs=CPU_ARCH_EPOCHS),
        chapter4=GradientMatchingPlan(("mnist", "fashionmnist"), (1, 10), eval_epochs=200, arch_epochs=CPU_ARCH_EPOCHS,
                                      cross_arch=(("convnet",), ARCHS), per_op=("combination",),
                                      evolution=("fashionmnist", 1, 50), same_evaluation=(("mnist",), (1, 10)),
                                      # Table 4.4 on the thesis's dataset (the lossy CIFAR10 copy) at 1 ipc, K = 200,
                                      # the seven schemes with crop, the op where they differ most in the thesis:
                                      # at 10 ipc this profile's K = 12 would compare unconverged sets.
                                      schemes=("cifar10", 1, ("ours", "A", "B", "C", "D", "E", "F"), ("crop",)),
                                      dsa_iterations_multi=12),
        # Notebook 09 (./reproduce.sh distillation), estimate (unmeasured as a whole) ~45 min on 2 cores: DD on MNIST/LeNet
        # (K = 2000 of 1024 real images: 0.4-0.6 s each measured on one busy core, ~15 min), DC with LeNet at 1 and 10 ipc (chapter 3's K), the
        # LeNet whole-set bound, A.T10's DC sets on four networks (VGG11 and ResNet18 at 10 ipc cost most:
        # paper), and 2 / 20 timed outer iterations of DC / DD for A.T11. CIFAR10/AlexCifarNet: paper.
        distillation=DistillationPlan(pairs=(("mnist", "lenet"),), dc_ipcs=(1, 10), dd_iterations=2000,
                                      a_t10_archs=("mlp", "convnet", "lenet", "alexnet"), cost_iterations=(2, 20),
                                      whole=True)),
    "paper": Profile(
        name="paper",
        description="the thesis protocol (GPU): K=20000, 5 sets x 20 networks, 1000 epochs",
        dm_iterations=20000, batch_real=256, num_sets=5, num_nets=20, eval_epochs=1000, whole_epochs=300,
        test_limit=None, checkpoint_every=500, progress=True,
        chapter5=Chapter5Plan(
            table_5_1=(("mnist", "cifar10", "cifar100", "tinyimagenet"), (1, 10, 50)), whole=True,
            table_5_2=(("cifar10", 50), ("cifar100", 50), ("tinyimagenet", 50)),
            figure_5_5=("cifar10", (100, 200, 500, 1000, 1250)),
            figure_5_2=(("mnist", 10), ("cifar10", 10)), mmd=True, imagenet=(1, 10, 50),
            figure_5_3=("cifar10", 50, 3, 500), table_b_t1=(("cifar10",), (1, 10, 50)), generator_steps=20000,
            table_5_3=("cifar10", 50), figure_5_4=("cifar10", 50, 8), table_5_4=("cifar10", (1, 10, 50)),
            # The thesis trains 1,000 ConvNets and keeps their intermediate states; 100 networks x 20 epochs
            # with a state every 250 steps (~1,400 states, ~1.8 GB) keep the pool in memory.
            network_pool=NetworkPoolPlan(nets=100, epochs=20, keep_every=250, val_size=5000)),
        eval_epochs_plain=300, gm_iterations=1000, gm_batch_real=256, feature_epochs=10, coreset_pool=None,
        chapter3=GradientMatchingPlan(("mnist", "fashionmnist", "svhn", "cifar10"), (1, 10, 50),
                                      curve_ipcs=(20, 30, 40), dc_init="noise", cross_arch=(ARCHS, ARCHS),
                                      ablations=("A.T2", "A.T3", "A.T4", "A.T5", "A.T6", "A.T7"),
                                      ors_draws=1000, ors_ipcs=(1, 10), whole=True, cifar100_ipcs=(1, 10),
                                      # Figure A.F2: T from 1 to 20 around the thesis's 10, K at 7 points up to 1000.
                                      sensitivity=(("mnist", "fashionmnist", "svhn", "cifar10"), 10, (1, 2, 5, 10, 20), 7)),
        chapter4=GradientMatchingPlan(("mnist", "fashionmnist", "svhn", "cifar10"), (1, 10, 50),
                                      cross_arch=(ARCHS, ARCHS),
                                      per_op=("none", "color", "crop", "cutout", "flip", "scale", "rotate",
                                              "combination"),
                                      schemes=("cifar10", 10, ("ours", "A", "B", "C", "D", "E", "F"),
                                               ("crop", "flip", "scale", "rotate")),
                                      evolution=("cifar10", 10, 1000), cifar100_ipcs=(1, 10)),
        distillation=DistillationPlan(pairs=(("mnist", "lenet"), ("cifar10", "alexcifarnet")), dc_ipcs=(1, 10),
                                      a_t10_archs=ARCHS, cost_iterations=(20, 200), whole=True)),
}


def get_profile(name: str, **overrides) -> Profile:
    """The profile ``name`` with optional field overrides (e.g. ``num_nets=2``).

    Raises ValueError for an unknown profile or field.
    """
    if name not in PROFILES:
        raise ValueError(f"Unknown profile {name!r}. Valid profiles: {', '.join(PROFILES)}")
    profile = PROFILES[name]
    unknown = set(overrides) - set(profile.as_dict())
    if unknown:
        raise ValueError(f"Unknown profile field(s) {sorted(unknown)}; valid: {sorted(profile.as_dict())}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return replace(profile, **overrides) if overrides else profile


def gm_iterations(profile: Profile, ipc: int, method: str = "dc", chapter: int | None = None) -> int:
    """K for DC/DSA at ``ipc`` images per class (``method``'s sets made by ``chapter``'s runs; chapter 5's
    DSA sets, Table 5.3 and Figure 5.4, are made as chapter 4 makes its own)."""
    plan = {3: profile.chapter3, 4: profile.chapter4, 5: profile.chapter4}.get(chapter)
    if ipc > 1 and method == "dsa" and plan is not None and plan.dsa_iterations_multi is not None:
        return plan.dsa_iterations_multi
    if ipc > 1 and profile.gm_iterations_multi is not None:
        return profile.gm_iterations_multi
    return profile.gm_iterations


def dm_iterations(profile: Profile, dataset: str) -> int:
    """K for DM: the thesis halves it (10000) for the 64x64 datasets (TinyImageNet, ImageNet-1K)."""
    if profile.name == "paper" and dataset in ("tinyimagenet", "imagenet1k"):
        return profile.dm_iterations // 2
    return profile.dm_iterations


@dataclass(frozen=True)
class SmallRun:
    """The budget of one condense-then-evaluate run: notebook 00 (quickstart), notebook 06 (your
    own data) and the defaults of the ``dc-lib`` command line.

    Attributes:
        iterations: K, DM outer iterations (thesis: 20000).
        gm_iterations: K, DC/DSA outer iterations (thesis: 1000).
        batch_real: real images per class per iteration (thesis: 256).
        nets: evaluation networks per set; the random baseline gets as many fresh draws,
            one network each (thesis: 20 networks on each of 5 sets).
        epochs: epochs per evaluation network (authors' code: 1000 with DSA augmentation).
        test_limit: test on the first N test images only (None = the whole test split).
        feature_epochs: epochs of the network behind herding, k-center and forgetting.
        checkpoint_every: iterations between checkpoints.
    """

    iterations: int
    gm_iterations: int
    batch_real: int
    nets: int
    epochs: int
    test_limit: int | None = None
    feature_epochs: int = 10
    checkpoint_every: int = 100

    def budget(self) -> str:
        """A compact, stable description stored with every result row."""
        test = "full" if self.test_limit is None else str(self.test_limit)
        return (f"K={self.iterations};batch_real={self.batch_real};nets={self.nets};"
                f"epochs={self.epochs};test={test}")


# Quickstart (notebook 00): MNIST, DM at 10 ipc against random real images. ``cpu`` is sized to
# stay under 5 minutes on 2 cores (README, measured); ``paper`` is the thesis protocol.
QUICKSTART: dict[str, SmallRun] = {
    "smoke": SmallRun(iterations=5, gm_iterations=1, batch_real=16, nets=1, epochs=4, test_limit=500,
                      feature_epochs=1, checkpoint_every=2),
    # Measured (README): K = 200 took 126 s and 6 networks x 100 epochs 200 s (5.6 min in all), so 50 epochs.
    "cpu": SmallRun(iterations=200, gm_iterations=20, batch_real=64, nets=3, epochs=50, checkpoint_every=50),
    "paper": SmallRun(iterations=20000, gm_iterations=1000, batch_real=256, nets=20, epochs=1000,
                      checkpoint_every=500),
}

# Your own data (notebook 06 and the ``dc-lib`` defaults, which take ``cpu``).
OWN_DATA: dict[str, SmallRun] = {
    "smoke": SmallRun(iterations=5, gm_iterations=1, batch_real=16, nets=1, epochs=5, feature_epochs=1,
                      checkpoint_every=2),
    "cpu": SmallRun(iterations=1000, gm_iterations=200, batch_real=64, nets=5, epochs=300, checkpoint_every=100),
    "paper": SmallRun(iterations=20000, gm_iterations=1000, batch_real=256, nets=20, epochs=1000,
                      checkpoint_every=500),
}


@dataclass(frozen=True)
class ContinualPlan:
    """Which continual-learning runs a profile makes (notebook 07, :mod:`dc_lib.runs.continual`), and their
    budgets as ``(field, value)`` pairs over ``EEILConfig`` / ``GDumbConfig``'s thesis defaults.

    Attributes:
        eeil_stream: the task-incremental stream (thesis: svhn, mnist, usps).
        eeil_methods, eeil_kd: memories and KD settings run (thesis Fig. 4.3: herding, DC, DSA; KD yes/no).
        eeil_budget: overrides of EEILConfig (iterations, runs ...).
        gdumb_datasets: datasets joined into one class space (thesis: cifar100 alone).
        gdumb_steps, gdumb_methods: splits and memories run (thesis: 5 and 10; random, herding, DSA, DM).
        gdumb_budget: overrides of GDumbConfig.
        train_per_class: keep only the first N training images of each class of every dataset
            (smoke: seconds); None = all.
    """

    eeil_stream: tuple[str, ...]
    eeil_methods: tuple[str, ...]
    eeil_kd: tuple[bool, ...]
    eeil_budget: tuple[tuple[str, object], ...]
    gdumb_datasets: tuple[str, ...]
    gdumb_steps: tuple[int, ...]
    gdumb_methods: tuple[str, ...]
    gdumb_budget: tuple[tuple[str, object], ...]
    train_per_class: int | None = None

    def budget(self, protocol: str) -> str:
        """The overrides of ``protocol`` (``eeil`` or ``gdumb``) as stored with every row."""
        pairs = (self.eeil_budget if protocol == "eeil" else self.gdumb_budget)
        pairs += ((("train_per_class", self.train_per_class),) if self.train_per_class else ())
        return ";".join(f"{k}={v}" for k, v in pairs) or "thesis"


# The thesis's streams need SVHN and CIFAR-100, which these machines do not have: ``cpu`` runs the
# same protocols on substitute streams (named as such in every table): MNIST -> USPS for E2E/EEIL,
# MNIST + FashionMNIST as 20 classes for GDumb, with the costly DC/DSA memories left out.
CONTINUAL: dict[str, ContinualPlan] = {
    "smoke": ContinualPlan(
        eeil_stream=("mnist", "usps"), eeil_methods=("herding", "dm"), eeil_kd=(False, True),
        eeil_budget=(("memory_ipc", 2), ("iterations", 2), ("finetune_iterations", 1), ("test_per_task", 200),
                     ("batch", 32), ("dm_iterations", 2), ("batch_real", 8), ("runs", (0,))),
        gdumb_datasets=("mnist",), gdumb_steps=(5,), gdumb_methods=("random", "herding", "dm"),
        gdumb_budget=(("ipc", 2), ("orders", (0,)), ("nets", 1), ("epochs", 2), ("dm_iterations", 2),
                      ("batch_real", 8), ("feature_epochs", 1), ("test_limit", 500)),
        train_per_class=60),
    "cpu": ContinualPlan(
        eeil_stream=("mnist", "usps"), eeil_methods=("random", "herding", "dm"), eeil_kd=(False, True),
        # Sized to under an hour on 2 cores: 100 + 20 SGD steps of 128 images per stage (thesis 5000 + 500,
        # batch not stated), 2 runs / class orders (thesis 5), DM memories K = 100, GDumb retraining 50
        # epochs tested on 2000 images, the first 2000 training images of each class.
        eeil_budget=(("iterations", 100), ("finetune_iterations", 20), ("batch", 128), ("dm_iterations", 100),
                     ("batch_real", 64), ("runs", (0, 1))),
        gdumb_datasets=("mnist", "fashionmnist"), gdumb_steps=(5, 10), gdumb_methods=("random", "herding", "dm"),
        gdumb_budget=(("ipc", 10), ("orders", (0, 1)), ("nets", 1), ("epochs", 50), ("dm_iterations", 100),
                      ("batch_real", 64), ("feature_epochs", 1), ("test_limit", 2000)),
        train_per_class=2000),
    "paper": ContinualPlan(
        eeil_stream=("svhn", "mnist", "usps"), eeil_methods=("herding", "dc", "dsa"), eeil_kd=(False, True),
        eeil_budget=(), gdumb_datasets=("cifar100",), gdumb_steps=(5, 10),
        gdumb_methods=("random", "herding", "dsa", "dm"), gdumb_budget=()),
}


@dataclass(frozen=True)
class NASPlan:
    """One architecture search a profile runs (notebook 08, :mod:`dc_lib.runs.nas`) and its budget.

    Attributes:
        table: the thesis table whose protocol this search follows (``3.4``, ``4.6``, ``5.5``); a
            search on other data than the thesis's CIFAR-10 is a substitute and says so.
        dataset: the thesis: cifar10 (here only as a lossy copy).
        candidates: how many candidates to sample (None = all of the (sub-)space).
        widths: the widths W of the space searched (None = the thesis's 32, 64, 128, 256); a narrower
            space is a stated reduction (the wide, unpooled ConvNets cost up to 15x a default one).
        proxies: proxy sets (random, herding, dc, dsa, dm); ``early_stopping`` and ``whole`` always run.
        ipc: images per class of the proxy sets (thesis: 10 in 3.4 and 4.6, 50 in 5.5).
        proxy_epochs, batch: training of a candidate on a proxy (thesis 3.4: 100; 4.6: 300; 5.5: 200
            epochs, batch 250; 3.4/4.6's batch 100 follows from their early-stopping storage).
        augment: train candidates with the dataset's DSA augmentation (thesis 5.5: every proxy and early
            stopping; 4.6: DSA's own protocol; 3.4: DC's, none on CIFAR-10).
        whole_epochs: the ground truth's training on the whole training split (thesis: 100).
        repeats: trainings per candidate, averaged (thesis: 5).
        validation: the validation split, images (thesis 3.4/4.6: 5000) or a fraction (5.5: 0.1).
        top: Spearman over the proxy's top ``top`` candidates (an int; thesis 3.4: 10) or that fraction
            (4.6/5.5: 0.05).
        dm_iterations, gm_iterations, batch_real, feature_epochs: budgets of the condensed and herding proxies.
        train_per_class: first N training images per class only (smoke, cpu); None = all.
    """

    table: str
    dataset: str
    candidates: int | None
    proxies: tuple[str, ...]
    ipc: int
    proxy_epochs: int
    batch: int
    augment: bool
    whole_epochs: int
    repeats: int
    validation: int | float
    top: int | float
    dm_iterations: int
    gm_iterations: int
    batch_real: int
    feature_epochs: int
    train_per_class: int | None = None
    widths: tuple[int, ...] | None = None

    def budget(self) -> str:
        """The whole search: the sample, the statistic and :meth:`training_budget`."""
        n = "all" if self.candidates is None else self.candidates
        return (f"candidates={n};top={self.top}" + (f";widths={'/'.join(map(str, self.widths))}" if self.widths else "")
                + ";" + self.training_budget())

    def training_budget(self) -> str:
        """What decides a candidate's accuracy on a proxy (stored with every row): a larger sample or
        another top-k reuses the rows, a change in here redoes them."""
        return (f"ipc={self.ipc};proxy_epochs={self.proxy_epochs};batch={self.batch};augment={self.augment};"
                f"whole_epochs={self.whole_epochs};repeats={self.repeats};val={self.validation};"
                f"K_dm={self.dm_iterations};K_gm={self.gm_iterations};batch_real={self.batch_real};"
                f"feature_epochs={self.feature_epochs}"
                + (f";train_per_class={self.train_per_class}" if self.train_per_class else ""))


# The thesis's three searches on CIFAR-10 (hyperparameters.md, NAS under chapters 3, 4 and 5).
_PAPER_NAS = dict(dataset="cifar10", candidates=None, whole_epochs=100, repeats=5, gm_iterations=1000,
                  dm_iterations=20000, batch_real=256, feature_epochs=10)

NAS: dict[str, tuple[NASPlan, ...]] = {
    "smoke": (NASPlan(table="5.5", dataset="mnist", candidates=4, proxies=("random", "dm"), ipc=2, proxy_epochs=2,
                      batch=250, augment=True, whole_epochs=0, repeats=1, validation=100, top=3, dm_iterations=2,
                      gm_iterations=1, batch_real=8, feature_epochs=1, train_per_class=40),),
    # Sized by measurement (README, "Architecture search"): on 2 cores a W = 256, D = 4 candidate without
    # pooling trains about 15x slower than a W = 32 one, so the cpu search samples the narrower half of the
    # space (W 32/64: all of D, N, A, P) on FashionMNIST, 2000 training images per class, with Table 5.5's
    # proxy training (200 epochs, batch 250, DSA) at 10 ipc. Per candidate, one pass of that proxy training
    # sees 20k images, early stopping 50k and the 5-epoch ground truth 90k: with random and DM as the
    # proxies (DSA's bi-level loop and herding, Table 3.4's, left out for time), 40 candidates took 149 min
    # (2026-12-06, about 45 min of it beside test runs; a quiet run was not timed).
    "cpu": (NASPlan(table="5.5", dataset="fashionmnist", candidates=40, proxies=("random", "dm"), ipc=10,
                    proxy_epochs=200, batch=250, augment=True, whole_epochs=5, repeats=1, validation=0.1, top=10,
                    dm_iterations=400, gm_iterations=20, batch_real=64, feature_epochs=5, train_per_class=2000,
                    widths=(32, 64)),),
    "paper": (NASPlan(table="3.4", proxies=("random", "herding", "dc"), ipc=10, proxy_epochs=100, batch=100,
                      augment=False, validation=5000, top=10, **_PAPER_NAS),
              NASPlan(table="4.6", proxies=("random", "dsa"), ipc=10, proxy_epochs=300, batch=100, augment=True,
                      validation=5000, top=0.05, **_PAPER_NAS),
              NASPlan(table="5.5", proxies=("random", "dsa", "dm"), ipc=50, proxy_epochs=200, batch=250, augment=True,
                      validation=0.1, top=0.05, **_PAPER_NAS)),
}


def small_run(plan: dict[str, SmallRun], profile: str) -> SmallRun:
    """``plan[profile]`` (``QUICKSTART`` or ``OWN_DATA``); ValueError naming the valid profiles."""
    if profile not in plan:
        raise ValueError(f"Unknown profile {profile!r}. Valid profiles: {', '.join(plan)}")
    return plan[profile]


def notebook_profile(name: str) -> str:
    """The profile a notebook runs: ``$DC_PROFILE`` when set (the test suite sets ``smoke`` so nbval
    re-executes notebooks whose default is a longer run in seconds), else ``name``."""
    return os.environ.get("DC_PROFILE") or name
