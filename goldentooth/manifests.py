"""Kubernetes manifests rendered from templates, stamped with a digest of their content.

`kubectl apply` is only run when the digest annotation on the live objects differs from the
rendered one, so a converged cluster sees no API write and a re-run reports no change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from .render import render

DIGEST_ANNOTATION = "goldentooth.net/manifest-sha256"


def digest(documents: list[dict[str, Any]]) -> str:
    """sha256 of the objects' canonical JSON form (key order and YAML layout do not matter)."""
    canonical = json.dumps(documents, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def stamped(text: str) -> str:
    """A multi-document manifest with the digest annotation added to every object."""
    documents = [document for document in yaml.safe_load_all(text) if document]
    value = digest(documents)
    for document in documents:
        document.setdefault("metadata", {}).setdefault("annotations", {})[DIGEST_ANNOTATION] = value
    return yaml.safe_dump_all(documents, sort_keys=True, explicit_start=True, default_flow_style=False)


def render_manifest(*templates: str, **values: object) -> str:
    """Render templates into one stamped multi-document manifest, in the given order."""
    return stamped("\n---\n".join(render(template, **values) for template in templates))
