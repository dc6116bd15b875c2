"""Layer 1, core: what every other layer uses and nothing above it.

Datasets (``data``, ``own_data``), networks (``models``), differentiable Siamese augmentation
(``augment``), seeds and devices (``seeding``), atomic writes (``files``), the profiles and budgets
(``config``), the speed-only switches (``speed``), argument checks (``checks``), and the two artefacts every layer passes around: a
synthetic set (``synset``) and a condensation's checkpoint (``checkpoint``). Imports nothing from
``engines``, ``methods``, ``runs`` or ``thesis`` (tests/test_layers.py).
"""
