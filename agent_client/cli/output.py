"""How agentctl answers: text for people, or (`--json`) one JSON document on stdout for scripts;
progress on stderr (none with --json); a failure as one line on stderr (a JSON object with --json)."""

from __future__ import annotations

import json
import sys
from typing import Any


def to_json_text(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


class Output:
    def __init__(self, json_mode: bool) -> None:
        self.json = json_mode

    def result(self, data: Any, text: str | None = None) -> None:
        """The command's answer: `data` as JSON with --json; else `text` (data as JSON when there is none)."""
        if self.json or text is None:
            print(to_json_text(data))
        elif text:
            print(text)

    def record(self, data: Any, text: str) -> None:
        """One item of a stream (events as they come): a JSON line with --json, else `text`."""
        print(json.dumps(data, sort_keys=True, default=str) if self.json else text, flush=True)

    def progress(self, text: str, end: str = "\n") -> None:
        """Progress for a person (stderr); silent with --json."""
        if not self.json:
            print(text, end=end, file=sys.stderr, flush=True)

    def error(self, kind: str, message: str) -> None:
        if self.json:
            print(json.dumps({"error": {"type": kind, "message": message}}), file=sys.stderr)
        else:
            print(f"agentctl: {kind}: {message}", file=sys.stderr)
