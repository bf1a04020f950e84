"""The CLI explains itself, validates before acting and uses reliable exit codes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from goldentooth import PROJECT_ROOT
from goldentooth.cli import load_commands

CLI = load_commands()


def run(*args: str):
    return CliRunner().invoke(CLI, list(args), catch_exceptions=False)


def test_top_level_help_lists_commands() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for name in ("hosts", "command", "deploy", "plan", "validate"):
        assert f"  {name} " in result.output


@pytest.mark.parametrize("name", sorted(CLI.commands))
def test_every_command_has_help(name: str) -> None:
    result = run(name, "--help")
    assert result.exit_code == 0
    help_text = CLI.commands[name].help or ""
    assert len(help_text.strip()) > 20, f"{name} needs a real description"
    summary = " ".join(help_text.strip().splitlines()[0].split())
    assert summary in " ".join(result.output.split())


def test_validate_valid_inventory() -> None:
    result = run("validate")
    assert result.exit_code == 0
    assert "valid (13 hosts" in result.output


def test_validate_invalid_inventory_exits_2(make_inventory) -> None:
    path = make_inventory("", {"all": 'service_cidr = "172.0.0.0/8"'})
    result = CliRunner().invoke(CLI, ["-i", str(path), "validate"])
    assert result.exit_code == 2
    assert "all: service_cidr: [service-cidr-size]" in result.output


def test_hosts_group_filter() -> None:
    result = run("hosts", "k8s_control_plane")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == ["bettley", "cargyll", "dalt"]


def test_hosts_never_prints_secrets() -> None:
    result = run("hosts")
    assert result.exit_code == 0
    assert "test-only-password" not in result.output
    assert "secrets                  all set" in result.output


def test_unknown_target_is_a_usage_error() -> None:
    result = run("command", "nosuchgroup", "true")
    assert result.exit_code == 2
    assert "'nosuchgroup' is neither a host nor a group" in result.output


def test_unknown_deploy_lists_the_real_ones() -> None:
    result = run("deploy", "nosuchdeploy")
    assert result.exit_code == 2
    assert "no deploy named 'nosuchdeploy'" in result.output


def test_inventory_option_must_exist() -> None:
    result = run("-i", str(PROJECT_ROOT / "missing.py"), "validate")
    assert result.exit_code == 2
