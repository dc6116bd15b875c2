"""Layer 4, runs: experiments that make or reuse sets, evaluate them and record the rows.

``experiments`` (the Runner), ``results`` (tidy rows, the thesis's numbers, summaries),
``tables`` (a table's cells, written with its profile line), ``settings`` (the key=value settings
of a cell), ``plotting`` (figures), ``comparison`` (a set against random real images), and the
applications' protocols that record rows: ``continual`` (continual learning with condensed memories)
and ``nas`` (architecture search with proxy sets). Imports ``core``, ``engines`` and ``methods``.
"""
