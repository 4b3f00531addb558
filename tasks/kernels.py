"""Tasks: kernels (see docs/architecture.md)."""
