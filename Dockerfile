# The image `wb push` runs: the workbench package and one project, as a non-root user.
#
#   docker build -t REGISTRY/workbench-demo:TAG .                                # the default project (assets/)
#   docker build -t REGISTRY/k8s-sample:TAG --build-arg PROJECT=samples/k8s .    # another project in this repo
#
# Rebuild (with a new tag) whenever the project's code changes: pods compute code versions from
# the code in the image, so an old image makes `wb status` report `code changed` after `wb sync`.
ARG PYTHON=3.11
FROM python:${PYTHON}-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The package first, so that editing the project does not reinstall it. s3fs and gcsfs let the
# pods reach s3:// and gs:// stores; credentials come from the `workbench-store` Secret.
WORKDIR /opt/workbench
COPY pyproject.toml README.md ./
COPY workbench/ workbench/
COPY storage/ storage/
COPY tui/ tui/
RUN pip install . s3fs gcsfs

# The project: its modules, pyproject.toml and the source files its assets read.
ARG PROJECT=.
WORKDIR /app
COPY ${PROJECT}/ /app/

# A numeric user, so that `runAsNonRoot: true` in the manifests can verify it.
USER 10001:10001
ENV HOME=/tmp WORKBENCH_HOME=/tmp/workbench XDG_CACHE_HOME=/tmp/cache
CMD ["wb", "status"]
