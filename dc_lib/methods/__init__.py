"""Layer 3, methods: the thesis's algorithms and baselines that make a small set.

``gradient_matching`` (DC, Algorithm 1; DSA, Algorithm 2), ``gradient_probe`` (its in-loop
gradients, Figure 4.5), ``distribution_matching`` (DM, Algorithm 3), ``baselines`` (random, herding, k-center, forgetting coresets) and ``condense``
(every method by name, for the command line and your own data). Each method's hyperparameters are
one dataclass beside it (``DMConfig``, ``GMConfig``). Imports ``core`` and ``engines``.
"""
