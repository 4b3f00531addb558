"""Tasks: lifecycle (see docs/architecture.md)."""
