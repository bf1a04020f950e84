"""Join material shared by the operations of one converge run: bootstrap token, CA pin, certificate key.

It is a plain dict so that operations stay testable from data; it lives only in the memory of the
run (spec 50-kubeadm.md §6). The token and the key are never written to logs or to the repository.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from io import StringIO
from typing import Any

from pyinfra.api import QuoteString, StringCommand

from . import kubeadm_config

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


def write_join_configuration(state, host, material: dict, configuration: dict, config_path: str) -> bool:
    """Fill the run's token, CA pin and certificate key into the JoinConfiguration and upload it (0600)."""
    if material.get("unfinished"):
        host.log_styled(f"not joining: the control-plane join of {material['unfinished']} did not pass its health gate", fg="red")
        return False
    if not valid(material, "token") or not material.get("ca_cert_hash"):
        host.log_styled("no bootstrap token or CA pin was made in this run", fg="red")
        return False
    document = copy.deepcopy(configuration)
    discovery = document["discovery"]
    discovery["bootstrapToken"]["token"] = discovery["tlsBootstrapToken"] = material["token"]
    discovery["bootstrapToken"]["caCertHashes"] = [material["ca_cert_hash"]]
    if "controlPlane" in document:
        if not valid(material, "certificate_key"):
            host.log_styled("no valid certificate key for a control-plane join", fg="red")
            return False
        document["controlPlane"]["certificateKey"] = material["certificate_key"]
        material["unfinished"] = document["nodeRegistration"]["name"]  # cleared by the health gate
    ok, _ = host.run_shell_command(StringCommand("install", "-m", "0600", "/dev/null", QuoteString(config_path)))
    return ok and host.put_file(StringIO(kubeadm_config.render(document)), config_path)
