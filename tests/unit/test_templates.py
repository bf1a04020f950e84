"""Golden-file tests: every template renders, for the default inventory, exactly the file the spec shows.

The deploys upload exactly what goldentooth.render produces, so these bytes are the bytes on hosts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deploys.containerd import config_template
from deploys.load_balancer import haproxy_config
from deploys.node_base import MODULES, SYSCTLS
from goldentooth.render import render

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


def test_haproxy_config_matches_spec_reference(cluster):
    assert haproxy_config(cluster, cluster.host("allyrion")) == golden("haproxy.cfg")


def test_haproxy_servers_follow_the_control_plane_group(cluster):
    text = haproxy_config(cluster, cluster.host("allyrion"))
    servers = [line.split()[1] for line in text.splitlines() if line.strip().startswith("server ")]
    assert servers == cluster.names("k8s_control_plane")


@pytest.mark.parametrize(
    ("installed", "version", "expected"),
    [
        ({"version": "1.7.27", "major": 1}, "1.7.27-1", "containerd-config-v2.toml"),
        ({"version": "2.0.5", "major": 2}, "1.7.27-1", "containerd-config-v3.toml"),
        (None, "1.6.20~ds1-1+b1", "containerd-config-v2.toml"),
        (None, "2.1.1-1", "containerd-config-v3.toml"),
    ],
)
def test_containerd_config_format_follows_the_major_version(cluster, installed, version, expected):
    template = config_template(installed, version)
    node = cluster.host("bettley")
    text = render(template, dropin_dir=node.get("containerd_dropin_dir"), sandbox_image=node.sandbox_image)
    assert text == golden(expected)
    assert "disabled_plugins" not in text


def test_crictl_yaml(cluster):
    assert render("crictl.yaml.j2", cri_socket=cluster.host("bettley").get("cri_socket")) == golden("crictl.yaml")


def test_docker_block_pin_never_lists_containerd(cluster):
    text = render("apt-block.pref.j2", packages=cluster.host("bettley").get("apt_blocked_packages"))
    assert text == golden("goldentooth-block-docker.pref")
    assert "containerd" not in text.split("Package:")[1].split("\n")[0]


def test_kubernetes_deb822_source(cluster):
    node = cluster.host("bettley")
    text = render("deb822.sources.j2", uri=node.kubernetes_apt_repo_url, suite="/", components=[], arch="arm64",
                  keyring=node.get("kubernetes_apt_keyring"))
    assert text == golden("kubernetes.sources")


def test_docker_deb822_source_for_ubuntu(cluster):
    node = cluster.host("velaryon")
    text = render("deb822.sources.j2", uri=node.get("docker_apt_url").format(os_id="ubuntu"), suite="noble",
                  components=["stable"], arch="amd64", keyring=node.get("docker_apt_keyring"))
    assert text == golden("docker.sources")


def test_node_base_files(cluster):
    assert render("sysctl.conf.j2", values=SYSCTLS) == golden("99-kubernetes.conf")
    assert render("modules-load.conf.j2", modules=MODULES) == golden("modules-load-kubernetes.conf")
    assert render("journald.conf.j2", system_max_use=cluster.host("fenn").get("journald_system_max_use")) == golden(
        "60-goldentooth.conf"
    )
    servers = ["time1.example.net", "time2.example.net"]
    assert render("chrony.sources.j2", servers=servers) == golden("goldentooth.sources")
    assert render("timesyncd.conf.j2", servers=servers) == golden("timesyncd-goldentooth.conf")


def test_raspberry_pi_config_block(cluster):
    from dataclasses import replace

    from deploys._context import NodeContext
    from deploys.node_base import pi_config_lines

    pi4 = cluster.host("bettley")
    assert pi_config_lines(NodeContext(pi4, {})) == [
        "[all]", "arm_boost=1", "arm_freq=2000", "over_voltage=6",
        "dtoverlay=gpio-fan,gpiopin=14,temp=60000", "dtoverlay=disable-wifi",
    ]
    pi5 = replace(pi4, data={**pi4.data, "hardware": "pi5", "pi_disable_wifi": False})
    assert pi_config_lines(NodeContext(pi5, {})) == ["[all]", "dtoverlay=gpio-fan,gpiopin=14,temp=60000"]
