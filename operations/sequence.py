"""Keeping cluster-wide order: a place-holder step for hosts that do not run a cluster-level step.

pyinfra orders each host's operations only relative to that host's own earlier ones, so a join on
cargyll could otherwise run before the init on bettley. A cluster-level step is therefore added
on every host at the same call site: the host it concerns runs the real operation, every other
host runs `elsewhere`, which changes nothing but puts the step into its sequence.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import operation


@operation(is_idempotent=False)
def elsewhere(runs_on: str):
    """
    Hold this host's place in the cluster-wide order while another host runs a step.

    + runs_on: the host that runs the step

    **Examples:**

    .. code:: python

        sequence.elsewhere(name="Initialise the cluster", runs_on="bettley")
    """
    host.noop(f"runs on {runs_on}")
    return
    yield
