"""What Flower and `celery events` show of a task must never hold a registry password."""

from __future__ import annotations

import threading
import time
from typing import Any

from agent_client.client import AgentClient


def test_task_events_of_a_push_sent_through_the_client_mask_the_password(client: AgentClient) -> None:
    from worker.app import app

    seen: list[dict[str, Any]] = []
    listening = threading.Event()
    receiver_box: list[Any] = []

    def listen() -> None:
        with app.connection_for_read() as conn:
            recv = app.events.Receiver(conn, handlers={"*": seen.append})
            receiver_box.append(recv)
            listening.set()
            recv.capture(limit=None, timeout=None, wakeup=True)

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert listening.wait(10)
    time.sleep(0.3)  # the receiver's queue is bound once capture() runs
    secret = "s3cret-Pa55word"
    result = client.send("push_image",
                         image_ref={"name": "nothing", "tag": "v1", "registry": "127.0.0.1:9", "is_local": False},
                         registry_conf={"name": "127.0.0.1:9", "url": "http://127.0.0.1:9",
                                        "username": "u", "password": secret},
                         timeout=5)
    result.get(timeout=60, propagate=False)
    deadline = time.monotonic() + 10
    while not any(e.get("uuid") == result.id and e["type"] == "task-received" for e in seen):
        assert time.monotonic() < deadline, "no task-received event"
        time.sleep(0.05)
    receiver_box[0].should_stop = True
    ours = [e for e in seen if e.get("uuid") == result.id]
    assert any("********" in str(e.get("kwargs", "")) for e in ours)
    assert all(secret not in str(e) for e in ours)
    assert secret not in str(app.backend.get_task_meta(result.id))
