"""kernel_lock: one holder per kernel id at a time, other ids independent, no entry left behind."""

from __future__ import annotations

import threading
import time

from worker.kernels.locks import held_count, kernel_lock


def test_one_kernel_is_held_by_one_thread_at_a_time_and_others_do_not_wait() -> None:
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with kernel_lock("k1"):
            inside.set()
            time.sleep(0.2)
            order.append("first done")

    t = threading.Thread(target=first)
    t.start()
    inside.wait(2)
    started = time.monotonic()
    with kernel_lock("k2"):
        assert time.monotonic() - started < 0.1  # another kernel: no waiting
    with kernel_lock("k1"):
        order.append("second")
    t.join()
    assert order == ["first done", "second"]
    assert held_count() == 0


def test_the_lock_is_released_and_forgotten_when_the_block_raises() -> None:
    try:
        with kernel_lock("k3"):
            raise ValueError("boom")
    except ValueError:
        pass
    assert held_count() == 0
    with kernel_lock("k3"):
        assert held_count() == 1
