"""Tasks: images (see docs/architecture.md)."""
