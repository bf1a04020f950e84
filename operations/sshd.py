"""sshd configuration that is validated before it can take effect.

A drop-in is installed only together with a passing `sshd -t` (exit 0 and empty stderr: a
missing host certificate exits 0 and only warns); otherwise the previous file is restored, so
sshd is never left with an invalid configuration (spec 90 §6).
"""

from __future__ import annotations

import hashlib
import posixpath
from io import StringIO

from pyinfra import host
from pyinfra.api import FileUploadCommand, OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.files import File, Sha256File

DROPIN_DIR = "/etc/ssh/sshd_config.d"
#: `sshd -t` must exit 0 with nothing on stderr; /run/sshd is its privilege separation directory.
CHECK = (
    'install -d -m 0755 -o root -g root /run/sshd; err=$(/usr/sbin/sshd -t 2>&1); rc=$?; '
    'if [ "$rc" -ne 0 ] || [ -n "$err" ]; then echo "sshd -t (exit $rc): $err" >&2; {on_fail}; exit 1; fi'
)
#: $1 = drop-in, $2 = new content beside it; keeps the previous content until sshd -t passes.
INSTALL = (
    'had=0; if [ -e "$1" ]; then cp -p "$1" "$1.goldentooth-previous"; had=1; fi; '
    'mv -f "$2" "$1" && chown root:root "$1" && chmod 0644 "$1" || exit 1; '
    + CHECK.format(
        on_fail='if [ "$had" -eq 1 ]; then mv -f "$1.goldentooth-previous" "$1"; else rm -f "$1"; fi; '
        'echo "restored the previous $1" >&2'
    )
    + '; rm -f "$1.goldentooth-previous"'
)
#: $1 = the service; reloads only a valid configuration.
RELOAD = CHECK.format(on_fail="echo 'not reloading' >&2") + '; systemctl try-reload-or-restart "$1"'


@operation()
def config_dropin(path: str, content: str):
    """
    Install an sshd drop-in only if sshd accepts the resulting configuration.

    + path: file under ``/etc/ssh/sshd_config.d/`` ending in ``.conf``
    + content: the whole file content

    The new file is validated with ``sshd -t`` in place; on failure the previous content is
    restored (or the new file removed) and the operation fails. Reloading is left to
    ``sshd.reload`` so that it happens once, after every file is in place.

    **Examples:**

    .. code:: python

        sshd.config_dropin(
            name="Configure sshd for host and user certificates",
            path="/etc/ssh/sshd_config.d/10-goldentooth-certificates.conf",
            content="HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\\n",
        )
    """
    if posixpath.dirname(path) != DROPIN_DIR or not path.endswith(".conf"):
        raise OperationError(f"sshd.config_dropin: {path!r} is not a {DROPIN_DIR}/*.conf file")
    if not content.strip():
        raise OperationError(f"sshd.config_dropin: empty content for {path}")
    current = host.get_fact(File, path=path)
    if (
        current
        and host.get_fact(Sha256File, path=path) == hashlib.sha256(content.encode()).hexdigest()
        and (current["user"], current["group"], current["mode"]) == ("root", "root", 644)
    ):
        host.noop(f"sshd drop-in {path} is up to date")
        return
    staged = f"{path}.goldentooth-new"
    yield FileUploadCommand(StringIO(content), staged, remote_temp_filename=host.get_temp_filename(staged))
    yield StringCommand("sh", "-c", QuoteString(INSTALL), "sshd-dropin", QuoteString(path), QuoteString(staged))


@operation(is_idempotent=False)
def reload(service: str = "ssh.service"):
    """
    Reload sshd after ``sshd -t`` passed (exit 0, empty stderr); fail without reloading otherwise.

    + service: the systemd unit (``ssh.service`` on Debian and Ubuntu; ``sshd.service`` is an alias)

    Uses ``systemctl try-reload-or-restart``: an inactive (socket-activated, idle) sshd stays
    inactive. Existing sessions survive. Run it with ``_if`` so it only follows a change.

    **Examples:**

    .. code:: python

        sshd.reload(
            name="Reload sshd to present the new host certificate",
            _if=any_changed(dropin, certificate),
        )
    """
    if not service.endswith(".service") or "/" in service:
        raise OperationError(f"sshd.reload: {service!r} is not a systemd service unit name")
    yield StringCommand("sh", "-c", QuoteString(RELOAD), "sshd-reload", QuoteString(service))
