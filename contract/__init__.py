"""The agent's contract with managers: what crosses Redis between them.

The bottom layer: request/response models of every operation, event models, error types and their
builtin mapping, task names, queue and worker naming, and the wire settings. It depends only on
pydantic (and the standard library); the worker, the Celery tasks and the manager-side client all
import it, and it imports none of them.
"""
