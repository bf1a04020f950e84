"""A broken backend definition in data never reaches the live HAProxy file (fixture level).

The lab test (tests/lab) proves the same on a running HAProxy; here the operation's command list
shows the order: upload to the candidate, validate it, and only then rename it over the live file.
pyinfra stops an operation at its first failing command, so a rejected candidate is never moved.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pyinfra.api import FileUploadCommand, StringCommand
from pyinfra.context import ctx_host, ctx_state
from pyinfra_testing.util import FakeState, create_host

from deploys.load_balancer import haproxy_config
from goldentooth.inventory import load_inventory
from operations import haproxy

ROOT = Path(__file__).resolve().parents[2]
LIVE = "/etc/haproxy/haproxy.cfg"


def test_broken_backend_is_validated_before_it_could_replace_the_live_file(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("haproxy_stats_password: fixture-password\n")
    secrets.chmod(0o600)
    monkeypatch.setenv("GOLDENTOOTH_SECRETS", str(secrets))
    cluster = load_inventory(ROOT / "inventory.py")
    lb = cluster.host("allyrion")
    broken = replace(lb, data={**lb.data, "haproxy_check_inter": "2 s"})  # HAProxy: unknown keyword 's'
    text = haproxy_config(cluster, broken)
    assert "inter 2 s" in text

    facts = {"files.FileStates": {f"paths=['{LIVE}']": {LIVE: {"sha256": "0" * 64, "user": "root",
                                                               "group": "haproxy", "mode": "640"}}}}
    state = FakeState()
    host = create_host(state, facts=facts)
    with ctx_state.use(state), ctx_host.use(host):
        commands = list(haproxy.config._inner(content=text))

    uploads = [command for command in commands if isinstance(command, FileUploadCommand)]
    shell = [command.get_raw_value() for command in commands if isinstance(command, StringCommand)]
    assert [upload.dest for upload in uploads] == [f"{LIVE}.candidate"]
    uploads[0].src.seek(0)
    assert uploads[0].src.read() == text
    validate = shell.index(f"haproxy -c -dW -f {LIVE}.candidate")
    move = shell.index(f"mv -f {LIVE}.candidate {LIVE}")
    assert validate < move == len(shell) - 1
    assert not [line for line in shell[:move] if LIVE in line.replace(f"{LIVE}.candidate", "")]
