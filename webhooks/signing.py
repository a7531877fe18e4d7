"""How deliveries are signed (docs/integrations.md shows receivers checking it in ten lines).

X-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the webhook's secret>, where
<timestamp> is X-Webhook-Timestamp (Unix seconds): a receiver refuses a delivery whose signature does
not match, or whose timestamp is far from its clock (a replay). During a secret rotation's grace
period the header carries a second signature, with the previous secret: "sha256=<new>,sha256=<old>".
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def signature(secret: str, timestamp: str, body: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def signature_header(secrets_in_use: list[str], timestamp: str, body: str) -> str:
    return ",".join(f"sha256={signature(secret, timestamp, body)}" for secret in secrets_in_use)
