# syntax=docker/dockerfile:1
# One image for every role (api, worker, delivery, migrate, seed), chosen by the
# command; see docker-entrypoint.sh.
#
#   docker build -t notifier .                        # runtime image (last stage, the default)
#   docker build --target test -t notifier:test .     # + tests, dev tools and chromium
#   docker run --rm -p 8000:8000 --env-file .env notifier api

ARG PYTHON_IMAGE=python:3.12-slim

# ---- base: Python, the non-root user, defaults shared by every stage ----------
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 notifier \
    && useradd --system --uid 10001 --gid notifier --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin notifier
WORKDIR /app

# ---- builder: compilers and the runtime virtualenv -----------------------------
# Every pinned dependency ships wheels for linux/amd64 and arm64; the compilers are
# here for platforms where one has to be built. None of this reaches the runtime stage.
FROM base AS builder
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
COPY requirements.txt ./
RUN pip install -r requirements.txt

# ---- builder-dev: the same virtualenv plus test, lint and config-check tools ---
FROM builder AS builder-dev
COPY requirements-dev.txt ./
# requirements-dev.txt installs the Python client from here (editable).
COPY clients/python clients/python
RUN pip install -r requirements-dev.txt

# ---- test: what docker-compose.test.yml runs (`./up_test.sh --local`) ----------
FROM base AS test
# chromium and chromium-driver for the browser tests (docs, console), shellcheck for
# scripts/check_configs.sh, curl for the getting-started walk (its shell blocks run as written),
# redis-server for the rate-limit storage test (it starts a throwaway server of its own),
# nginx for the proxy's config check and its access-log test.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        chromium chromium-driver curl nginx redis-server shellcheck \
    && rm -rf /var/lib/apt/lists/*
COPY --from=builder-dev /opt/venv /opt/venv
# up_test.sh uses this virtualenv instead of creating .venv; --install-only finds every
# pin satisfied (no download) and records the requirements stamp so runs start at once.
ENV NOTIFIER_VENV=/opt/venv \
    CHROMIUM_BIN=/usr/bin/chromium
COPY requirements.txt requirements-dev.txt up_test.sh ./
COPY scripts/venv.sh scripts/
COPY clients/python clients/python
RUN ./up_test.sh --install-only
COPY --chown=10001:10001 . .
RUN mkdir -p instance && chown 10001:10001 /app instance
USER 10001:10001
ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["./up_test.sh", "--local"]

# ---- runtime: the default target; no compilers, no tests, non-root -------------
FROM base AS runtime
COPY --from=builder /opt/venv /opt/venv
COPY notifier/ notifier/
COPY delivery/ delivery/
COPY migrations/ migrations/
COPY wsgi.py config.py gunicorn.conf.py docker-entrypoint.sh ./
# The code stays root-owned (read-only for the service user); only instance/ is writable
# (config.py creates a SQLite file there when DATABASE_URL is unset).
RUN mkdir instance && chown 10001:10001 instance
USER 10001:10001
# No PORT here: gunicorn.conf.py defaults the API to 8000 and delivery/gunicorn.conf.py the
# delivery service to 8001; a platform that sets PORT moves whichever role it runs.
EXPOSE 8000 8001
# Probes /health of the role this container runs (api: ${PORT:-8000}, delivery: ${PORT:-8001});
# python's urllib, since the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/app/docker-entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/app/docker-entrypoint.sh"]
CMD ["api"]
