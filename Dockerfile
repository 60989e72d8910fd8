# The operator image: `focusctl` (backfill, reconcile) for Cloud Run Jobs (infra/modules/jobs).
# Its dependencies are the lock's (requirements.lock: every environment pinned with hashes, from
# pyproject.toml through `make requirements`), installed hash-checked; then the project itself.
#
#   docker build -t <region>-docker.pkg.dev/<project>/<repo>/focusctl:<tag> .
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.lock /app/requirements.lock
RUN pip install --no-cache-dir --require-hashes -r /app/requirements.lock
COPY . /app
RUN pip install --no-cache-dir --no-deps . && useradd --uid 10001 --no-create-home focus
USER focus
# The task's index and count come from Cloud Run (CLOUD_RUN_TASK_INDEX / CLOUD_RUN_TASK_COUNT).
ENTRYPOINT ["focusctl"]
