"""The cluster edge: the official `kubernetes` client behind a few calls, with one error translation.

This is the only module that imports `kubernetes`, and only inside its functions, so commands that
never talk to a cluster never pay for it. Objects cross this edge as plain dicts (the API's
own JSON), the same shapes `manifests` builds. Every API failure becomes a one-line `KubeError`.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from workbench.errors import KubeConfigError, KubeError

T = TypeVar("T")
RUNNING, PENDING, SUCCEEDED, FAILED, DELETED = "running", "pending", "succeeded", "failed", "deleted"
SYNCED = "SYNCED"  # the event that ends the initial list: what follows are changes
TICK = "TICK"  # a watch ended without news: time to look at the pods
WATCH_SECONDS = 30  # a watch is re-opened after this long, so a lost connection is noticed
TIMEOUT = (10, 60)  # (connect, read) seconds for ordinary calls
RETRIES = 5  # for 429, 5xx and lost connections, with jittered exponential backoff
BACKOFF = (0.1, 5.0)  # first and longest wait, seconds


def job_state(job: dict[str, Any]) -> str:
    """pending, running, succeeded or failed, from a Job's status conditions."""
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed"):
            return SUCCEEDED if condition["type"] == "Complete" else FAILED
    return RUNNING if status.get("active") else PENDING


