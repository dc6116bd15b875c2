"""dc_lib: a small library for dataset condensation (DC, DSA, DM).

Companion code for Bo Zhao's PhD thesis *Data-Efficient Neural Network
Training with Dataset Condensation* (Edinburgh, 2022).
"""

__version__ = "0.1.0"
