"""Sweeps: settings varied over a grid of runs, and the comparison grid drawn from them."""
