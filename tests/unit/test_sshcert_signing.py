"""sshcert.certificate when it signs: the upload is a fresh certificate (random serial and nonce),
so this case is checked by parsing the upload instead of a fixed fixture."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pyinfra.api import FileUploadCommand
from pyinfra.context import ctx_host, ctx_state
from pyinfra_testing.util import FakeState, create_host

from goldentooth.pki.certificates import describe, parse
from goldentooth.pki.sshca import CADirectory, public_line
from operations import sshcert

CERT = "/etc/ssh/ssh_host_ed25519_key-cert.pub"
KEY = "/etc/ssh/ssh_host_ed25519_key.pub"
PRINCIPALS = ["bettley", "bettley.nodes.goldentooth.net", "10.4.0.11"]


def evaluate(ca_dir: Path, subject: str, current: dict | None) -> list:
    state = FakeState()
    host = create_host(
        state, facts={"sshcert.PublicKey": {f"path={KEY}": subject}, "sshcert.Certificate": {f"path={CERT}": current}}
    )
    with ctx_state.use(state), ctx_host.use(host):
        return list(
            sshcert.certificate._inner(
                path=CERT, key_path=KEY, ca_dir=str(ca_dir), kind="host", key_id="bettley",
                principals=PRINCIPALS, validity=2592000,
            )
        )


def test_missing_certificate_is_signed_once_per_run_and_logged_once(tmp_path: Path) -> None:
    ca = CADirectory.at(tmp_path / "ca")
    ca.init()
    subject = public_line(Ed25519PrivateKey.generate().public_key(), "root@bettley")
    first = evaluate(ca.path, subject, None)
    second = evaluate(ca.path, subject, None)  # pyinfra's execution pass evaluates the operation again
    upload, chown, chmod = first
    assert isinstance(upload, FileUploadCommand) and upload.dest == CERT
    assert (chown.get_raw_value(), chmod.get_raw_value()) == (f"chown root:root {CERT}", f"chmod 644 {CERT}")
    text = upload.src.getvalue()
    assert second[0].src.getvalue() == text and text.endswith(" bettley\n")
    fields = describe(parse(text))
    assert (fields["kind"], fields["key_id"], fields["principals"]) == ("host", "bettley", PRINCIPALS)
    assert fields["public_key"] == " ".join(subject.split()[:2])
    assert fields["valid_before"] - fields["valid_after"] == 2592000 + 300
    log = [json.loads(line) for line in ca.issued_log.read_text().splitlines()]
    assert [(entry["key_id"], entry["serial"]) for entry in log] == [("bettley", fields["serial"])]


def test_private_key_is_not_in_any_command(tmp_path: Path) -> None:
    ca = CADirectory.at(tmp_path / "ca")
    ca.init()
    subject = public_line(Ed25519PrivateKey.generate().public_key(), "root@bettley")
    commands = evaluate(ca.path, subject, None)
    secret = ca.authority("host").key_path.read_text()
    body = "".join(line for line in secret.splitlines() if not line.startswith("-----"))
    rendered = [command.src.getvalue() if isinstance(command, FileUploadCommand) else command.get_raw_value() for command in commands]
    assert all(body not in text and "PRIVATE KEY" not in text for text in rendered)
