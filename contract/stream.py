"""The items of a streamed `execute`'s output list (contract.naming.output_key): one Redis list
entry each, a kind byte then its data, so text is never JSON-encoded on the way.

    b"o" + UTF-8 text   stdout
    b"e" + UTF-8 text   stderr
    b"j" + JSON         any other console item, as `[kind, data]` (media, html, ...)
    b"E" + JSON         the end of this task's output: the reply (status, runId, exitCode, options)
"""

from __future__ import annotations

import json
from typing import Any

STDOUT, STDERR, OTHER, END = b"o", b"e", b"j", b"E"


def encode_item(kind: str, data: Any) -> bytes:
    if kind == "stdout" and isinstance(data, str):
        return STDOUT + data.encode("utf-8", "replace")
    if kind == "stderr" and isinstance(data, str):
        return STDERR + data.encode("utf-8", "replace")
    return OTHER + json.dumps([kind, data]).encode()


def encode_end(reply: dict[str, Any]) -> bytes:
    return END + json.dumps(reply).encode()


def decode_item(raw: bytes) -> tuple[str, Any]:
    """`(kind, data)` of one item; kind "end" carries the reply."""
    tag, body = raw[:1], raw[1:]
    if tag == STDOUT:
        return "stdout", body.decode("utf-8", "replace")
    if tag == STDERR:
        return "stderr", body.decode("utf-8", "replace")
    if tag == END:
        return "end", json.loads(body)
    kind, data = json.loads(body)
    return str(kind), data
