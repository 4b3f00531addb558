"""The manager-side client: typed calls to one host's agent over Celery.

Every signature it builds carries the host's queue and an expiry (a chain's queue option routes
only its first step, so each step gets its own), and it refuses at once when the host's worker is
not alive instead of leaving a message in a queue nobody consumes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from celery import Celery, Signature, states
from celery.exceptions import TimeoutError as ResultTimeout
from celery.result import AsyncResult

from agent_client.redis_clients import redis_client, wait_for_replica
from contract import operations
from contract.errors import AgentUnavailable
from contract.naming import liveness_key, output_key, queue_name
from contract.redaction import contains_secret, redacted_repr
from contract.redis_target import celery_redis_settings, parse_redis_url
from contract.stream import decode_item
from contract.wire import JSON_ONLY

# A worker seen alive is trusted this long without asking Redis again (its key lives 6 s anyway);
# a worker seen dead is asked about on every call, so one that comes up is used at once.
LIVENESS_CACHE_S = 1.0
# While waiting for a result, the backend's key is also read this often: a result published while
# the client's pub/sub connection was being re-made (Redis restarted, a Sentinel failover) is
# otherwise never heard of.
RESULT_RECHECK_S = 2.0
STREAM_POLL_S = 0.5  # seconds a streamed execute waits for output before it looks at the task


def make_client_app(redis_url: str) -> Celery:
    """A Celery app for managers: json only, results from the agents' backend, no tasks of its own;
    `redis_url` is a plain Redis or a Sentinel URL (contract/redis_target.py)."""
    app = Celery("agent-client", set_as_current=False)
    app.conf.update({**JSON_ONLY, **celery_redis_settings(parse_redis_url(redis_url))}, task_send_sent_event=True,
                    result_extended=True, broker_connection_retry_on_startup=True)
    return app


def wait_for(result: AsyncResult, timeout: float) -> Any:
    """`result.get(timeout)`, raising the task's error, that also reads the result's key every
    RESULT_RECHECK_S instead of only listening for it."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            return result.get(timeout=max(0.01, min(RESULT_RECHECK_S, left)), propagate=True)
        except ResultTimeout:
            if result.state in states.READY_STATES:  # read from the key; get() now answers from it
                return result.get(timeout=1, propagate=True)
            if left <= RESULT_RECHECK_S:
                raise


class AgentClient:
    """Calls operations of the agent `agent_id`; `call` waits for the result, `send` does not."""

    def __init__(self, agent_id: str, redis_url: str, *, app: Celery | None = None,
                 expires: float = 600.0, default_timeout: float = 60.0) -> None:
        self.agent_id = agent_id
        self.queue = queue_name(agent_id)
        self.app = app or make_client_app(redis_url)
        self.expires = expires
        self.default_timeout = default_timeout
        self._redis = redis_client(redis_url)
        self._replicated = parse_redis_url(redis_url).uses_sentinel
        self._alive_until = 0.0

    def signature(self, operation: str, **kwargs: Any) -> Signature:
        """`agent.<operation>` with these keyword arguments, routed to this host's queue."""
        return self.app.signature(f"agent.{operation}", kwargs=kwargs, queue=self.queue,
                                  routing_key=self.queue, expires=self.expires)

    def ensure_alive(self) -> None:
        """Raise AgentUnavailable unless the host's worker is alive (a positive answer is cached)."""
        now = time.monotonic()
        if now < self._alive_until:
            return
        if not self._redis.exists(liveness_key(self.agent_id)):
            raise AgentUnavailable(f"no live worker for agent {self.agent_id!r} (queue {self.queue}); "
                                   "is `agent-worker` running on that host?")
        self._alive_until = now + LIVENESS_CACHE_S

    def send(self, operation: str, **kwargs: Any) -> AsyncResult:
        """Enqueue the operation; registry passwords never show in what Flower and `celery events`
        display of the message (its `kwargsrepr`). Through Sentinel, it returns once a replica has
        the message; a Redis error then (the master died) means the task may not have been taken."""
        self.ensure_alive()
        sig = self.signature(operation, **kwargs)
        result = sig.apply_async(kwargsrepr=redacted_repr(kwargs)) if contains_secret(kwargs) else sig.apply_async()
        if self._replicated:
            wait_for_replica(self._redis)
        return result

    def call(self, operation: str, *, wait: float | None = None, **kwargs: Any) -> Any:
        """Run the operation and return its result, waiting up to `wait` seconds (the operation's
        own arguments, `timeout` included, are all in `kwargs`); its error is raised here with the
        spec's type. The result of an operation that only reads (code output, file contents) is
        removed from the backend once read: it can be large and is of no use to anyone else."""
        result = self.send(operation, **kwargs)
        value = wait_for(result, wait or self.default_timeout)
        if operations.operation(operation).reads_only:
            result.forget()
        return value

    def execute_streaming(self, on_output: Callable[[str, Any], None], *, wait: float | None = None,
                          **kwargs: Any) -> dict[str, Any]:
        """One `execute` step with its output handed to `on_output(kind, data)` as it comes (streamed
        through a Redis list, never held whole anywhere); returns the reply (its console empty)."""
        result = self.send("execute", stream=True, **kwargs)
        key = output_key(result.id)
        deadline = time.monotonic() + (wait or self.default_timeout)
        try:
            while time.monotonic() < deadline:
                popped = self._redis.blpop([key], timeout=STREAM_POLL_S)
                if popped is None:
                    if result.ready():
                        result.get(propagate=True)  # its error, if it failed before streaming
                    continue
                raw = popped[1]
                kind, data = decode_item(raw if isinstance(raw, bytes) else raw.encode())
                if kind == "end":
                    return dict(data)
                on_output(kind, data)
            raise TimeoutError(f"execute sent no end of its output within {wait or self.default_timeout:g} s")
        finally:
            result.forget()
            self._redis.delete(key)

    # typed shortcuts for the common operations
    def ping(self, msg: str) -> str:
        return str(self.call("ping", msg=msg))

    def gather_hwinfo(self) -> dict[str, Any]:
        return dict(self.call("gather_hwinfo"))

    def update_scaling_group(self, scaling_group: str) -> None:
        self.call("update_scaling_group", scaling_group=scaling_group)

    def create_local_network(self, network_name: str) -> None:
        self.call("create_local_network", network_name=network_name)

    def destroy_local_network(self, network_name: str) -> None:
        self.call("destroy_local_network", network_name=network_name)

    def close(self) -> None:
        self._redis.close()
