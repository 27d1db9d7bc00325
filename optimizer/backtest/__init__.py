"""Backtests: run the real controller on recorded data beside baselines and the optimum.

Submodules: `inputs` (loading and validating the user's files), `sessions` (sampling
plug-in sessions when the user has none), `optimum` (the perfect-foresight upper bound).
"""
