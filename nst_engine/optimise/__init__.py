"""Optimisation: the optimisers, the device L-BFGS, the Stepper (eager or CUDA graph), the divergence guard."""
