#!/bin/sh
# Entry point of the notifier image: one image, the role is chosen by the command.
#
#   api       Notification API: gunicorn wsgi:app (./gunicorn.conf.py binds 0.0.0.0:${PORT:-8000})
#   worker    dispatcher: flask --app wsgi worker
#   delivery  delivery service: gunicorn -c delivery/gunicorn.conf.py 'delivery:create_app()'
#             (binds ${DELIVERY_BIND:-127.0.0.1:${PORT:-8001}}; compose sets 0.0.0.0:8001 so
#             that the worker container reaches it; it needs DELIVERY_API_TOKEN)
#   migrate   one-shot: flask --app wsgi db upgrade
#   seed      one-shot: flask --app wsgi seed (demo data)
#   healthcheck  used by the image's HEALTHCHECK; checks the role this container runs
#   anything else is executed as given (e.g. `bash`, `flask --app wsgi shell`).
#
# Extra arguments after a role are passed on (e.g. `api --workers 8`).
set -eu

ROLE_FILE="${TMPDIR:-/tmp}/notifier-role"

if [ "$#" -eq 0 ]; then
    set -- api
fi
role="$1"

remember_role() {
    # Best effort: the healthcheck reads it to know which port to probe.
    printf '%s\n' "$role" >"$ROLE_FILE" 2>/dev/null || true
}

probe() {
    python -c 'import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=4) as r:
    sys.exit(0 if r.status == 200 else 1)' "$1"
}

case "$role" in
    api)
        shift
        remember_role
        exec gunicorn wsgi:app "$@"
        ;;
    worker)
        shift
        remember_role
        exec flask --app wsgi worker "$@"
        ;;
    delivery)
        shift
        remember_role
        exec gunicorn -c delivery/gunicorn.conf.py 'delivery:create_app()' "$@"
        ;;
    migrate)
        shift
        exec flask --app wsgi db upgrade "$@"
        ;;
    seed)
        shift
        exec flask --app wsgi seed "$@"
        ;;
    healthcheck)
        running="$(cat "$ROLE_FILE" 2>/dev/null || echo other)"
        case "$running" in
            api) probe "http://127.0.0.1:${PORT:-8000}/health" ;;
            delivery) probe "http://127.0.0.1:${PORT:-8001}/health" ;;
            # The worker has no HTTP port; if it dies, the container exits (it is PID 1).
            *) exit 0 ;;
        esac
        ;;
    *)
        exec "$@"
        ;;
esac
