# One image for all five SimpleBank services; compose picks the service with its command:
#   docker run simplebank-mesh python -m services.orders
# The builder stage installs the pinned runtime dependencies into a virtual environment; the
# final stage holds that environment and the code that runs, nothing else, and runs as non-root.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
COPY requirements.lock /tmp/requirements.lock
# requirements.lock pins every runtime dependency, transitive ones included, with the sha256 of
# each of its files: --require-hashes refuses any download that differs, --no-deps keeps pip
# from resolving anything the lock file does not name. Dev tools are not installed.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --no-deps --requirement /tmp/requirements.lock

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONPATH=/app:/app/generated \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data
# /data, /certs, /ca and the folders under /identities are owned by the service user, so named
# volumes mounted there start out writable: compose's `certs` container writes the CA into /ca
# and each identity's own files into /identities/<identity>, one volume each, which that
# identity's container mounts at /certs (compose.yaml).
RUN groupadd --system --gid 10001 simplebank \
    && useradd --system --uid 10001 --gid simplebank --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin simplebank \
    && mkdir -p /data /certs /ca /identities/gateway /identities/orders /identities/accounts \
       /identities/fees /identities/market /identities/nats /identities/probe \
       /identities/provisioner \
    && chown -R simplebank:simplebank /data /certs /ca /identities
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
COPY generated/ generated/
COPY mesh/ mesh/
COPY tracing/ tracing/
COPY services/ services/
COPY config/authz.json config/authz.json
COPY tooling/cli/certs.py tooling/cli/certs.py
# The code belongs to root and is compiled once here, because the service user cannot write it.
RUN python -m compileall -q /app
USER 10001:10001
EXPOSE 50051 50052 50053 50054 50055
CMD ["python", "-m", "services.gateway"]
