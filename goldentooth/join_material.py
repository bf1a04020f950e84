"""Join material shared by the operations of one converge run: bootstrap token, CA pin, certificate key.

It is a plain dict so that operations stay testable from data; it lives only in the memory of the
run (spec 50-kubeadm.md §6). The token and the key are never written to logs or to the repository.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

TOKEN = re.compile(r"\b([a-z0-9]{6})\.([a-z0-9]{16})\b")
CERTIFICATE_KEY = re.compile(r"\b[0-9a-f]{64}\b")
#: kubeadm deletes the uploaded certificates (and the key's use) two hours after the upload.
CERTIFICATE_KEY_LIFETIME = timedelta(hours=2)
#: A token or key is renewed when less than this is left, so a join never starts with one about to lapse.
RENEW_MARGIN = timedelta(minutes=30)


#: The material of the converge run in this process. It lives in an imported module because
#: pyinfra executes a deploy file once per host, each time in a fresh namespace.
RUN: dict[str, Any] = {}


def now() -> datetime:
    return datetime.now(timezone.utc)


def valid(material: Mapping[str, Any], secret: str) -> bool:
    """Whether `material[secret]` ("token" or "certificate_key") exists and outlives the margin."""
    expires = material.get(f"{secret}_expires")
    if not material.get(secret) or not expires:
        return False
    when = expires if isinstance(expires, datetime) else datetime.fromisoformat(str(expires))
    return when - now() > RENEW_MARGIN


def token_id(token: str) -> str:
    """The public part of a bootstrap token (before the dot)."""
    return token.split(".", 1)[0]


def mask(text: str) -> str:
    """Text with bootstrap tokens and 64-hex keys masked (for anything printed)."""
    return CERTIFICATE_KEY.sub("<masked>", TOKEN.sub(r"\1.<masked>", text))
