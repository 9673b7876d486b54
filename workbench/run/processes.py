"""Worker processes: a run of many assets runs them in forked children, one per worker thread.

A trivial asset costs well under a millisecond of Python; two worker threads then take turns at
the GIL, and a run keeps about 1.2 of two cores busy. A child of its own per worker thread runs
the asset (body, serialization, hash) while the thread waits on a pipe without the GIL, so the
assets run on every core and the parent keeps scheduling, leasing and recording.

Forking a process that has native thread pools running is unsafe: the child has the pools' state
but not their threads (Polars' and BLAS pools, DuckDB's threads), and its first parallel operation
can wait forever. Children are therefore made only when every other thread of the process is a
Python thread or a native thread known to survive a fork (`_FORK_SAFE`), and only from the main
thread, on Linux; else the run keeps its threads (`unsafe_to_fork` says why).
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["Child", "ChildDied", "fork_children", "unsafe_to_fork"]

_PROTOCOL = pickle.HIGHEST_PROTOCOL  # by `pickle.dumps`: the connection's own pickler is a Python class, made anew per message
_UNPICKLABLE = (pickle.PicklingError, TypeError, AttributeError)  # what pickling an unpicklable value raises
MANY = 64  # units a run needs before it forks worker processes (a fork costs a few milliseconds)

# native threads whose libraries make a fork safe: jemalloc's purging threads (it re-initializes in
# the child), Polars' spill-file cleaner (idle until an out-of-core query spills)
_FORK_SAFE = ("jemalloc_bg_thd", "polars-ooc-clea")


class ChildDied(Exception):
    """The worker process ended (killed, crashed, or the asset ended it) before it answered."""


class Child:
    """One forked worker process, and the parent's end of its pipe."""

    def __init__(self, pid: int, conn: Connection) -> None:
        self.pid = pid
        self.conn = conn
        self.alive = True
        self.killed = False
        self.status: int | None = None  # its wait status, once reaped
        self.lock = threading.Lock()  # one message at a time: its thread's, or another's whose child died
        self._reaping = threading.Lock()

    def call(self, message: object) -> object:
        """Send `message` to the child's handler and wait for its answer (the GIL released);
        re-raises what the handler raised, `ChildDied` when the child is gone."""
        data = pickle.dumps(message, _PROTOCOL)
        with self.lock:
            try:
                self.conn.send_bytes(data)
                ok, answer = pickle.loads(self.conn.recv_bytes())
            except (EOFError, OSError) as exc:
                self.alive = False
                raise ChildDied(self._ended()) from exc
        if not ok:
            raise answer
        return answer

    def stop(self) -> None:
        """Ask an idle child to exit, and reap it. A killed one is only reaped: its caller may
        still be reading the pipe, which closes with the caller's `Child`."""
        if not self.killed:
            if self.alive:
                with contextlib.suppress(OSError):
                    self.conn.send_bytes(pickle.dumps(None, _PROTOCOL))
            self.conn.close()
        self.alive = False
        self._reap()

    def kill(self) -> None:
        """End the child now, whatever it runs (its caller gets `ChildDied`)."""
        self.killed = True
        with self._reaping:
            if self.status is None:  # not reaped: the pid is still the child's
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)

    def _ended(self) -> str:
        """How the child ended, once its pipe broke. One that closed its pipe and lives on is
        killed after a second: it can answer no more."""
        for _ in range(100):
            if self._reap(os.WNOHANG) is not None:
                break
            time.sleep(0.01)
        else:
            self.kill()
            self._reap()
            return f"worker process {self.pid} closed its pipe and was killed"
        status = self._reap()
        if status is None:
            return f"worker process {self.pid} ended"
        if os.WIFSIGNALED(status):
            return f"worker process {self.pid} was killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
        return f"worker process {self.pid} exited with code {os.waitstatus_to_exitcode(status)}"

    def _reap(self, flags: int = 0) -> int | None:
        """The child's wait status once it ended (None while it runs, with `os.WNOHANG`)."""
        with self._reaping:  # a pid reaped is never signalled: the system may give it to another process
            if self.status is None:
                with contextlib.suppress(ChildProcessError):  # not our child any more: nothing to wait for
                    pid, status = os.waitpid(self.pid, flags)
                    if pid:
                        self.status = status
            return self.status


