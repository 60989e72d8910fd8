# The operator image: `focusctl` (backfill, reconcile) for Cloud Run Jobs (infra/modules/jobs).
# The runtime dependencies are the functions' pinned set (functions/requirements.txt, from
# pyproject.toml through `make requirements`), plus the `ops` extra for the command line.
#
#   docker build -t <region>-docker.pkg.dev/<project>/<repo>/focusctl:<tag> .
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY functions/requirements.txt /app/functions/requirements.txt
RUN pip install --no-cache-dir -r /app/functions/requirements.txt
COPY . /app
RUN pip install --no-cache-dir --no-deps . && pip install --no-cache-dir "typer>=0.12" "tqdm>=4.66" \
    && useradd --uid 10001 --no-create-home focus
USER focus
# The task's index and count come from Cloud Run (CLOUD_RUN_TASK_INDEX / CLOUD_RUN_TASK_COUNT).
ENTRYPOINT ["focusctl"]
