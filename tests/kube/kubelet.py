"""The API-server double's kubelet: each Job's pod runs its container command as a local process.

An image is a local directory (what the Dockerfile would bake) and the working directory of its
pods. The environment is the manifest's `env` plus the keys of `envFrom` Secrets; an `emptyDir`
mount becomes a fresh directory per pod (env values under its mount path are rewritten to it); a
pod whose service-account token is mounted gets API access, as that account, through `KUBECONFIG`
instead of a token file. Job status follows the exit code, with `backoffLimit`, `podFailurePolicy`
(FailJob on exit codes) and `activeDeadlineSeconds` (DeadlineExceeded) honoured; a suspended Job
gets no pod.

A PersistentVolumeClaim (`server.claims`) is the host directory at its mount path, as if every
node mounted the same ReadWriteMany volume there. As on a real node, a pod that cannot start stays Pending: `Unschedulable` when its nodeSelector does
not match the node's labels, `ErrImagePull`/`ImagePullBackOff` for an unknown image,
`CreateContainerConfigError` for a missing Secret; it starts once the cause is gone. A container
killed by SIGKILL is reported as the kernel's OOM killer's would be: `OOMKilled`, exit code 137.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.kube.apiserver import ApiServer

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


class PodError(Exception):
    """A pod that cannot start yet: (reason, message)."""


DEADLINE = -1000  # a pod stopped because its Job ran past activeDeadlineSeconds

def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _condition(kind: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": kind, "status": "True", "reason": reason, "message": message, "lastTransitionTime": now()}


def _pending(reason: str, message: str) -> dict[str, Any]:
    """A Pending pod's status: not scheduled, or scheduled with its container waiting."""
    if reason == "Unschedulable":
        return {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": reason, "message": message}]}
    waiting = {"waiting": {"reason": reason, "message": message}}
    return {
        "phase": "Pending",
        "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "main", "ready": False, "state": waiting}],
    }


def _fails_job(job_spec: dict[str, Any], code: int) -> bool:
    rules = (job_spec.get("podFailurePolicy") or {}).get("rules") or []
    return any(r["action"] == "FailJob" and code in r.get("onExitCodes", {}).get("values", []) for r in rules)


class Kubelet:
    """Runs pods as processes; feeds their output to the log endpoint."""

    def __init__(self, server: ApiServer, images: dict[str, Path], bin_dir: Path, scratch: Path) -> None:
        self.server, self.images, self.bin_dir, self.scratch = server, images, bin_dir, scratch
        self.processes: dict[str, subprocess.Popen[bytes]] = {}  # pod -> process
        self.pods: dict[tuple[str, str], list[str]] = {}  # (namespace, job) -> pods
        self.logs: dict[str, bytearray] = {}
        self.finished: set[str] = set()
        self.threads: list[threading.Thread] = []
        self.stopped = False

    def started(self, pod: str) -> bool:
        """Whether the pod's container has started (its log can be read)."""
        with self.server.lock:
            return pod in self.processes or pod in self.finished

    def schedule(self, namespace: str, job: str) -> None:
        thread = threading.Thread(target=self._run_job, args=(namespace, job), daemon=True, name=f"kubelet-{job}")
        self.threads.append(thread)
        thread.start()

    def kill_job(self, namespace: str, job: str) -> None:
        """What deleting a Job with propagation does: its pods stop and disappear."""
        for pod in self.pods.get((namespace, job), []):
            self._kill(pod)
            self.server.delete("pods", namespace, pod)

    def stop(self) -> None:
        self.stopped = True
        for pod in list(self.processes):
            self._kill(pod)
        for thread in self.threads:
            thread.join(timeout=5)

    def log_chunks(self, pod: str, follow: bool) -> Iterator[bytes]:
        sent = 0
        while True:
            with self.server.lock:
                data = bytes(self.logs.get(pod, b""))[sent:]
                done = pod in self.finished or self.stopped
                if not data and follow and not done:
                    self.server.lock.wait(0.2)
                    continue
            if data:
                sent += len(data)
                yield data
            if done or not follow:
                return

    def _run_job(self, namespace: str, name: str) -> None:
        failures = 0
        job = self.server.get("jobs", namespace, name)
        if job is None or job["spec"].get("suspend"):  # a suspended Job gets no pod
            return
        limit = job["spec"].get("activeDeadlineSeconds")
        deadline = time.monotonic() + limit if limit else None
        self.server.update("jobs", namespace, name, {"status": {"startTime": now()}})
        while not self.stopped:
            job = self.server.get("jobs", namespace, name)
            if job is None:
                return
            code = self._run_pod(namespace, job, deadline)
            if code is None:
                return
            if code == 0:
                status = {"active": 0, "succeeded": 1, "completionTime": now(), "conditions": [_condition("Complete")]}
                self.server.update("jobs", namespace, name, {"status": status})
                return
            failures += 1
            spec = job["spec"]
            if code == DEADLINE:
                message = "Job was active longer than specified deadline"
                status = {"active": 0, "failed": failures, "conditions": [_condition("Failed", "DeadlineExceeded", message)]}
                self.server.update("jobs", namespace, name, {"status": status})
                return
            if _fails_job(spec, code) or failures > spec.get("backoffLimit", 6):
                reason = "PodFailurePolicy" if _fails_job(spec, code) else "BackoffLimitExceeded"
                message = (
                    f"container exited with code {code}"
                    if reason == "PodFailurePolicy"
                    else "Job has reached the specified backoff limit"
                )
                status = {"active": 0, "failed": failures, "conditions": [_condition("Failed", reason, message)]}
                self.server.update("jobs", namespace, name, {"status": status})
                return
            self.server.update("jobs", namespace, name, {"status": {"active": 0, "failed": failures}})

    def _run_pod(self, namespace: str, job: dict[str, Any], deadline: float | None) -> int | None:
        """Create the pod, wait until it can start, run its container: the exit code, DEADLINE, or None if the Job went away."""
        name = job["metadata"]["name"]
        template = job["spec"]["template"]
        pod_name = f"{name}-{uuid.uuid4().hex[:5]}"
        labels = {
            **(template["metadata"].get("labels") or {}),
            "job-name": name,
            "controller-uid": job["metadata"]["uid"],
        }
        pod = {
            "metadata": {"name": pod_name, "labels": labels},
            "spec": template["spec"],
            "status": {"phase": "Pending"},
        }
        self.server.create("pods", namespace, pod)
        with self.server.lock:
            self.pods.setdefault((namespace, name), []).append(pod_name)
            self.logs[pod_name] = bytearray()
        shown = None
        while True:
            if self.stopped or self.server.get("jobs", namespace, name) is None:
                return None
            if deadline is not None and time.monotonic() >= deadline:
                return self._terminated(namespace, pod_name, DEADLINE, "DeadlineExceeded")
            try:
                argv, env, cwd = self._container(namespace, pod_name, template["spec"])
                break
            except PodError as exc:
                if exc.args != shown:
                    shown = exc.args
                    self.server.update("pods", namespace, pod_name, {"status": _pending(*exc.args)})
                time.sleep(0.1)
        with self.server.lock:
            if self.stopped or self.server.get("jobs", namespace, name) is None:
                return None
            process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
            )
            self.processes[pod_name] = process
        running = {"phase": "Running", "startTime": now(), "conditions": [], "containerStatuses": []}
        self.server.update("pods", namespace, pod_name, {"status": running})
        self.server.update("jobs", namespace, name, {"status": {"active": 1}})
        timer = None
        if deadline is not None:
            timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._kill, args=(pod_name,))
            timer.daemon = True
            timer.start()
        assert process.stdout is not None
        for line in iter(process.stdout.readline, b""):
            self._append(pod_name, line)
        code = process.wait()
        if timer is not None:
            timer.cancel()
        if self.server.get("jobs", namespace, name) is None:
            self._append(pod_name, b"", finished=True)
            return None
        if deadline is not None and time.monotonic() >= deadline:
            return self._terminated(namespace, pod_name, DEADLINE, "DeadlineExceeded")
        if code == -signal.SIGKILL:
            return self._terminated(namespace, pod_name, 137, "OOMKilled")
        return self._terminated(namespace, pod_name, code, "Completed" if code == 0 else "Error")

    def _terminated(self, namespace: str, pod: str, code: int, reason: str) -> int:
        self._append(pod, b"", finished=True)
        status: dict[str, Any]
        if code == DEADLINE:
            message = "Pod was active on the node longer than the specified deadline"
            status = {"phase": "Failed", "reason": "DeadlineExceeded", "message": message}
        else:
            state = {"terminated": {"exitCode": code, "reason": reason, "finishedAt": now()}}
            status = {
                "phase": "Succeeded" if code == 0 else "Failed",
                "containerStatuses": [{"name": "main", "state": state}],
            }
        self.server.update("pods", namespace, pod, {"status": status})
        return code

    def _append(self, pod: str, data: bytes, finished: bool = False) -> None:
        with self.server.lock:
            self.logs.setdefault(pod, bytearray()).extend(data)
            if finished:
                self.finished.add(pod)
            self.server.lock.notify_all()

    def _container(self, namespace: str, pod: str, spec: dict[str, Any]) -> tuple[list[str], dict[str, str], Path]:
        """The container's argv, environment and working directory; PodError while it cannot start."""
        selector = spec.get("nodeSelector") or {}
        if any(self.server.node_labels.get(k) != v for k, v in selector.items()):
            raise PodError("Unschedulable", "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.")
        for volume in spec.get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim is not None and claim not in self.server.claims:
                raise PodError("Unschedulable", f'persistentvolumeclaim "{claim}" not found')
        container = spec["containers"][0]
        image = self.images.get(container.get("image", ""))
        if image is None:
            raise PodError("ImagePullBackOff", f'Back-off pulling image "{container.get("image")}"')
        env = {"PATH": f"{self.bin_dir}{os.pathsep}{SYSTEM_PATH}", "LANG": "C.UTF-8"}
        for source in container.get("envFrom") or []:
            env.update(self._secret(namespace, source.get("secretRef") or {}))
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        mounts = {}
        for mount in container.get("volumeMounts") or []:
            if "emptyDir" in volumes.get(mount["name"], {}):
                local = self.scratch / pod / mount["name"]
                local.mkdir(parents=True, exist_ok=True)
                mounts[mount["mountPath"].rstrip("/")] = str(local)
        for item in container.get("env") or []:
            value = str(item.get("value", ""))
            for path, local in mounts.items():
                if value == path or value.startswith(f"{path}/"):
                    value = local + value[len(path) :]
            env[item["name"]] = value
        if spec.get("automountServiceAccountToken", True):
            account = spec.get("serviceAccountName") or "default"
            path = self.scratch / f"{pod}.kubeconfig"
            env["KUBECONFIG"] = str(self.server.kubeconfig(path, namespace=namespace, account=account))
        argv = [*(container.get("command") or []), *(container.get("args") or [])]
        executable = shutil.which(argv[0], path=env["PATH"]) if argv else None
        if executable is None:
            raise PodError("StartError", f"executable {argv[:1]} not found in the image")
        return [executable, *argv[1:]], env, image

    def _secret(self, namespace: str, ref: dict[str, Any]) -> dict[str, str]:
        secret = self.server.get("secrets", namespace, ref.get("name", ""))
        if secret is None:
            if ref.get("optional"):
                return {}
            raise PodError("CreateContainerConfigError", f'secret "{ref.get("name")}" not found')
        return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}

    def _kill(self, pod: str) -> None:
        process = self.processes.get(pod)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=3)
        except ProcessLookupError:
            pass
