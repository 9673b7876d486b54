"""The debouncer as pure code: a fake clock decides when a batch is due."""

from __future__ import annotations

import queue
import threading
import time

from workbench.watch.debounce import Debouncer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_nothing_pending_is_never_due() -> None:
    d = Debouncer(clock=Clock())
    assert d.due_in() is None and d.take() == frozenset()
    d.add([])
    assert d.due_in() is None


def test_a_burst_is_one_batch_due_after_the_quiet_period() -> None:
    clock = Clock()  # steps are binary fractions, so the arithmetic is exact
    d = Debouncer(quiet=0.125, max_wait=1.0, clock=clock)
    d.add(["a.py.tmp"])
    for step in range(5):  # an editor's temp file, rename, close... ~30 ms apart
        clock.now += 0.03125
        d.add([f"file{step}"])
        assert d.due_in() == 0.125
    clock.now += 0.0625
    assert d.due_in() == 0.0625
    clock.now += 0.0625
    assert d.due_in() == 0.0
    assert d.take() == frozenset({"a.py.tmp", "file0", "file1", "file2", "file3", "file4"})
    assert d.due_in() is None and d.pending == 0


def test_a_steady_stream_is_cut_at_max_wait() -> None:
    clock = Clock()
    d = Debouncer(quiet=0.125, max_wait=0.5, clock=clock)
    for i in range(8):
        d.add([f"f{i}"])
        clock.now += 0.0625
    assert d.due_in() == 0.0  # 0.5 s since the first change, though the last came 62.5 ms ago
    assert len(d.take()) == 8


def test_repeated_paths_count_once() -> None:
    d = Debouncer(clock=Clock())
    d.add(["x", "x"])
    d.add(["x"])
    assert d.pending == 1


def test_changes_during_a_pass_make_exactly_one_more_batch() -> None:
    clock = Clock()
    d = Debouncer(quiet=0.125, max_wait=1.0, clock=clock)
    d.add(["first"])
    clock.now += 0.25
    assert d.take() == {"first"}
    # a pass runs for 3 s; three saves land meanwhile
    for name in ("a", "b", "a"):
        clock.now += 1.0
        d.add([name])
    assert d.due_in() == 0.0
    assert d.take() == {"a", "b"}
    assert d.due_in() is None


def test_wait_blocks_until_quiet_and_close_wakes_it() -> None:
    d = Debouncer(quiet=0.05, max_wait=1.0)
    got: queue.Queue[frozenset[str]] = queue.Queue()
    consumer = threading.Thread(target=lambda: [got.put(d.wait()) for _ in range(2)], daemon=True)
    consumer.start()
    t0 = time.monotonic()
    d.add(["a"])
    time.sleep(0.02)
    d.add(["b"])
    assert got.get(timeout=5) == frozenset({"a", "b"})
    assert time.monotonic() - t0 >= 0.07  # 20 ms + 50 ms quiet
    d.close()
    assert got.get(timeout=5) == frozenset()
    consumer.join(timeout=5)
    assert not consumer.is_alive()
