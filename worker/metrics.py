"""The agent's Prometheus metrics, and their HTTP endpoint (`metrics_port`; off unless set).

Recorded whether or not the endpoint is on (a counter costs a microsecond); each Host has its own
registry, so several agents in one process (tests) never mix their figures.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
EXECUTE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class AgentMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.stage_seconds = Histogram("kernel_agent_stage_seconds", "Seconds each creation stage took",
                                       ["stage"], registry=r, buckets=STAGE_BUCKETS)
        self.creations = Counter("kernel_agent_kernel_creations", "Kernel creations by outcome (created, failed)",
                                 ["outcome"], registry=r)
        self.destroys = Counter("kernel_agent_kernel_ends", "Kernels ended (destroyed, died, cleaned), by reason",
                                ["reason"], registry=r)
        self.live_kernels = Gauge("kernel_agent_live_kernels", "Kernels this agent holds now (any state)",
                                  registry=r)
        self.execute_seconds = Histogram("kernel_agent_execute_seconds", "Seconds one execute step took, by mode",
                                         ["mode"], registry=r, buckets=EXECUTE_BUCKETS)
        self.runner_reconnects = Counter("kernel_agent_runner_connections",
                                         "New connections to kernels' runners (none reused)", registry=r)
        self.pull_bytes = Counter("kernel_agent_image_pull_bytes", "Bytes of image layers pulled", registry=r)

    def count_live_kernels(self, count: Callable[[], int]) -> None:
        """Make the live-kernels gauge read `count()` at each scrape."""
        self.live_kernels.set_function(count)


class MetricsServer:
    """The `/metrics` endpoint in a thread of its own."""

    def __init__(self, metrics: AgentMetrics, port: int, address: str) -> None:
        self._server: WSGIServer
        self._thread: threading.Thread
        self._server, self._thread = start_http_server(port, address, registry=metrics.registry)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
