"""A failure as one line a person can act on: the error's type and message, no traceback."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit, urlunsplit

import redis
from celery.exceptions import TimeoutError as ResultTimeout


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def describe_error(e: BaseException, args: argparse.Namespace) -> tuple[str, str]:
    """(type, message) of a failure."""
    if isinstance(e, redis.ConnectionError | redis.TimeoutError):
        return "RedisUnreachable", f"cannot reach Redis at {without_password(args.redis_url)}: {e}"
    if isinstance(e, redis.AuthenticationError | redis.ResponseError) and "auth" in str(e).lower():
        return "RedisAuthFailed", f"Redis at {without_password(args.redis_url)} refused the password: {e}"
    if isinstance(e, ResultTimeout):
        return "TimeoutError", f"no result within {args.timeout:g} s (--timeout); the task may still be running"
    if isinstance(e, KeyError) and len(e.args) == 1:
        return type(e).__name__, str(e.args[0])  # str(KeyError) would quote the message
    return type(e).__name__, str(e) or repr(e)
