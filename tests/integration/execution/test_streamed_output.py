"""A streamed execute hands its output over as it comes, through a bounded Redis list: all of it,
in order, with the reply at the end; the list is gone after."""

from __future__ import annotations

from typing import Any

import redis

from agent_client.client import AgentClient
from contract.naming import output_key


def test_a_large_output_streams_whole_and_in_order(client: AgentClient, make_kernel: Any, redis_url: str) -> None:
    k = make_kernel()
    got: list[tuple[str, Any]] = []
    code = "import sys\nfor i in range(3000):\n    print(f'{i:06d}' + 'x' * 2000)\nprint('oops', file=sys.stderr)"
    reply = client.execute_streaming(lambda kind, data: got.append((kind, data)), session_id=k.session_id,
                                     kernel_id=k.kernel_id, mode="query", code=code, flush_timeout=30)
    while reply["status"] == "continued":
        reply = client.execute_streaming(lambda kind, data: got.append((kind, data)), session_id=k.session_id,
                                         kernel_id=k.kernel_id, mode="continue", run_id=reply["runId"],
                                         flush_timeout=30)
    assert reply["status"] == "finished" and reply["exitCode"] == 0 and reply["console"] == []
    stdout = "".join(d for kind, d in got if kind == "stdout").splitlines()
    assert [line[:6] for line in stdout] == [f"{i:06d}" for i in range(3000)]
    assert "".join(d for kind, d in got if kind == "stderr") == "oops\n"
    assert len(got) > 2  # it came in pieces, not in one reply


def test_nothing_of_a_streamed_call_is_left_in_redis(client: AgentClient, make_kernel: Any, redis_url: str) -> None:
    k = make_kernel()
    r = redis.Redis.from_url(redis_url)
    before = set(r.scan_iter("agent-output:*"))
    reply = client.execute_streaming(lambda kind, data: None, session_id=k.session_id, kernel_id=k.kernel_id,
                                     mode="query", code="print(1)", flush_timeout=5)
    assert reply["status"] == "finished"
    assert set(r.scan_iter("agent-output:*")) == before and output_key("x") == "agent-output:x"
    r.close()
