# The image `wb push` runs: Python, the workbench package and your project's libraries, as a
# non-root user. It holds no project code: every run's pods fetch the code package `wb push` puts
# in the store, so editing the project needs no rebuild. Rebuild when the libraries change (the
# driver refuses a plan whose library versions differ from the image's, and says which).
#
#   docker build -t REGISTRY/workbench:TAG .
#   docker build -t REGISTRY/workbench:TAG --build-arg LIBRARIES="torch==2.4.1 lightgbm==4.5.0" .
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

# Your project's libraries, at the versions your laptop has (`wb push` compares them).
ARG LIBRARIES=""
RUN if [ -n "$LIBRARIES" ]; then pip install $LIBRARIES; fi
WORKDIR /app

# A numeric user, so that `runAsNonRoot: true` in the manifests can verify it.
USER 10001:10001
ENV HOME=/tmp WORKBENCH_HOME=/tmp/workbench XDG_CACHE_HOME=/tmp/cache
CMD ["wb", "status"]
