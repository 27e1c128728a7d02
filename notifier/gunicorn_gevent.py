"""The delivery service's gunicorn worker: gevent, answering its own errors in the one shape.

Its own module, so that the API's master (which loads `notifier.gunicorn_workers`)
never imports gevent. gunicorn's master loads a `worker_class` given as a dotted path
before it forks, exactly as it loads its own `gevent` worker; each worker patches the
standard library in `init_process`, before it loads the app. This module adds nothing
to what the master imports but gunicorn's gevent worker and `notifier.gunicorn_workers`
(standard library, gunicorn and logging only).
"""

from __future__ import annotations

from gunicorn.workers.ggevent import GeventWorker as GunicornGeventWorker

from notifier.gunicorn_workers import ErrorShapeWorker


class GeventWorker(ErrorShapeWorker, GunicornGeventWorker):
    """gunicorn's gevent worker (the delivery service's), answering its errors in the one shape."""
