"""goldentooth: agentless configuration management for the Goldentooth cluster, on pyinfra."""

from pathlib import Path

__version__ = "0.1.0"

#: The repository root: deploys/, facts/, operations/ and templates/ live here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
