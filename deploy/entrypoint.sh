#!/bin/sh
# Container entrypoint: check the configuration, fail fast with a message that says what to fix,
# optionally sync the documents (WWHD_INGEST_URI), then exec the server so that it is the
# container's main process and receives SIGTERM itself.
#
#   entrypoint.sh               serve: `wwhd serve --production` on $HOST:$PORT
#   entrypoint.sh CMD [ARGS]    run a one-off command instead (e.g. `wwhd ingest s3://b/p`)
set -eu

fail() {
    echo "entrypoint: $*" >&2
    exit 64
}

export WWHD_DATA_DIR="${WWHD_DATA_DIR:-/data}"
export APP_ENV="${APP_ENV:-production}"
HOST="${HOST:-0.0.0.0}"
PORT="${PORT:-8000}"

command -v wwhd >/dev/null 2>&1 \
    || fail "the wwhd command is not on PATH ($PATH): is the project installed in this image?"

case "$APP_ENV" in
    development | production) ;;
    *) fail "APP_ENV=$APP_ENV must be development or production" ;;
esac

case "$PORT" in
    '' | *[!0-9]*) fail "PORT=$PORT is not a port number" ;;
esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || fail "PORT=$PORT must be between 1 and 65535"

# All state (SQLite checkpoints, the runtime's thread records, embedded Qdrant) lives here:
# refuse to start on a folder we cannot write, rather than lose conversations at the first write.
mkdir -p "$WWHD_DATA_DIR" 2>/dev/null \
    || fail "cannot create WWHD_DATA_DIR=$WWHD_DATA_DIR: mount the data volume there (EFS in ECS)"
probe="$WWHD_DATA_DIR/.write-test.$$"
if ! (: >"$probe") 2>/dev/null; then
    fail "WWHD_DATA_DIR=$WWHD_DATA_DIR is not writable by uid $(id -u): give the volume (EFS" \
        "access point) to this uid, or set WWHD_DATA_DIR to a writable folder"
fi
rm -f "$probe"

if [ -n "${QDRANT_URL:-}" ]; then
    case "$QDRANT_URL" in
        http://* | https://*) ;;
        *) fail "QDRANT_URL=$QDRANT_URL must start with http:// or https:// (or be unset for" \
            "the embedded store under WWHD_DATA_DIR)" ;;
    esac
fi

if [ $# -gt 0 ]; then
    exec "$@"
fi

# Secrets may still arrive from WWHD_SECRETS_ID (read by wwhd at start-up, which then checks).
if [ "$APP_ENV" = production ] && [ -z "${JWT_SECRET:-}" ] && [ -z "${WWHD_SECRETS_ID:-}" ] \
    && [ -z "${WWHD_JWT_JWKS_URL:-}" ]; then
    fail "APP_ENV=production needs JWT_SECRET (or WWHD_SECRETS_ID naming a Secrets Manager" \
        "secret that holds it) or WWHD_JWT_JWKS_URL (an identity provider's keys, with" \
        "WWHD_JWT_ISSUER and WWHD_JWT_AUDIENCE); without one the API would be open to anyone" \
        "who can reach it"
fi

if [ -n "${WWHD_INGEST_URI:-}" ]; then
    echo "entrypoint: syncing documents from $WWHD_INGEST_URI"
    wwhd ingest --quiet "$WWHD_INGEST_URI" \
        || fail "ingesting $WWHD_INGEST_URI failed (see above); fix the source or unset" \
            "WWHD_INGEST_URI to serve what the collection already holds"
fi

exec wwhd serve --production --host "$HOST" --port "$PORT"
