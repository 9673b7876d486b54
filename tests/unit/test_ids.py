"""Record ids: random, 32 hex digits, and never the same in a forked child as in its parent."""

from __future__ import annotations

import os

from workbench.run.ids import new_id


def test_ids_are_32_hex_digits_and_distinct_across_refills() -> None:
    ids = [new_id() for _ in range(2000)]  # several blocks
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_a_forked_child_does_not_reuse_the_parents_block() -> None:
    new_id()  # the parent holds a part-used block
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, "".join(new_id() for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode()
    os.close(read)
    theirs = {child[i : i + 32] for i in range(0, len(child), 32)}
    ours = {new_id() for _ in range(300)}
    assert len(theirs) == 10 and not theirs & ours
