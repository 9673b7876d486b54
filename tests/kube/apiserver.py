"""A Kubernetes API-server double on loopback: the REST endpoints workbench uses, watch included.

It speaks the real protocol to the real `kubernetes` client (bearer token, JSON bodies, `Status`
errors, list + `watch=true` streams of JSON lines, `pods/{name}/log?follow=true`) and keeps its
objects in memory. Its kubelet (`kubelet.py`) runs each Job's pod as a local process. Faults are
injected per method and path: the next N matching calls get an HTTP status (403, 409, 429, 500...).

What a real API server does and this one does too: service-account tokens are authorized by the
RoleBindings and Roles in the namespace (403 otherwise, with the real message); names must be DNS
labels; annotations are limited to 256 KiB and request bodies to 1.5 MiB; a watch whose history
was compacted gets an ERROR event with code 410 (`watch_budget`: after that many events); deleting
a Job deletes the Jobs it owns (ownerReferences) unless the propagation policy is Orphan; a pod's
log is refused (400) while its container has not started.

Endpoints: POST/GET/DELETE namespaced jobs and POST/GET/PUT cronjobs (`batch/v1`; no CronJob controller:
`fire` starts a CronJob's Job as the controller would at a tick), serviceaccounts, secrets (`v1`) and
roles, rolebindings (`rbac.authorization.k8s.io/v1`); GET pods (list, watch) and pod logs.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.kube.kubelet import Kubelet, now

_PATH = re.compile(
    r"^/(?:api/v1|apis/(?P<group>[^/]+)/v1)/namespaces/(?P<ns>[^/]+)/(?P<res>[a-z]+)"
    r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>log))?$"
)
KINDS = {
    "jobs": ("batch/v1", "Job"),
    "cronjobs": ("batch/v1", "CronJob"),
    "pods": ("v1", "Pod"),
    "secrets": ("v1", "Secret"),
    "serviceaccounts": ("v1", "ServiceAccount"),
    "roles": ("rbac.authorization.k8s.io/v1", "Role"),
    "rolebindings": ("rbac.authorization.k8s.io/v1", "RoleBinding"),
}
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "AlreadyExists",
    410: "Expired",
    413: "RequestEntityTooLarge",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
}
GROUPS = {"jobs": "batch", "cronjobs": "batch", "roles": "rbac.authorization.k8s.io", "rolebindings": "rbac.authorization.k8s.io"}
MAX_BODY = 3 * 512 * 1024  # etcd's request limit: 1.5 MiB
MAX_ANNOTATIONS = 256 * 1024
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def status_doc(code: int, message: str) -> dict[str, Any]:
    reason = REASONS.get(code, "Unknown")
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def matches(labels: dict[str, str], selector: str) -> bool:
    """Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, comma-separated."""
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term not in labels:
            return False
    return True


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    remaining: int
    skip: int  # matching calls to let through first
    message: str = ""


def invalid(resource: str, obj: dict[str, Any], size: int) -> tuple[int, str] | None:
    """What the real API server would refuse in a create: (status, message)."""
    if size > MAX_BODY:
        return 413, f"Request entity too large: limit is {MAX_BODY}"
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    kind = KINDS[resource][1]
    if not DNS_LABEL.fullmatch(name) or len(name) > 63:
        return 422, f'{kind}.{GROUPS.get(resource, "")} "{name}" is invalid: metadata.name: must be a DNS label'
    annotations = meta.get("annotations") or {}
    if sum(len(k) + len(str(v)) for k, v in annotations.items()) > MAX_ANNOTATIONS:
        return 422, f'{kind} "{name}" is invalid: metadata.annotations: Too long: must have at most {MAX_ANNOTATIONS} bytes'
    return None


def verb(method: str, name: str | None, query: dict[str, str]) -> str:
    if method == "POST":
        return "create"
    if method == "DELETE":
        return "delete"
    if method == "PUT":
        return "update"
    if name is not None:
        return "get"
    return "watch" if query.get("watch", "").lower() in ("true", "1") else "list"


class ApiServer:
    """Objects, a resource-versioned event log, and a threaded HTTP server in front of them."""

    def __init__(self, images: dict[str, Path], bin_dir: Path, scratch: Path, token: str = "test-token") -> None:
        self.token = token
        self.lock = threading.Condition()
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.events: list[tuple[int, str, str, str, dict[str, Any]]] = []  # (rv, resource, ns, type, object)
        self.version = 0
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, str]] = []  # (method, path, verb) of every call, in order
        self.accounts: dict[str, tuple[str, str]] = {}  # token -> (namespace, service account)
        self.node_labels: dict[str, str] = {"kubernetes.io/os": "linux"}
        self.watch_budget: int | None = None  # a watch gets 410 after this many events
        self.claims: set[str] = set()  # PersistentVolumeClaims that exist (ReadWriteMany, on every node)
        self.stopping = False
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.kubelet = Kubelet(self, images, bin_dir, scratch)
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="apiserver")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> ApiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            self.stopping = True
            self.lock.notify_all()
        self.kubelet.stop()
        self.httpd.shutdown()
        self.httpd.server_close()

    def kubeconfig(
        self, path: Path, context: str = "double", namespace: str = "default", account: str | None = None
    ) -> Path:
        """A kubeconfig for the admin, or (`account`) for a service account of `namespace`."""
        token = self.token
        if account is not None:
            token = f"sa-{namespace}-{account}-{uuid.uuid4().hex}"
            with self.lock:
                self.accounts[token] = (namespace, account)
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "double", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": token}}],
            "contexts": [{"name": context, "context": {"cluster": "double", "user": "tester", "namespace": namespace}}],
            "current-context": context,
        }
        path.write_text(json.dumps(doc))
        return path

    def fail(self, method: str, path: str, status: int, times: int = 1, after: int = 0, message: str = "") -> None:
        """After `after` matching calls, the next `times` calls of `method` on a path matching `path` get `status`."""
        with self.lock:
            self.faults.append(Fault(method, re.compile(path), status, times, after, message))

    def allowed(self, token: str, verb: str, resource: str, namespace: str) -> str | None:
        """None if `token` may do this; else the API's Forbidden message (RBAC: Roles bound in the namespace)."""
        if token == self.token:
            return None
        account_ns, account = self.accounts[token]
        group = GROUPS.get(resource.split("/")[0], "")
        with self.lock:
            bindings = [o for (r, ns, _), o in self.objects.items() if r == "rolebindings" and ns == namespace]
            for binding in bindings:
                if {"kind": "ServiceAccount", "name": account, "namespace": account_ns} not in binding["subjects"]:
                    continue
                role = self.objects.get(("roles", namespace, binding["roleRef"]["name"]))
                for rule in (role or {}).get("rules", []):
                    if group in rule.get("apiGroups", []) and resource in rule.get("resources", []):
                        if verb in rule.get("verbs", []) or "*" in rule.get("verbs", []):
                            return None
        what = f"{resource}.{group}" if group else resource
        return (
            f'{what} is forbidden: User "system:serviceaccount:{account_ns}:{account}" cannot {verb} '
            f'resource "{resource}" in API group "{group}" in the namespace "{namespace}"'
        )

    def jobs(self, namespace: str = "default") -> list[dict[str, Any]]:
        """The Jobs that exist, in creation order."""
        with self.lock:
            return [copy.deepcopy(o) for (res, ns, _), o in self.objects.items() if res == "jobs" and ns == namespace]

    def created(self, resource: str = "jobs") -> list[str]:
        """Names of every object of `resource` ever created, in order."""
        with self.lock:
            return [o["metadata"]["name"] for _, res, _, kind, o in self.events if res == resource and kind == "ADDED"]

    # --- object store (callers hold no lock; every change becomes a watch event) ---

    def put(self, resource: str, namespace: str, obj: dict[str, Any], event: str) -> dict[str, Any]:
        with self.lock:
            self.version += 1
            obj["metadata"]["resourceVersion"] = str(self.version)
            key = (resource, namespace, obj["metadata"]["name"])
            if event == "DELETED":
                self.objects.pop(key, None)
            else:
                self.objects[key] = obj
            self.events.append((self.version, resource, namespace, event, copy.deepcopy(obj)))
            self.lock.notify_all()
            return copy.deepcopy(obj)

    def create(self, resource: str, namespace: str, obj: dict[str, Any]) -> dict[str, Any] | None:
        api_version, kind = KINDS[resource]
        with self.lock:
            if (resource, namespace, obj["metadata"]["name"]) in self.objects:
                return None
            meta = obj.setdefault("metadata", {})
            meta.update(namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=now())
            obj.update(apiVersion=api_version, kind=kind)
            if resource == "jobs":
                obj["status"] = {}
            created = self.put(resource, namespace, obj, "ADDED")
        if resource == "jobs":
            self.kubelet.schedule(namespace, obj["metadata"]["name"])
        return created

    def replace(self, resource: str, namespace: str, name: str, obj: dict[str, Any]) -> dict[str, Any] | None:
        """PUT: the object's new form (uid and creation time kept); None if there is none."""
        with self.lock:
            old = self.objects.get((resource, namespace, name))
            if old is None:
                return None
            obj["metadata"].update(namespace=namespace, uid=old["metadata"]["uid"],
                                   creationTimestamp=old["metadata"]["creationTimestamp"])  # fmt: skip
            obj.update(apiVersion=KINDS[resource][0], kind=KINDS[resource][1])
            return self.put(resource, namespace, obj, "MODIFIED")

    def fire(self, cron_job: str, namespace: str = "default") -> str:
        """What the CronJob controller does at a tick: a Job from the CronJob's template, owned by it."""
        cron = self.get("cronjobs", namespace, cron_job)
        assert cron is not None, f"no CronJob {cron_job}"
        template = cron["spec"]["jobTemplate"]
        name = f"{cron_job}-{len(self.created('jobs')) + 1}"
        owner = {"apiVersion": "batch/v1", "kind": "CronJob", "name": cron_job, "uid": cron["metadata"]["uid"]}
        meta = {**template.get("metadata", {}), "name": name, "ownerReferences": [owner]}
        self.create("jobs", namespace, {"metadata": meta, "spec": copy.deepcopy(template["spec"])})
        return name

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            found = self.objects.get((resource, namespace, name))
            return copy.deepcopy(found) if found else None

    def update(self, resource: str, namespace: str, name: str, change: dict[str, Any]) -> bool:
        """Merge `change` into an object's top-level fields (status, ...); False if it is gone."""
        with self.lock:
            obj = self.objects.get((resource, namespace, name))
            if obj is None:
                return False
            for field, value in change.items():
                obj[field] = {**obj.get(field, {}), **value} if isinstance(value, dict) else value
            self.put(resource, namespace, obj, "MODIFIED")
            return True

    def delete(self, resource: str, namespace: str, name: str, orphan: bool = False) -> bool:
        """Delete an object; the garbage collector then deletes what it owns (unless `orphan`)."""
        with self.lock:
            obj = self.objects.get((resource, namespace, name))
            if obj is None:
                return False
            self.put(resource, namespace, obj, "DELETED")
            uid = obj["metadata"]["uid"]
            owned = [
                (r, o["metadata"]["name"])
                for (r, ns, _), o in self.objects.items()
                if ns == namespace and any(ref.get("uid") == uid for ref in o["metadata"].get("ownerReferences") or [])
            ]
        if resource == "jobs":
            self.kubelet.kill_job(namespace, name)
        for dependent in [] if orphan else owned:
            self.delete(*dependent[:1], namespace, dependent[1])
        return True

    def listing(self, resource: str, namespace: str, selector: str) -> tuple[list[dict[str, Any]], int]:
        with self.lock:
            items = [
                copy.deepcopy(o)
                for (res, ns, _), o in self.objects.items()
                if res == resource and ns == namespace and matches(o["metadata"].get("labels") or {}, selector)
            ]
            return items, self.version

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining and fault.method == method and fault.path.search(path):
                    if fault.skip:
                        fault.skip -= 1
                        continue
                    fault.remaining -= 1
                    return fault
        return None


