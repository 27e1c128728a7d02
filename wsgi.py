"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`.

`flask --app wsgi worker` gets the dispatcher's app (`notifier.worker.app`): the
same settings and database without the API, which it never serves (and never
imports: `notifier.create_app` loads the API on first use).
"""

import sys

import notifier
from notifier.worker.app import create_worker_app, runs_worker

app = create_worker_app() if runs_worker(sys.argv) else notifier.create_app()
