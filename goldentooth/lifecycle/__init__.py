"""Lifecycle commands (upgrade, certificate renewal, node removal) as ordered phase lists.

Each command gathers state, validates, shows its plan, asks for confirmation, then mutates; every
mutation goes through `Context.wet`, so a dry run walks the same code and records what it would do.
Facts are shared with converge: the repository's top-level `facts` package is made importable
here the way pyinfra and pytest do it (the repository root on sys.path).
"""

import sys

from .. import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:
    sys.path.append(str(PROJECT_ROOT))
