"""Tasks: execution (see docs/architecture.md)."""
