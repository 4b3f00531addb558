"""The agent's connections to Redis: one pool per process shared by Celery's broker channels, the
result backend, the events producer and the liveness key (`pool.py`); the kombu transport and the
Celery result backend that use it (`transport.py`, `backend.py`); and the wait for Redis at start
(`wait.py`). docs/architecture.md, "Redis", says why.
"""
