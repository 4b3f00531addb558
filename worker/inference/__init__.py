"""Inference kernels: their model services, started by the runner at creation and restart, and a
bounded background monitor of their health (docs/inference.md)."""
