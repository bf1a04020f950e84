"""Health checks over SSH against any goldentooth inventory (the real cluster or a lab).

    pytest tests/health --inventory .lab/inventory.py [--groups k8s_cluster] [--capability base]

Every test that takes the `node` fixture declares its hosts with `@pytest.mark.groups(...)` and
runs once per host (ids = inventory names). `node` is a testinfra host over `ssh://` with the
inventory host attached (`node.name`, `node.inventory`, `node.data`); `cluster` is the inventory;
`hosts` lists the hosts chosen for this run and `connect(name)` reaches any of them. Checks marked kernel/cluster/gpu/e2e/slow/operator/
idempotency are skipped with a reason on lab hosts (goldentooth.health.selection).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from goldentooth.cli import default_inventory
from goldentooth.errors import GoldentoothError, InvalidInventory
from goldentooth.health import selection
from goldentooth.health.node import Node, connect as connect_node
from goldentooth.inventory import load_inventory
from goldentooth.model import Cluster

HERE = Path(__file__).parent
CLUSTER = pytest.StashKey[Cluster]()
CHOSEN = pytest.StashKey["set[str] | None"]()
CAPABILITIES = pytest.StashKey["set[str]"]()


def capabilities() -> list[str]:
    """Capability names: one per tests/health/test_<capability>.py."""
    return sorted(path.stem.removeprefix("test_") for path in HERE.glob("test_*.py"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("goldentooth", "goldentooth health checks")
    group.addoption("--inventory", help="inventory file (default: $GOLDENTOOTH_INVENTORY or inventory.py)")
    group.addoption("--groups", help="only these hosts and groups (comma-separated)")
    group.addoption(
        "--capability",
        action="append",
        default=[],
        help="only tests/health/test_<capability>.py (repeat or comma-separate)",
    )


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("inventory") or default_inventory()
    try:
        cluster = load_inventory(path)
        chosen = selection.chosen_hosts(cluster, config.getoption("groups"))
    except InvalidInventory as error:
        raise pytest.UsageError(error.render()) from None
    except (GoldentoothError, selection.SelectionError, OSError) as error:
        raise pytest.UsageError(f"goldentooth: {error}") from None
    wanted = {name.strip() for value in config.getoption("capability") for name in value.split(",") if name.strip()}
    unknown = wanted - set(capabilities())
    if unknown:
        raise pytest.UsageError(
            f"unknown capability {', '.join(sorted(unknown))}; known: {', '.join(capabilities())}"
        )
    config.stash[CLUSTER] = cluster
    config.stash[CHOSEN] = chosen
    config.stash[CAPABILITIES] = wanted


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    wanted = config.stash.get(CAPABILITIES, set())
    if wanted and collection_path.parent == HERE and collection_path.name.startswith("test_"):
        return collection_path.stem.removeprefix("test_") not in wanted
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "node" not in metafunc.fixturenames:
        return
    mark = metafunc.definition.get_closest_marker("groups")
    if mark is None:
        pytest.fail(f"{metafunc.definition.nodeid} uses `node` without @pytest.mark.groups(...)", pytrace=False)
    config = metafunc.config
    try:
        names = selection.hosts_for(config.stash[CLUSTER], mark.args, mark.kwargs.get("where"), config.stash[CHOSEN])
    except selection.SelectionError as error:
        pytest.fail(f"{metafunc.definition.nodeid}: {error}", pytrace=False)
    metafunc.parametrize("node", names, ids=names, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop tests that select no host; label each with host and capability; skip lab-incapable ones."""
    cluster = config.stash[CLUSTER]
    kept, dropped = [], []
    for item in items:
        if HERE not in item.path.parents:
            kept.append(item)  # collected in the same run from elsewhere: not a health check
            continue
        params = getattr(item, "callspec", None)
        host = params.params.get("node") if params else None
        if "node" in getattr(item, "fixturenames", ()) and not isinstance(host, str):
            dropped.append(item)  # empty parameter set: no selected host is in the test's groups
            continue
        kept.append(item)
        if host:
            item.user_properties.append(("host", host))
        item.user_properties.append(("capability", item.path.stem.removeprefix("test_")))
        reason = selection.lab_skip_reason(item.iter_markers(), selection.is_lab(cluster, host))
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Cluster:
    """The inventory under test."""
    return request.config.stash[CLUSTER]


@pytest.fixture(scope="session")
def hosts(request: pytest.FixtureRequest, cluster: Cluster) -> list[str]:
    """Names of the hosts this run checks (--groups), in inventory order, for cross-host checks."""
    chosen = request.config.stash[CHOSEN]
    return [name for name in cluster.hosts if chosen is None or name in chosen]


@pytest.fixture(scope="session")
def connect(cluster: Cluster) -> Callable[[str], Node]:
    """Reach any inventory host by name (for cross-host and cluster-level checks)."""
    return lambda name: connect_node(cluster, name)


@pytest.fixture
def node(request: pytest.FixtureRequest, cluster: Cluster) -> Node:
    """The host this test instance checks (parametrised from the test's groups marker)."""
    return connect_node(cluster, request.param)
