"""Python client of the notifier API.

from notifier_client import Client, NotifierError, verify_webhook

client = Client("http://localhost:8000", api_key="ntf_live_...")
n = client.send(channel="sms", target="+14155552671", title="Code", content="1234")
"""

from notifier_client.client import Client
from notifier_client.errors import NotifierError
from notifier_client.version import __version__
from notifier_client.webhooks import verify_webhook

__all__ = ["Client", "NotifierError", "__version__", "verify_webhook"]
