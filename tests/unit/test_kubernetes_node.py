"""Labels and taints at execution time: a node missing from the cluster fails the operation.

The fixture cases (tests/unit/operations/kubernetes_node.metadata) run in planning mode, where a
node that joins later in the same run is planned in full; here the operation executes, so an
unregistered node is an error, raised after the registered nodes' commands.
"""

from __future__ import annotations

import pytest
from pyinfra.api import OperationError
from pyinfra.context import ctx_host, ctx_state
from pyinfra_testing.util import FakeState, create_host

from operations import kubernetes_node

REGISTERED = {"labels": {"kubernetes.io/hostname": "erenford"}, "annotations": {}, "taints": []}


def test_unregistered_node_fails_after_the_registered_nodes_are_reconciled():
    state = FakeState()
    state.is_executing = True
    host = create_host(state, facts={"kubernetes.ClusterNodes": {"erenford": REGISTERED}})
    nodes = {"erenford": {"labels": {"zone": "a"}, "taints": []}, "velaryon": {"labels": {}, "taints": []}}
    commands = []
    with ctx_state.use(state), ctx_host.use(host), pytest.raises(OperationError, match=r"node\(s\) velaryon not registered"):
        for command in kubernetes_node.metadata._inner(nodes=nodes):
            commands.append(command.get_raw_value())
    assert commands == [
        "kubectl --kubeconfig /etc/kubernetes/admin.conf label node erenford zone=a --overwrite",
        "kubectl --kubeconfig /etc/kubernetes/admin.conf annotate node erenford goldentooth.net/managed-labels=zone --overwrite",
    ]
