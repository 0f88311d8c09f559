# syntax=docker/dockerfile:1
# W.W.H.D. agent server: the LangGraph API server (inmem runtime) under uvicorn, one process,
# port 8000, all state under /data (mount EFS there). Build: docker build -t wwhd .
# Pin the base by digest in CI (python:3.11-slim-bookworm@sha256:...) for reproducible images.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# Cluster mode (README "More than one task"): --build-arg PYTHON_IMAGE=python:3.12-slim-bookworm
# --build-arg REQUIREMENTS=requirements-cluster.lock (Aegra needs Python 3.12).
ARG REQUIREMENTS=requirements.lock

# -- build: a virtualenv with the runtime dependencies and the project --------------------------
FROM ${PYTHON_IMAGE} AS build
ARG REQUIREMENTS
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /app
# Dependencies first, so their layer survives code changes: requirements.lock is the runtime set
# only (the test and dev tools live in requirements-dev.lock), every file hash-checked.
# Binary wheels only (forbiddenfruit is pure Python and ships no wheel: its sdist, hash-pinned in
# the lock, is built; pip fetches that build's setuptools unhashed): no compiler needed.
COPY requirements.lock requirements-cluster.lock ./
RUN pip install --require-hashes --only-binary=:all: --no-binary=forbiddenfruit \
        --requirement ${REQUIREMENTS}
COPY . /src
# The project as a built wheel (one package, `wwhd`; byte-compiled by pip at install), not an
# editable checkout. /app keeps what is not code: the bundled corpus and the deploy scripts.
RUN pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/dist /src \
 && pip install --no-deps /tmp/dist/*.whl \
 && mkdir -p /app && cp -r /src/corpus /src/deploy /app/ \
 && chmod 0755 /app/deploy/entrypoint.sh

# -- runtime: the virtualenv and the code, no build tools, a non-root user ---------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
# The EFS access point must create its root directory for this uid/gid (see the README).
RUN groupadd --system --gid ${UID} wwhd \
 && useradd --system --uid ${UID} --gid ${UID} --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin wwhd \
 && install -d -o ${UID} -g ${UID} -m 0750 /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    WWHD_DATA_DIR=/data \
    WWHD_CORPUS_DIR=/app/corpus \
    LANGGRAPH_CLI_NO_ANALYTICS=1 \
    LANGGRAPH_NO_VERSION_CHECK=true
USER ${UID}:${UID}
WORKDIR /data
EXPOSE 8000
# uvicorn finishes in-flight requests for up to 20 s on SIGTERM; ECS waits stopTimeout (30 s).
STOPSIGNAL SIGTERM
# Liveness (/ok). The first start embeds the bundled corpus before listening: a long start period.
HEALTHCHECK --interval=30s --timeout=10s --start-period=300s --retries=3 \
    CMD ["/opt/venv/bin/python", "/app/deploy/healthcheck.py"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
