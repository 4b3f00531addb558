"""The Celery settings that put the agent's app on its Redis: the shared-pool transport and result
backend (worker/shared_redis/transport.py, backend.py), for a plain Redis or through Sentinel."""

from __future__ import annotations

from typing import Any

from contract.redis_target import celery_redis_settings, parse_redis_url
from worker.shared_redis import pool

_HERE = "worker.shared_redis"


def app_redis_settings(url: str, client_name: str, broker_options: dict[str, Any],
                       backend_options: dict[str, Any]) -> dict[str, Any]:
    """Celery settings for `url` (the agent's `redis_url`), merged over the app's own transport
    options; also makes `url` this process's Redis for the shared pool."""
    pool.use(url, client_name)
    target = parse_redis_url(url)
    conf = celery_redis_settings(target)
    kind = "Sentinel" if target.uses_sentinel else "Redis"
    if target.uses_sentinel:
        # One sentinel, no password, in the broker URL: with several, kombu would switch the
        # connection to the next one on errors, and switching re-derives the transport from the
        # URL (the stock one). The transport itself asks every sentinel of the setting, with the
        # setting's credentials.
        host, port = target.sentinels[0]
        broker_url = f"sentinel://{host}:{port}/{target.db}"
    else:
        broker_url = target.url
    conf.update(
        broker_url=broker_url,
        broker_transport=f"{_HERE}.transport:{kind}Transport",
        result_backend=f"{_HERE}.backend:{kind}Backend+{conf['result_backend']}",
        broker_transport_options={**broker_options, **conf["broker_transport_options"],
                                  "client_name": client_name},
        result_backend_transport_options={**backend_options, **conf["result_backend_transport_options"]},
    )
    return conf
