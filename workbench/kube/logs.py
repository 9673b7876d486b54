"""Streaming the pod logs of a run's assets while `wb push --wait` reports their progress."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

from workbench.errors import KubeError
from workbench.kube.client import Cluster
from workbench.kube.manifests import RunSpec, job_name
from workbench.run import detached
from workbench.run.reporting import Reporter

if TYPE_CHECKING:
    from workbench.core.plan import Plan

_JOIN_SECONDS = 10.0


class LogReporter:
    """Wraps a reporter: follows each asset pod's log while it runs; prints it before the outcome."""

    def __init__(self, inner: Reporter, cluster: Cluster, run: RunSpec) -> None:
        self.inner, self.cluster, self.run = inner, cluster, run
        self.lock = threading.Lock()
        self.followers: dict[str, tuple[threading.Thread, threading.Event]] = {}

    def planned(self, plan: Plan) -> None:
        self.inner.planned(plan)

    def started(self, key: str) -> None:
        done = threading.Event()
        thread = detached.start(lambda: self._follow(key, done), f"wb-log-{key}")
        self.followers[key] = (thread, done)
        self.inner.started(key)

    def finished(self, key: str, outcome: str, seconds: float, detail: str = "") -> None:
        follower = self.followers.pop(key, None)
        if follower is not None:
            follower[1].set()
            follower[0].join(timeout=_JOIN_SECONDS)
        self.inner.finished(key, outcome, seconds, detail)

    def flush(self) -> None:
        self.inner.flush()

    def closed(self) -> None:
        for _, done in self.followers.values():
            done.set()
        self.inner.closed()

    def _follow(self, key: str, done: threading.Event) -> None:
        """Stream the pod's log; until it has a started pod, try again every half second.

        A unit that ends without a line of log says why (e.g. its container never started).
        """
        name = job_name(self.run.run_id, key)
        refused = ""  # why the newest pod's log could not be read, if it could not
        while True:
            last_try = done.is_set()
            printed = 0
            try:
                pod = self.cluster.newest_pod(name)
                for line in self.cluster.pod_log(pod) if pod is not None else ():
                    printed += 1
                    self._emit(key, line)
                refused = "" if pod is not None else refused
            except KubeError as exc:  # its container has not started (or the API failed)
                refused = str(exc)
            if printed:
                return
            if last_try:
                if refused:
                    self._emit(key, f"(no log: {refused})")
                return
            done.wait(0.5)

    def _emit(self, key: str, line: str) -> None:
        with self.lock:
            sys.stderr.write(f"  {key} | {line}\n")
            sys.stderr.flush()
