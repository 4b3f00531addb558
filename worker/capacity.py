"""Long work gets bounded capacity of its own, so quick control operations always find a thread.

The worker's threads pool runs `concurrency` tasks at once. Tasks that can take long (creation
steps, pulls, pushes, commits, restarts, batch runs, execute and start_service, which wait on the
kernel) hold one of `concurrency - control_threads` long-work slots while they run; a long task
that finds none free does not wait in a thread: it goes back to the queue for a moment (a Celery
retry with a short countdown). So ping, destroy, interrupt, cancel, ping_kernel, list_kernels and
the like keep `control_threads` threads to themselves.
"""

from __future__ import annotations

import threading


class LongWork:
    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._used = 0
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        """A slot, if one is free."""
        with self._lock:
            if self._used >= self.slots:
                return False
            self._used += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._used = max(0, self._used - 1)

    @property
    def used(self) -> int:
        with self._lock:
            return self._used
