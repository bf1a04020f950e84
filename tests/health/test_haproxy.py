"""HAProxy API load balancer (spec 20-load-balancer.md Checks, 99-verification.md LB-1..3)."""

from __future__ import annotations

import pytest

from goldentooth.health.checks import addresses_on, listeners, package_status, tcp_connect, unit_state

pytestmark = pytest.mark.groups("load_balancer")

CONFIG = "/etc/haproxy/haproxy.cfg"


def section(text: str, header: str) -> list[str]:
    """The stripped lines of one haproxy.cfg section (`frontend k8s-api-server`)."""
    lines, inside = [], False
    for line in text.splitlines():
        if line and not line[0].isspace():
            inside = line.strip() == header
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


@pytest.fixture
def config(node) -> str:
    return node.file(CONFIG).content_string


@pytest.mark.parametrize("package", ["haproxy", "rsyslog"])
def test_packages_installed(node, package):
    status = package_status(node, package)
    assert status is not None and status.installed, f"{package}: {status}"


@pytest.mark.parametrize("unit", ["haproxy.service", "rsyslog.service"])
def test_services_enabled_and_active(node, unit):
    state = unit_state(node, unit)
    assert state.enabled and state.active, state


def test_config_owner_and_mode(node):
    stat = node.file(CONFIG)
    assert (stat.user, stat.group, stat.mode) == ("root", "haproxy", 0o640)


def test_config_validates_without_warnings(node):
    result = node.run("haproxy -c -f %s", CONFIG)
    assert result.rc == 0, result.stderr
    assert "[WARNING]" not in result.stdout + result.stderr


def test_api_frontend_and_backend(node, config, cluster):
    frontend = section(config, "frontend k8s-api-server")
    backend = section(config, "backend k8s-api-server")
    endpoint = f"{node.data['api_endpoint_host']}:{node.data['api_endpoint_port']}"
    assert f"bind {endpoint}" in frontend and "mode tcp" in frontend
    assert f"timeout client {node.data['haproxy_api_timeout']}" in frontend
    assert f"timeout server {node.data['haproxy_api_timeout']}" in backend
    for line in ("mode tcp", "balance roundrobin", "option httpchk", "http-check expect status 200",
                 f"http-check send meth GET uri {node.data['haproxy_health_path']}"):
        assert line in backend, line
    servers = [line for line in backend if line.startswith("server ")]
    port = node.data["api_endpoint_port"]
    assert servers == [f"server {cp.name} {cp.address}:{port}" for cp in cluster.group("k8s_control_plane")]


def test_stats_frontend(node, config):
    stats = section(config, "frontend stats")
    for line in (f"bind *:{node.data['haproxy_stats_port']}", f"stats uri {node.data['haproxy_stats_uri']}",
                 "stats refresh 10s", "stats hide-version"):
        assert line in stats, line
    auth = [line for line in stats if line.startswith("stats auth ")]
    assert len(auth) == 1 and auth[0].startswith(f"stats auth {node.data['haproxy_stats_user']}:")


def test_no_candidate_left(node):
    assert not node.file(f"{CONFIG}.candidate").exists


def test_listening_sockets(node):
    sockets = listeners(node)
    assert node.data["api_endpoint_host"] in addresses_on(sockets, node.data["api_endpoint_port"])
    assert addresses_on(sockets, node.data["haproxy_stats_port"]) & {"0.0.0.0", "*"}
    assert tcp_connect(node, node.data["api_endpoint_host"], node.data["api_endpoint_port"])


def test_stats_requires_the_password(node):
    """401 without credentials, 200 with the ones in the config (read on the host, never sent)."""
    url = f"http://{node.data['api_endpoint_host']}:{node.data['haproxy_stats_port']}{node.data['haproxy_stats_uri']}"
    status = "curl -s -o /dev/null -w %%{http_code} %s"
    assert node.check_output(status, url) == "401"
    credentials = "sed -n 's/^ *stats auth \\(.*\\)$/user = \"\\1\"/p' %s"
    with_auth = node.run(f"{credentials} | curl -s -o /dev/null -w %%{{http_code}} -K - %s", CONFIG, url)
    assert with_auth.stdout == "200", with_auth.stderr


def test_rsyslog_haproxy_log(node):
    snippet = node.file("/etc/rsyslog.d/49-haproxy.conf")
    assert snippet.exists and "/var/log/haproxy.log" in snippet.content_string


def test_not_a_kubernetes_node(node):
    assert not node.file("/etc/kubernetes/kubelet.conf").exists
    assert not unit_state(node, "kubelet.service").active


def test_config_matches_data(node, cluster):
    """The live file is exactly what the deploy renders from this inventory (no drift)."""
    from deploys.load_balancer import haproxy_config

    if "haproxy_stats_password" not in cluster.settings:
        pytest.skip("the stats password is not in this inventory's secrets")
    assert node.file(CONFIG).content_string == haproxy_config(cluster, node.inventory)