def _handler(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # streams are chunked, as the real API server's are

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def _serve(self, method: str) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: dict[str, Any] = json.loads(raw) if raw else {}
            route = _PATH.match(url.path)
            action = verb(method, route["name"] if route else None, query)
            with server.lock:
                server.requests.append((method, url.path, action))
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            if token != server.token and token not in server.accounts:
                return self._json(401, status_doc(401, "Unauthorized"))
            fault = server.take_fault(method, url.path)
            if fault is not None:
                message = fault.message or f"injected fault on {method} {url.path}"
                return self._json(fault.status, status_doc(fault.status, message), retry_after=fault.status == 429)
            if route is None or route["res"] not in KINDS:
                return self._json(404, status_doc(404, f"the server could not find the requested resource {url.path}"))
            res, ns, name, sub = route["res"], route["ns"], route["name"], route["sub"]
            forbidden = server.allowed(token, action, f"{res}/{sub}" if sub else res, ns)
            if forbidden:
                return self._json(403, status_doc(403, forbidden))
            if method == "POST" and name is None:
                refused = invalid(res, body, len(raw))
                if refused:
                    return self._json(refused[0], status_doc(*refused))
                created = server.create(res, ns, body)
                if created is None:
                    return self._json(409, status_doc(409, f'{res} "{body["metadata"]["name"]}" already exists'))
                return self._json(201, created)
            if method == "GET" and sub == "log":
                return self._log(ns, name, query.get("follow", "").lower() == "true")
            if method == "GET" and name is not None:
                found = server.get(res, ns, name)
                return (
                    self._json(200, found) if found else self._json(404, status_doc(404, f'{res} "{name}" not found'))
                )
            if method == "GET":
                return (
                    self._watch(res, ns, query)
                    if query.get("watch", "").lower() in ("true", "1")
                    else self._list(res, ns, query)
                )
            if method == "PUT" and name is not None:
                replaced = server.replace(res, ns, name, body)
                if replaced is None:
                    return self._json(404, status_doc(404, f'{res} "{name}" not found'))
                return self._json(200, replaced)
            if method == "DELETE" and name is not None:
                if not server.delete(res, ns, name, orphan=body.get("propagationPolicy") == "Orphan"):
                    return self._json(404, status_doc(404, f'{res} "{name}" not found'))
                return self._json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
            return self._json(405, status_doc(405, f"{method} is not supported on {url.path}"))

        def _json(self, code: int, doc: dict[str, Any], retry_after: bool = False) -> None:
            data = json.dumps(doc).encode()
            self.send_response(code)
            if retry_after:
                self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _list(self, res: str, ns: str, query: dict[str, str]) -> None:
            items, version = server.listing(res, ns, query.get("labelSelector", ""))
            api_version, kind = KINDS[res]
            self._json(
                200,
                {
                    "kind": f"{kind}List",
                    "apiVersion": api_version,
                    "metadata": {"resourceVersion": str(version)},
                    "items": items,
                },
            )

        def _stream_start(self, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _watch(self, res: str, ns: str, query: dict[str, str]) -> None:
            """JSON lines of the events after `resourceVersion`, until `timeoutSeconds` or shutdown."""
            seen = int(query.get("resourceVersion") or 0)
            selector = query.get("labelSelector", "")
            deadline = time.monotonic() + float(query.get("timeoutSeconds") or 60)
            budget = server.watch_budget
            self._stream_start("application/json")
            while time.monotonic() < deadline:
                with server.lock:
                    fresh = [e for e in server.events if e[0] > seen]
                    if not fresh:
                        if server.stopping:
                            return
                        server.lock.wait(0.2)
                        continue
                    seen = fresh[-1][0]
                lines = [
                    json.dumps({"type": kind, "object": obj}) + "\n"
                    for _, r, n, kind, obj in fresh
                    if r == res and n == ns and matches(obj["metadata"].get("labels") or {}, selector)
                ]
                if budget is not None:
                    if len(lines) >= budget:  # the history this watch needs was compacted
                        gone = status_doc(410, f"too old resource version: {seen} ({server.version})")
                        lines = [*lines[:budget], json.dumps({"type": "ERROR", "object": gone}) + "\n"]
                        deadline = 0
                    budget -= len(lines)
                try:
                    if lines:
                        self._chunk("".join(lines).encode())
                except OSError:
                    return
            self._chunk(b"")

        def _log(self, ns: str, pod: str, follow: bool) -> None:
            found = server.get("pods", ns, pod)
            if found is None:
                return self._json(404, status_doc(404, f'pods "{pod}" not found'))
            if not server.kubelet.started(pod):
                name = found["spec"]["containers"][0]["name"]
                waiting = "ContainerCreating"
                for status in found.get("status", {}).get("containerStatuses") or []:
                    waiting = status.get("state", {}).get("waiting", {}).get("reason", waiting)
                message = f'container "{name}" in pod "{pod}" is waiting to start: {waiting}'
                return self._json(400, status_doc(400, message))
            self._stream_start("text/plain")
            try:
                for chunk in server.kubelet.log_chunks(pod, follow):
                    self._chunk(chunk)
                self._chunk(b"")
            except OSError:
                return

    return Handler
