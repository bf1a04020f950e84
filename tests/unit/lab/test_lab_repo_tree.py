"""Stand-in packages and the repository tree: names, versions, dependencies, layout, caching."""

import subprocess
from pathlib import Path

import pytest

from goldentooth.lab import catalog, repo
from goldentooth.lab.standins import KUBERNETES_RELEASES, StandIn, build_deb


def _field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def tree(tmp_path_factory, monkeypatch_module) -> Path:
    return repo.build_repository(tmp_path_factory.mktemp("cache"), "amd64", package_list=_list(tmp_path_factory))


def _list(factory) -> Path:
    listing = factory.mktemp("list") / "packages.txt"
    listing.write_text("haproxy\n")
    return listing


@pytest.fixture(scope="module")
def monkeypatch_module():
    """The Debian download replaced by one tiny local package: this module tests layout and caching."""
    calls = []

    def fake_closure(self, packages):
        calls.append(list(packages))
        return [build_deb(StandIn("haproxy", "2.6.12-1+deb12u2", "net", "fixture"), self.arch,
                          self.workdir / "cache/archives")]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(repo.ThrowawayApt, "download_closure", fake_closure)
        patch.setattr(repo.ThrowawayApt, "run", lambda self, *args: None)
        yield calls


def test_kubernetes_minor_repositories_carry_the_pinned_versions(tree):
    for minor, (versions, cri_tools, cni) in KUBERNETES_RELEASES.items():
        deb_dir = tree / f"kubernetes/core:/stable:/v{minor}/deb"
        index = (deb_dir / "Packages").read_text()
        for version in versions:
            for name in ("kubeadm", "kubelet", "kubectl"):
                assert f"Package: {name}\nVersion: {version}-1.1\n" in index
        assert f"Package: cri-tools\nVersion: {cri_tools}-1.1\n" in index
        assert f"Package: kubernetes-cni\nVersion: {cni}-1.1\n" in index
        assert (deb_dir / "Release.key").read_text().startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        assert (deb_dir / "InRelease").exists() and (deb_dir / "Release.gpg").exists()
    assert "1.33" not in (tree / "kubernetes/core:/stable:/v1.32/deb/Packages").read_text()


def test_kubelet_metadata_and_files_follow_upstream(tree):
    deb = tree / "kubernetes/core:/stable:/v1.32/deb/amd64/kubelet_1.32.3-1.1_amd64.deb"
    assert "kubernetes-cni (>= 1.2.0)" in _field(deb, "Depends")
    assert _field(deb, "Recommends") == "iptables (>= 1.8.4)"
    contents = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True).stdout
    assert "./usr/lib/systemd/system/kubelet.service" in contents and "./usr/bin/kubelet" in contents
    kubeadm = tree / "kubernetes/core:/stable:/v1.32/deb/amd64/kubeadm_1.32.7-1.1_amd64.deb"
    listing = subprocess.run(["dpkg-deb", "-c", str(kubeadm)], capture_output=True, text=True).stdout
    assert "kubelet.service.d/10-kubeadm.conf" in listing
    assert "./usr/lib/goldentooth-lab/kubeadm/doubles/kubeadm.py" in listing


def test_debian_repository_holds_the_list_plus_what_stand_ins_need(tree, monkeypatch_module):
    requested = monkeypatch_module[0]
    assert "haproxy" in requested and {"python3-yaml", "openssl", "iptables"} <= set(requested)
    assert "kubernetes-cni" not in requested
    index = (tree / "debian/dists/bookworm/main/binary-amd64/Packages").read_text()
    assert "Package: haproxy" in index and "Filename: pool/main/haproxy_" in index
    assert (tree / "debian/dists/bookworm/InRelease").exists()


def test_docker_and_nvidia_layouts(tree):
    docker = tree / "docker/linux/debian"
    assert "Package: docker-ce\n" in (docker / "dists/bookworm/stable/binary-amd64/Packages").read_text()
    assert (docker / "gpg").exists()
    nvidia = tree / "nvidia-container-toolkit/libnvidia-container"
    index = (nvidia / "stable/deb/amd64/Packages").read_text()
    assert "Package: nvidia-container-toolkit\nVersion: 1.17.8-1" in index
    assert "nvidia-container-toolkit-base (= 1.17.8-1)" in index
    assert (nvidia / "gpgkey").exists()


def test_rebuild_only_when_inputs_change(tmp_path, monkeypatch_module):
    listing = tmp_path / "packages.txt"
    listing.write_text("haproxy\n")
    before = len(monkeypatch_module)
    first = repo.build_repository(tmp_path / "cache", "amd64", package_list=listing)
    index = first / "kubernetes/core:/stable:/v1.32/deb/Packages"
    stamp = index.stat().st_mtime_ns
    assert repo.build_repository(tmp_path / "cache", "amd64", package_list=listing) == first
    assert len(monkeypatch_module) == before + 1
    assert index.stat().st_mtime_ns == stamp
    listing.write_text("haproxy\nchrony\n")
    second = repo.build_repository(tmp_path / "cache", "amd64", package_list=listing)
    assert len(monkeypatch_module) == before + 2 and "chrony" in monkeypatch_module[-1]
    assert second != first and first.is_dir(), "a tree being served is never replaced under its server"
    assert second.joinpath("kubernetes").resolve() == first.joinpath("kubernetes").resolve()


def test_apt_data_points_every_upstream_key_below_the_base_url():
    data = repo.apt_data("http://10.4.0.1:8080/")
    assert data["kubernetes_apt_base"] == "http://10.4.0.1:8080/kubernetes/core:/stable:"
    assert data["docker_apt_key_url"].endswith("/docker/linux/debian/gpg")
    assert all(value.startswith("http://10.4.0.1:8080/") for value in data.values())
    assert catalog.debian_dependencies() >= {"python3", "python3-yaml", "openssl", "mount", "util-linux"}
