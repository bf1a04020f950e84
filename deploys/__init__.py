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

from collections.abc import Callable
from typing import Any


def run_as_entry(namespace: dict[str, Any], *deploy_functions: Callable[[], Any]) -> None:
    """Call the deploy functions, in order, if this module is executed by pyinfra as the deploy file.

    pyinfra executes a deploy file with `exec()` in a fresh namespace that holds `__file__` but no
    `__name__`; an import always sets `__name__`. So a missing `__name__` means "entry file".
    """
    if "__name__" not in namespace:
        for deploy_function in deploy_functions:
            deploy_function()