def job_failure(job: dict[str, Any]) -> str:
    """The reason and message of a Job's Failed condition, if any."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            return ": ".join(p for p in (condition.get("reason"), condition.get("message")) if p)
    return ""


class Cluster:
    """One namespace of one cluster, as seen by a kubeconfig context or a pod's service account."""

    def __init__(self, api_client: Any, namespace: str) -> None:
        from kubernetes import client

        self.namespace = namespace
        self.where = f"namespace {namespace}"
        self.server = str(api_client.configuration.host)
        self.batch = client.BatchV1Api(api_client)
        self.core = client.CoreV1Api(api_client)
        self.rbac = client.RbacAuthorizationV1Api(api_client)

    @classmethod
    def connect(cls, namespace: str, context: str | None = None, *, in_cluster: bool = False) -> Cluster:
        """From `$KUBECONFIG` (or ~/.kube/config) and `context`; inside a pod, from its service account."""
        from kubernetes import client, config

        try:
            if in_cluster and "KUBERNETES_SERVICE_HOST" in os.environ:
                configuration = client.Configuration()
                config.load_incluster_config(client_configuration=configuration)
                return cls(client.ApiClient(configuration), namespace)
            return cls(config.new_client_from_config(context=context), namespace)
        except config.ConfigException as exc:
            where = f"context {context!r}" if context else "the current context"
            raise KubeConfigError(f"cannot use {where} of the kubeconfig: {_one_line(exc)}") from exc

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Turn API and connection failures inside the block into `KubeError`."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            yield
        except ApiException as exc:
            raise KubeError(f"{action} failed: {describe(exc)}", exc.status) from exc
        except (HTTPError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise KubeError(
                f"{action} failed: cannot reach the Kubernetes API at {self.server}: {_one_line(reason)}"
            ) from exc

    def _stream(self, action: str, stream: Iterator[T]) -> Iterator[T]:
        with self.errors(action):
            yield from stream

    def _raw(self, action: str, fn: Callable[..., Any], *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
        """The JSON body of a call; None for 404 (`missing_ok`) or 409 on a create (already exists).

        429, 5xx and lost connections are tried again (`RETRIES` times, honouring Retry-After).
        """
        for attempt in range(RETRIES + 1):
            try:
                with self.errors(action):
                    response = fn(*args, _preload_content=False, _request_timeout=TIMEOUT, **kwargs)
                return json.loads(response.data or b"null")
            except KubeError as exc:
                if (exc.status == 404 and missing_ok) or (exc.status == 409 and fn.__name__.startswith("create_")):
                    return None
                if not exc.transient or attempt == RETRIES:
                    raise
                time.sleep(backoff(attempt, _retry_after(exc)))
        raise AssertionError("unreachable")

    def create(self, doc: dict[str, Any]) -> dict[str, Any] | None:
        """Create an object; None if one of that name exists already (409)."""
        kind, name = doc["kind"], doc["metadata"]["name"]
        create, _ = self._methods(kind)
        created: dict[str, Any] | None = self._raw(
            f"creating {kind} {name} in {self.where}", create, self.namespace, doc
        )
        return created

    def read(self, kind: str, name: str) -> dict[str, Any] | None:
        _, read = self._methods(kind)
        found: dict[str, Any] | None = self._raw(
            f"reading {kind} {name} in {self.where}", read, name, self.namespace, missing_ok=True
        )
        return found

    def ensure(self, docs: list[dict[str, Any]]) -> list[str]:
        """Create the objects that do not exist yet; returns what was created."""
        created = []
        for doc in docs:
            if self.read(doc["kind"], doc["metadata"]["name"]) is None and self.create(doc) is not None:
                created.append(f"{doc['kind']}/{doc['metadata']['name']}")
        return created

    def jobs(self, selector: str) -> tuple[list[dict[str, Any]], str]:
        """The Jobs matching a label selector, and the list's resourceVersion to watch from."""
        doc = self._raw(
            f"listing Jobs in {self.where}",
            self.batch.list_namespaced_job,
            self.namespace,
            label_selector=selector,
        )
        return doc.get("items") or [], str(doc["metadata"].get("resourceVersion") or "")

    def job_events(self, selector: str, tick: float = WATCH_SECONDS) -> Iterator[tuple[str, dict[str, Any]]]:
        """(event type, Job) for every matching Job now, `(SYNCED, {})`, then every later change, endlessly.

        A list first, then a watch from its resourceVersion; an expired watch (410, as a status or
        an ERROR event) lists again. `(TICK, {})` comes whenever `tick` seconds pass without news.
        """
        from kubernetes import watch

        while True:
            items, version = self.jobs(selector)
            for job in items:
                yield "ADDED", job
            yield SYNCED, {}
            failures = 0
            while True:
                stream = watch.Watch().stream(
                    self.batch.list_namespaced_job,
                    self.namespace,
                    label_selector=selector,
                    resource_version=version,
                    timeout_seconds=max(1, round(tick)),
                    _request_timeout=(TIMEOUT[0], tick + 15),
                )
                try:
                    for event in self._stream(f"watching Jobs in {self.where}", stream):
                        version = event["raw_object"]["metadata"].get("resourceVersion") or version
                        failures = 0
                        yield event["type"], event["raw_object"]
                except KubeError as exc:
                    if exc.status == 410:
                        break  # expired: list again
                    if not exc.transient or failures == RETRIES:
                        raise
                    time.sleep(backoff(failures, _retry_after(exc)))
                    failures += 1
                    continue
                yield TICK, {}

    def pods(self, selector: str) -> list[dict[str, Any]]:
        """The pods matching a label selector."""
        doc = self._raw(
            f"listing pods in {self.where}", self.core.list_namespaced_pod, self.namespace, label_selector=selector
        )
        return list(doc.get("items") or [])

    def delete_jobs(self, names: list[str]) -> int:
        """Delete Jobs (and their pods) by name, in order; returns how many existed."""
        from kubernetes import client

        deleted = 0
        for name in names:
            body = client.V1DeleteOptions(propagation_policy="Background")
            action = f"deleting Job {name} in {self.where}"
            if (
                self._raw(action, self.batch.delete_namespaced_job, name, self.namespace, body=body, missing_ok=True)
                is not None
            ):
                deleted += 1
        return deleted

    def log_lines(self, job: str) -> Iterator[str]:
        """Follow the log of the Job's newest pod until the container exits (nothing if it has no pod)."""
        pod = self.newest_pod(job)
        if pod is not None:
            yield from self.pod_log(pod)

    def newest_pod(self, job: str) -> str | None:
        items = sorted(self.pods(f"job-name={job}"), key=lambda p: p["metadata"].get("creationTimestamp") or "")
        return str(items[-1]["metadata"]["name"]) if items else None

    def pod_log(self, pod: str) -> Iterator[str]:
        """Follow a pod's log until its container exits; 400 while the container has not started."""
        from kubernetes import watch

        stream = watch.Watch().stream(self.core.read_namespaced_pod_log, pod, self.namespace, follow=True)
        yield from self._stream(f"reading the log of pod {pod}", stream)

    def _methods(self, kind: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """(create, read) for the kinds the backend manages."""
        table = {
            "Job": (self.batch.create_namespaced_job, self.batch.read_namespaced_job),
            "ServiceAccount": (self.core.create_namespaced_service_account, self.core.read_namespaced_service_account),
            "Role": (self.rbac.create_namespaced_role, self.rbac.read_namespaced_role),
            "RoleBinding": (self.rbac.create_namespaced_role_binding, self.rbac.read_namespaced_role_binding),
        }
        return table[kind]


def backoff(attempt: int, at_least: float = 0.0) -> float:
    """Seconds to wait before try `attempt + 1`: exponential, capped, jittered over its upper half."""
    first, longest = BACKOFF
    cap = min(longest, first * 2**attempt)
    return max(at_least, random.uniform(cap / 2, cap))


def _retry_after(exc: KubeError) -> float:
    headers = getattr(exc.__cause__, "headers", None) or {}
    try:
        return min(float(headers.get("Retry-After", 0)), BACKOFF[1])
    except (TypeError, ValueError):
        return 0.0


def describe(exc: Any) -> str:
    """`HTTP 403 Forbidden: <the API's message>` from an ApiException."""
    message = ""
    try:
        message = str(json.loads(exc.body).get("message") or "")
    except (TypeError, ValueError, AttributeError):
        message = str(exc.body or "")
    status = f"HTTP {exc.status} {exc.reason or ''}".strip() if exc.status else _one_line(exc.reason or exc)
    return f"{status}: {_one_line(message)}" if message else status


def _one_line(value: object) -> str:
    return " ".join(str(value).split())
