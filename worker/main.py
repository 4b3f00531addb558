"""`agent-worker`: start this host's worker (named agent@<id>, consuming agent.<id>, threads pool)."""

from __future__ import annotations

import sys

from worker.config import load_settings


def worker_argv(extra: list[str]) -> list[str]:
    s = load_settings()
    return [
        "worker",
        "-n", s.worker_name,
        "-Q", s.queue,
        "-P", "threads",
        "-c", str(s.concurrency),
        "--without-gossip",
        "--without-mingle",
        "-l", "INFO",
        *extra,
    ]


def main() -> None:
    from worker.app import app

    app.worker_main(worker_argv(sys.argv[1:]))


if __name__ == "__main__":
    main()
