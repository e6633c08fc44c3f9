"""Standard Webhooks signatures: `v1,` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")).

The key is the secret's bytes: the base64 after `whsec_`. Receivers verify with any Standard
Webhooks library (e.g. the `standardwebhooks` package) and the secret shown when the webhook was
created or its secret rotated.
"""

import base64
import hashlib
import hmac
import time
import uuid

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    """The three headers, signed now: a retry keeps the id and gets a fresh timestamp."""
    timestamp = int(time.time())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
