"""What every deploy needs to know about the host it is planning for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyinfra import host, logger
from pyinfra.api.exceptions import DeployError

from facts.host import HostProfile
from goldentooth.inventory import current
from goldentooth.model import Host


@dataclass(frozen=True)
class NodeContext:
    """The inventory's view of the host (data, derived values) and the host's own facts."""

    node: Host
    profile: dict[str, Any]

    @property
    def container(self) -> bool:
        """The host is a container (the lab): kernel-level steps are skipped with a warning."""
        return self.profile.get("container") is not None

    def data(self, key: str) -> Any:
        return self.node.get(key)

    def format_url(self, key: str) -> str:
        """A URL data key with `{os_id}`/`{os_codename}` filled in from facts."""
        return str(self.node.get(key)).format(
            os_id=self.profile["os_id"], os_codename=self.profile["os_codename"]
        )


_PROFILES: dict[str, dict[str, Any]] = {}


def node_context() -> NodeContext:
    """The context for the current host; refuses a host whose OS or architecture differs from data.

    Raised before any operation runs (pyinfra plans every host before executing), so a wrong host
    is never touched (spec 00 §6.2 rules 1-3).
    """
    node = current().host(host.name)
    if host.name not in _PROFILES:  # OS, architecture and hardware do not change during a run
        _PROFILES[host.name] = host.get_fact(HostProfile)
    profile = _PROFILES[host.name]
    actual_os = f"{profile['os_id']} {profile['os_version_id']}"
    problems = []
    if profile["arch"] != node.expected_arch:
        problems.append(f"expected_arch: dpkg reports {profile['arch']}, data says {node.expected_arch}")
    if actual_os != node.expected_os:
        problems.append(f"expected_os: /etc/os-release reports {actual_os}, data says {node.expected_os}")
    if profile["container"] is None and profile["is_raspberry_pi"] != node.in_group("raspberry_pi"):
        problems.append(
            f"raspberry_pi: device-tree model is {profile['model']!r}, "
            f"group membership says {'a' if node.in_group('raspberry_pi') else 'no'} Raspberry Pi"
        )
    if problems:
        raise DeployError(f"{host.name}: host does not match the inventory: " + "; ".join(problems))
    context = NodeContext(node, profile)
    if context.container and not node.get("lab"):
        logger.warning(f"{host.name}: runs in a container ({profile['container']}) but is not a lab host")
    return context
