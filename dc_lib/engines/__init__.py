"""Layer 2, engines: training and testing networks on a set, the evaluation protocol.

``evaluation`` is the plain reference loop (the teaching path); ``stacked`` (GPU), ``side_by_side``
(CPU cores) and ``compiled`` (``torch.compile``) are fast paths that give its numbers up to float
rounding. Imports only ``core``.
"""
