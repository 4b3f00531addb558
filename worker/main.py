"""`agent-worker`: start this host's worker (named agent@<id>, consuming agent.<id>, threads pool),
once its Redis answers. Settings that do not validate stop it before anything starts, with exit
status 78 (EX_CONFIG), which its supervisors (scripts/run-agent, the systemd unit) do not restart:
starting again cannot fix them."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from worker.config import AgentSettings, load_settings

EX_CONFIG = 78


def worker_argv(extra: list[str], s: AgentSettings | None = None) -> list[str]:
    """`celery worker` options for this host (settings read now unless given), then `extra`."""
    s = s or load_settings()
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
    from worker.shared_redis.pool import use
    from worker.shared_redis.wait import wait_for_redis

    try:
        s = load_settings()
    except ValidationError as e:
        wrong = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        print(f"agent-worker: the settings are not valid (docs/operations.md lists them): {wrong}", file=sys.stderr)
        raise SystemExit(EX_CONFIG) from None
    use(s.redis_url, s.worker_name)
    wait_for_redis(s.redis_url)
    # `celery -A worker.app worker ...` in this process (still named agent-worker to ps and a
    # supervisor): celery's own entry point exits with the worker's status (a crash is non-zero, so a
    # supervisor restarts it), which `app.worker_main` would drop.
    from celery.__main__ import main as celery_main

    sys.argv = ["celery", "-A", "worker.app", *worker_argv(sys.argv[1:], s)]
    celery_main()


if __name__ == "__main__":
    main()
