"""agentctl's answers: --json on every command, failures as one readable line."""

from __future__ import annotations

import argparse
import json

import pytest
import redis
from celery.exceptions import TimeoutError as ResultTimeout

from agent_client.agents import AgentStatus
from agent_client.cli.agents import agents_table
from agent_client.cli.errors import describe_error, without_password
from agent_client.cli.main import build_parser, main
from contract.errors import KernelNotFound


def leaf_parsers(parser: argparse.ArgumentParser, path: str = "agentctl") -> list[tuple[str, argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    return [leaf for name, sub in subs[0].choices.items() for leaf in leaf_parsers(sub, f"{path} {name}")]


def test_every_command_takes_json() -> None:
    leaves = leaf_parsers(build_parser())
    assert len(leaves) >= 20
    for path, parser in leaves:
        assert "--json" in parser._option_string_actions, path


def test_json_may_come_before_or_after_the_command() -> None:
    p = build_parser()
    assert p.parse_args(["--json", "kernel", "list"]).json is True
    assert p.parse_args(["kernel", "list", "--json"]).json is True
    assert p.parse_args(["kernel", "list"]).json is False


def test_an_unreachable_redis_is_one_line_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--redis-url", "redis://:s3cret@127.0.0.1:1/0", "agents"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("agentctl: RedisUnreachable: cannot reach Redis at redis://:***@127.0.0.1:1/0")
    assert "s3cret" not in err


def test_with_json_a_failure_is_a_json_object_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--redis-url", "redis://127.0.0.1:1/0", "agents", "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert json.loads(err)["error"]["type"] == "RedisUnreachable"


def test_errors_are_described_by_type_and_message() -> None:
    args = argparse.Namespace(redis_url="redis://h/0", timeout=5.0)
    assert describe_error(KeyError("kernel k is not known"), args) == ("KeyError", "kernel k is not known")
    assert describe_error(KernelNotFound("k"), args) == ("KernelNotFound", "kernel k is not known to this agent")
    assert describe_error(ResultTimeout(), args)[1].startswith("no result within 5 s (--timeout)")
    assert describe_error(redis.ConnectionError("refused"), args)[0] == "RedisUnreachable"
    assert without_password("redis://h:6379/0") == "redis://h:6379/0"


def test_the_agents_table_shows_id_group_kernels_and_heartbeat_age() -> None:
    table = agents_table([AgentStatus("gpu-01", "agent.gpu-01", "gpu", "local", 3, 100.0),
                          AgentStatus("cpu-7", "agent.cpu-7")], now=112.4)
    assert table.splitlines() == [
        "ID      SCALING GROUP  KERNELS  LAST HEARTBEAT",
        "gpu-01  gpu                  3  12 s ago",
        "cpu-7   -                    -  -",
    ]
