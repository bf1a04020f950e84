"""The operator's secret store: a YAML file outside the repository, readable by its owner only.

Secrets (the HAProxy stats password, ...) are merged into the `all` data at load time so deploys
can use them, and never printed by the CLI.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from .errors import GoldentoothError

ENV_VAR = "GOLDENTOOTH_SECRETS"


def secrets_path() -> Path:
    """$GOLDENTOOTH_SECRETS, else $XDG_CONFIG_HOME/goldentooth/secrets.yaml (~/.config by default)."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit)
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config_home / "goldentooth" / "secrets.yaml"


def load_secrets(path: Path | None = None) -> dict[str, Any]:
    """Read the secret file; an absent file gives no secrets (validation then names what is missing)."""
    path = path or secrets_path()
    if not path.exists():
        return {}
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise GoldentoothError(
            f"secret file {path} is readable by others (mode {stat.S_IMODE(mode):04o}); run: chmod 600 {path}"
        )
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise GoldentoothError(f"secret file {path} must hold a mapping of key: value")
    return loaded


def write_secrets(path: Path, values: dict[str, Any]) -> None:
    """Create a secret file with mode 0600 (its directory 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(values, handle, default_flow_style=False)
