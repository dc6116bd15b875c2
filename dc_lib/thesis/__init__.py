"""Layer 5, thesis: each chapter's tables and figures as cells for the Runner.

``chapter3`` (DC), ``chapter4`` (DSA), ``chapter5`` (DM). The chapters never import each other:
what two chapters share lives in ``runs``. Imports every lower layer; only ``cli`` is above.
"""
