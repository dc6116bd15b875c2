"""Layer 5, thesis: each chapter's tables and figures as cells for the Runner.

``chapter3`` (DC), ``chapter4`` (DSA), ``chapter5`` (DM), and the applications across chapters:
``continual_runs`` (Figs. 3.4, 4.3, 5.6, 5.7), ``nas_runs`` (Tables 3.4, 4.6, 5.5). They never
import each other: what two of them share lives in ``runs``. Imports every lower layer; only ``cli`` is above.
"""
