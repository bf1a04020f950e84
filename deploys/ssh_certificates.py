"""SSH host and user certificates: host certificates, user CA trust, principals, client trust.

Usable alone (`pyinfra inventory.py deploys/ssh_certificates.py`) or composed by
deploys/kubernetes.py. Certificates are signed on the operator's machine with the CAs of
`goldentooth ssh-ca init`; only certificates and public keys reach the hosts (spec 90).
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.operations import files
from pyinfra.operations.util import any_changed

from goldentooth.inventory import current
from goldentooth.pki import cluster as identities
from goldentooth.pki.sshca import CADirectory
from operations import sshcert, sshd, text_files
from deploys import run_as_entry

USER_CA_FILE = "/etc/ssh/ssh_user_ca.pub"
PRINCIPALS_DIR = "/etc/ssh/auth_principals"
SSHD_DROPIN_FILE = "/etc/ssh/sshd_config.d/10-goldentooth-certificates.conf"
KNOWN_HOSTS_FILE = "/etc/ssh/ssh_known_hosts"
CLIENT_CONFIG_FILE = "/etc/ssh/ssh_config.d/10-goldentooth.conf"


def _put(name: str, path: str, content: str):
    return text_files.present(name=name, path=path, content=content, user="root", group="root", mode="644")


@deploy("SSH host and user certificates")
def ssh_certificates() -> None:
    cluster = current()
    node = cluster.host(host.name)
    ca_dir = CADirectory.at(node.get("ssh_ca_dir"))
    request = identities.host_request(node)

    sshcert.host_keys(name="Ensure sshd's host keys exist")
    certificate = sshcert.certificate(
        name="Sign the host key with the host CA (re-sign under the one-third rule)",
        path=identities.HOST_CERTIFICATE,
        key_path=identities.HOST_KEY,
        ca_dir=str(ca_dir.path),
        kind="host",
        key_id=request.key_id,
        principals=list(request.principals),
        validity=request.validity,
    )
    user_ca = _put("Trust the user CA for logins", USER_CA_FILE, ca_dir.authority("user").public_line() + "\n")
    files.directory(name="Create the principals directory", path=PRINCIPALS_DIR, user="root", group="root", mode="755")
    for user in node.get("ssh_cert_login_users"):
        _put(
            f"Allow certificate logins as {user}",
            f"{PRINCIPALS_DIR}/{user}",
            identities.principals_file(cluster, node, user),
        )
    dropin = sshd.config_dropin(
        name="Configure sshd for certificates (validated with sshd -t)",
        path=SSHD_DROPIN_FILE,
        content=identities.SSHD_DROPIN,
    )
    sshd.reload(name="Reload sshd", _if=any_changed(certificate, user_ca, dropin))

    host_ca = ca_dir.authority("host").public_line()
    _put("Trust the host CA for cluster names only", KNOWN_HOSTS_FILE, identities.cert_authority_line(cluster, host_ca))
    _put("Keep strict host key checking for cluster names", CLIENT_CONFIG_FILE, identities.client_config(cluster))

    replication = identities.replication_request(cluster)
    if replication and host.name == cluster.zfs_source:
        key = str(node.get("zfs_replication_ssh_key"))
        sshcert.keypair(name="Generate the ZFS replication key", path=key, comment=replication.key_id)
        sshcert.certificate(
            name="Sign the ZFS replication key with the user CA",
            path=f"{key}-cert.pub",
            key_path=f"{key}.pub",
            ca_dir=str(ca_dir.path),
            kind="user",
            key_id=replication.key_id,
            principals=list(replication.principals),
            validity=replication.validity,
            critical_options=dict(replication.critical_options),
        )


run_as_entry(globals(), ssh_certificates)
