"""Layer 2, engines: training and testing networks on a set, the evaluation protocol.

``evaluation`` holds the protocol's settings (``EvalConfig``) and the plain reference loop (the
teaching path); ``choose`` picks the loop or a fast path (``evaluate_set``); ``stacked`` (GPU), ``side_by_side``
(CPU cores) and ``compiled`` (``torch.compile``) are fast paths that give its numbers up to float
rounding. Imports only ``core``.
"""
