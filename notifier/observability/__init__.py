"""Observability: Prometheus metrics, request ids and structured logs.

The package is built as hooks around the application rather than code inside it:
`hooks.register_observability(app, service)` wires a Flask app, the worker calls
`metrics.record_delivery` and `logs.notification_context`, and the gunicorn
configuration files use `multiproc` and `gunicorn_logging`. This `__init__`
imports nothing, so that gunicorn's master can load `multiproc` without Flask,
prometheus_client or anything that a gevent worker must import after patching.
"""
