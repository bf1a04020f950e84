"""Render the Jinja2 templates in templates/ the same way for deploys and golden-file tests.

Deploys upload the rendered text (text_files.present), so the bytes a test compares are the bytes a
host receives. Undefined variables are errors; whitespace control makes every block tag
vanish from the output, so templates read like the files they produce.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from . import PROJECT_ROOT

TEMPLATES_DIR = PROJECT_ROOT / "templates"

_ENVIRONMENT = Environment(
    loader=FileSystemLoader(str(TEMPLATES_DIR)),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,
)


def render(template: str, /, **context: Any) -> str:
    """The text of templates/<template> rendered with `context` (which may itself hold `template`)."""
    return _ENVIRONMENT.get_template(template).render(**context)