def unsafe_to_fork() -> str:
    """Why this process should not fork worker processes now ('' when it may)."""
    if sys.platform != "linux":
        return "worker processes are forked on Linux only"
    if threading.current_thread() is not threading.main_thread():
        return "not in the main thread"
    python = {t.native_id for t in threading.enumerate()}
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return "cannot list this process's threads"
    for tid in tids:
        if int(tid) in python:
            continue
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:  # it ended meanwhile
            continue
        if not name.startswith(_FORK_SAFE):
            return f"native thread {name!r} runs (a library's thread pool)"
    return ""


def fork_children(n: int, handler: Callable[[object], object], portable: Callable[[object], object]) -> list[Child]:
    """Fork `n` children that each answer messages with `handler` until told to stop (or their
    pipe closes), sending `portable(answer)` for an answer that cannot be pickled; `OSError` (no
    memory or processes left) once those forked are stopped. The objects of this process are
    frozen for the children's garbage collector, so that it does not copy every page it would scan."""
    from multiprocessing.connection import Pipe  # ~25 ms: imported by the runs that fork only

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    children: list[Child] = []
    gc.freeze()
    try:
        for _ in range(n):
            ours, theirs = Pipe()
            with warnings.catch_warnings():  # Python 3.12+ warns of any thread; `unsafe_to_fork` looked at them
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:  # the child
                ours.close()
                _serve(theirs, handler, portable, [c.conn for c in children])
            theirs.close()
            children.append(Child(pid, ours))
    except OSError:
        for child in children:
            child.stop()
        raise
    finally:
        gc.unfreeze()
    return children


def _serve(conn: Connection, handler: Callable[[object], object], portable: Callable[[object], object], siblings: list[Connection]) -> None:
    """The child: answer each message with (True, answer) or (False, what the handler raised)."""
    code = 0
    try:
        with contextlib.suppress(OSError):  # a group of its own: Ctrl+C and a group's SIGTERM are `wb`'s to act on
            os.setpgid(0, 0)  # (it stops the run, then us)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # not `wb`'s counting handlers: a process an
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # asset starts must end when terminated
        _die_with_parent()
        for sibling in siblings:  # another child's pipe: its end of file is not ours to hold open
            sibling.close()
        os.register_at_fork(after_in_child=conn.close)  # nor is ours a process's an asset forks: `wb` sees
        # this child's end by the end of its pipe, which such a process would hold open
        while True:
            try:
                message = pickle.loads(conn.recv_bytes())
            except (EOFError, OSError):
                break
            if message is None:
                break
            conn.send_bytes(_answer(handler, portable, message))
    except BaseException:  # noqa: BLE001 - nothing of the parent's may run in the child
        traceback.print_exc()
        code = 70
    finally:
        _end_started_processes()
        os._exit(code)  # no atexit handler, finalizer or buffer flush of the parent's runs twice


def _answer(handler: Callable[[object], object], portable: Callable[[object], object], message: object) -> bytes:
    """(True, the handler's answer) or (False, what it raised), pickled: the answer made portable
    when it cannot be pickled (a record whose metadata holds a lock), an exception that cannot
    be read back (pickled, it needs arguments it was not given) sent as a `RuntimeError`."""
    try:
        answer = handler(message)
    except BaseException as exc:  # noqa: BLE001 - the parent raises it, as a worker thread would
        try:
            data = pickle.dumps((False, exc), _PROTOCOL)
            pickle.loads(data)
            return data
        except Exception:  # noqa: BLE001 - any failure to make or read the pickle
            return pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")), _PROTOCOL)
    try:
        return pickle.dumps((True, answer), _PROTOCOL)
    except _UNPICKLABLE:
        return pickle.dumps((True, portable(answer)), _PROTOCOL)


def _end_started_processes() -> None:
    """What Python does at exit for the processes an asset started with `multiprocessing`
    (`os._exit` skips it): daemonic ones are terminated, the others waited for."""
    import multiprocessing

    children = multiprocessing.active_children()
    for process in children:
        if process.daemon:
            process.terminate()
    for process in children:
        process.join()


def _die_with_parent() -> None:
    """Have the kernel kill this child when the parent dies (a kill -9 of `wb` leaves no worker).
    The signal follows the thread that forked, which is the main thread (`unsafe_to_fork`)."""
    import ctypes

    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    libc.prctl(15, b"wb-worker")  # PR_SET_NAME: what `ps` and `top` show
    if os.getppid() != parent:  # it died before the line above
        os._exit(0)
