"""Deploys: one module per capability, each defining one `@deploy` function.

Pattern:

* ``deploys/<capability>.py`` defines the deploy function (``node_base``, ``load_balancer``,
  ``containerd``, ``kubernetes_packages``...). The function selects its own hosts from
  ``host.groups``, reads host data and ``goldentooth.inventory.current()``, and passes explicit
  values to operations (operations read no host data).
* The same file is an entry file: ``pyinfra inventory.py deploys/<capability>.py`` converges that
  capability alone. Its last line is ``run_as_entry(globals(), <function>)``, which calls the
  function only when pyinfra executes the file. When another deploy imports the module (as
  ``deploys/kubernetes.py`` does) nothing runs on import.
* ``deploys/kubernetes.py`` composes the capabilities in order: a short list of calls.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def run_as_entry(namespace: dict[str, Any], *deploy_functions: Callable[[], Any]) -> None:
    """Call the deploy functions, in order, if this module is executed by pyinfra as the deploy file.

    pyinfra executes a deploy file with `exec()` in a fresh namespace that holds `__file__` but no
    `__name__`; an import always sets `__name__`. So a missing `__name__` means "entry file".
    """
    if "__name__" not in namespace:
        _import_entry_file(namespace["__file__"])
        for deploy_function in deploy_functions:
            deploy_function()


def _import_entry_file(filename: str) -> None:
    """Import the entry file as its module too (nothing runs on import), for pyinfra's planning speed.

    pyinfra places every operation by inspecting its call stack, and `inspect.getmodule` finds a
    frame's module through a cache of module files. A file pyinfra executes belongs to no module,
    so each lookup of an entry-file frame misses that cache and rescans all of sys.modules: about
    3,400 scans of ~760 modules to plan deploys/kubernetes.py on 13 hosts, most of the planning
    time. Once `deploys.<name>` is imported, those lookups hit the cache.
    """
    path = Path(filename).resolve()
    if path.parent == Path(__file__).resolve().parent and path.suffix == ".py":
        importlib.import_module(f"{__name__}.{path.stem}")
