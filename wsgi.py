"""WSGI entry point: `gunicorn wsgi:app`, `flask --app wsgi ...`."""

from notifier import create_app

app = create_app()
