"""Index and Release generation on tiny locally built packages, checked with apt and gpgv."""

import gzip
import hashlib
import subprocess
from pathlib import Path

import pytest

from goldentooth.lab import apt_index
from goldentooth.lab.apt_index import ReleaseInfo
from goldentooth.lab.debian_mirror import ThrowawayApt, read_package_list
from goldentooth.lab.signing import LabKey
from goldentooth.lab.standins import StandIn, build_deb

TINY = [StandIn("gt-tiny", "1.0-1", "misc", "tiny test package", files={"/usr/share/gt-tiny/a": ("a\n", 0o644)}),
        StandIn("gt-tiny", "1.1-1", "misc", "tiny test package", files={"/usr/share/gt-tiny/a": ("b\n", 0o644)}),
        StandIn("gt-other", "2:0.5-3", "misc", "depends on tiny", depends=("gt-tiny (>= 1.1)",))]


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> LabKey:
    return LabKey.ensure(tmp_path_factory.mktemp("key"))


def _release_entries(release: str) -> dict[str, tuple[str, int]]:
    section = release.split("SHA256:\n", 1)[1]
    entries = {}
    for line in section.splitlines():
        if not line.startswith(" "):
            break
        digest, size, name = line.split()
        entries[name] = (digest, int(size))
    return entries


def test_flat_repository_lists_every_version_with_checksums(tmp_path, key):
    for package in TINY:
        build_deb(package, "amd64", tmp_path / "amd64")
    apt_index.index_flat(tmp_path, "amd64", ReleaseInfo("o", "l", "./"), key)
    packages = (tmp_path / "Packages").read_text()
    assert packages.count("Package: gt-tiny\n") == 2
    assert "Version: 2:0.5-3" in packages and "Depends: gt-tiny (>= 1.1)" in packages
    assert gzip.decompress((tmp_path / "Packages.gz").read_bytes()).decode() == packages
    entries = _release_entries((tmp_path / "Release").read_text())
    for name in ("Packages", "Packages.gz"):
        data = (tmp_path / name).read_bytes()
        assert entries[name] == (hashlib.sha256(data).hexdigest(), len(data))
    for block in packages.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        deb = (tmp_path / fields["Filename"]).read_bytes()
        assert fields["SHA256"] == hashlib.sha256(deb).hexdigest()


def test_signatures_verify_with_the_exported_key_only(tmp_path, key):
    build_deb(TINY[0], "amd64", tmp_path / "pool/main")
    apt_index.index_dists(tmp_path, "bookworm", "main", "amd64", ReleaseInfo("o", "l", "stable", "bookworm"), key)
    keyring = tmp_path / "key.gpg"
    subprocess.run(["gpg", "--dearmor", "-o", str(keyring)], input=key.public_armoured().encode(), check=True)
    suite = tmp_path / "dists/bookworm"
    subprocess.run(["gpgv", "--keyring", str(keyring), str(suite / "InRelease")], check=True, capture_output=True)
    subprocess.run(["gpgv", "--keyring", str(keyring), str(suite / "Release.gpg"), str(suite / "Release")],
                   check=True, capture_output=True)
    (suite / "Release").write_text((suite / "Release").read_text().replace("bookworm", "trixie"))
    tampered = subprocess.run(["gpgv", "--keyring", str(keyring), str(suite / "Release.gpg"), str(suite / "Release")],
                              capture_output=True)
    assert tampered.returncode != 0


def test_apt_accepts_the_signed_repository_and_resolves_versions(tmp_path, key):
    repo = tmp_path / "repo"
    for package in TINY:
        build_deb(package, "amd64", repo / "amd64")
    apt_index.index_flat(repo, "amd64", ReleaseInfo("o", "l", "./"), key)
    (tmp_path / "key.asc").write_text(key.public_armoured())
    sources = f"Types: deb\nURIs: file:{repo}/\nSuites: /\nSigned-By: {tmp_path / 'key.asc'}\n"
    apt = ThrowawayApt(tmp_path / "apt", "amd64", sources)
    apt.run("update")
    policy = subprocess.run(["apt-cache", *apt.options(), "policy", "gt-tiny"], capture_output=True, text=True).stdout
    assert "Candidate: 1.1-1" in policy and "1.0-1" in policy
    simulated = subprocess.run(["apt-get", *apt.options(), "install", "-s", "gt-other"], capture_output=True, text=True)
    assert simulated.returncode == 0 and "Inst gt-tiny (1.1-1" in simulated.stdout


def test_unsigned_key_mismatch_is_refused_by_apt(tmp_path, key):
    other = LabKey.ensure(tmp_path / "other")
    repo = tmp_path / "repo"
    build_deb(TINY[0], "amd64", repo / "amd64")
    apt_index.index_flat(repo, "amd64", ReleaseInfo("o", "l", "./"), key)
    (tmp_path / "wrong.asc").write_text(other.public_armoured())
    sources = f"Types: deb\nURIs: file:{repo}/\nSuites: /\nSigned-By: {tmp_path / 'wrong.asc'}\n"
    with pytest.raises(RuntimeError, match="NO_PUBKEY|not signed|signature"):
        ThrowawayApt(tmp_path / "apt", "amd64", sources).run("update", "-o", "APT::Update::Error-Mode=any")


def test_package_list_ignores_comments_and_duplicates(tmp_path):
    listing = tmp_path / "packages.txt"
    listing.write_text("# header\nhaproxy\n\ncurl  # fetcher\nhaproxy\n")
    assert read_package_list(listing) == ["curl", "haproxy"]
