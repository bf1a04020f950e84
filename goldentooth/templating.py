"""Render the repository's Jinja2 templates (templates/) deterministically.

Undefined values are errors (StrictUndefined), so a missing data key never renders as an empty
string into a host's configuration.
"""

from __future__ import annotations

from functools import lru_cache

import jinja2

from . import PROJECT_ROOT

TEMPLATES_DIR = PROJECT_ROOT / "templates"


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(template: str, **values: object) -> str:
    """The text of templates/<template> rendered with `values`."""
    return _environment().get_template(template).render(**values)
