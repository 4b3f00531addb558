"""Celery tasks (thin), their contract models, and the manager-side client and CLI."""
