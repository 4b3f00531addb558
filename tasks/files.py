"""Tasks: files (see docs/architecture.md)."""
