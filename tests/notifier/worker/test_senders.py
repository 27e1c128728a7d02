"""The sender pool: threads only for the work there is, every item run once, and
what no thread took is handed back at shutdown."""

from __future__ import annotations

import threading

from notifier.worker.senders import SenderPool


def test_a_pool_without_a_backlog_keeps_one_thread() -> None:
    done: list[int] = []
    finished = threading.Semaphore(0)

    def work(item: int) -> None:
        done.append(item)
        finished.release()

    pool = SenderPool(8, work)
    for item in range(5):
        pool.submit(item)
        finished.acquire()  # each item done before the next arrives
    pool.shutdown()

    assert done == [0, 1, 2, 3, 4]
    assert pool.threads == 1


def test_a_backlog_starts_threads_up_to_the_size_and_queued_items_come_back() -> None:
    release = threading.Event()
    started = threading.Semaphore(0)

    def work(item: int) -> None:
        started.release()
        release.wait()

    pool = SenderPool(3, work)
    for item in range(10):
        pool.submit(item)
    for _ in range(3):
        started.acquire()  # three items in the three threads, seven queued
    queued = pool.take_queued()
    release.set()
    pool.shutdown()

    assert pool.threads == 3
    assert sorted(queued) == list(range(3, 10))
