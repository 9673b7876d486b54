"""Record ids: random, 32 hex digits, and never the same in a forked child as in its parent."""

from __future__ import annotations

import json
import subprocess
import sys

from workbench.run.ids import new_id

FORK = """
import json, os
from workbench.run.ids import new_id

new_id()  # the parent holds a part-used block
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(write, "".join(new_id() for _ in range(10)).encode())
    os._exit(0)
os.close(write)
os.waitpid(pid, 0)
child = os.read(read, 4096).decode()
print(json.dumps({"child": [child[i : i + 32] for i in range(0, len(child), 32)], "parent": [new_id() for _ in range(300)]}))
"""


def test_ids_are_32_hex_digits_and_distinct_across_refills() -> None:
    ids = [new_id() for _ in range(2000)]  # several blocks
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_a_forked_child_does_not_reuse_the_parents_block() -> None:
    # in a process of its own: forking this one (polars' and DuckDB's threads) is not safe
    done = subprocess.run([sys.executable, "-c", FORK], capture_output=True, text=True, timeout=60, check=True)
    ids = json.loads(done.stdout)
    assert len(set(ids["child"])) == 10 and not set(ids["child"]) & set(ids["parent"])
