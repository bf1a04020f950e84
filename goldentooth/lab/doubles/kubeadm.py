"""kubeadm double: the command-line surface of kubeadm 1.32/1.33 for the commands the engine uses.

Every subcommand and flag of the real CLI for these commands is recognised; anything else is
rejected as kubeadm does (``unknown flag: --x``, exit 1). Flags the real kubeadm accepts but the
double does not implement fail with a message saying so. Failure injection for rollout tests:
if /var/lib/kubeadm-double/inject-failure exists and names a command (e.g. ``upgrade node``),
that command fails until the file is removed.
"""

from __future__ import annotations

import json
import sys

from . import admin, certs, lifecycle
from .common import Failure, Flags, UsageError, path, run_logged

GLOBAL = {"v": ("str", "0"), "rootfs": ("str", ""), "add-dir-header": ("bool", False), "log-file": ("str", ""),
          "log-file-max-size": ("str", "1800"), "one-output": ("bool", False), "skip-headers": ("bool", False),
          "skip-log-headers": ("bool", False)}
S, B, L = ("str", ""), ("bool", False), ("list", [])
CONFIG_ONLY = {"config": S, "dry-run": B, "ignore-preflight-errors": L, "skip-phases": L, "patches": S}
INIT = {**CONFIG_ONLY, "apiserver-advertise-address": S, "apiserver-bind-port": S, "apiserver-cert-extra-sans": L,
        "cert-dir": S, "certificate-key": S, "control-plane-endpoint": S, "cri-socket": S, "feature-gates": S,
        "image-repository": S, "kubernetes-version": S, "node-name": S, "pod-network-cidr": S, "service-cidr": S,
        "service-dns-domain": S, "skip-certificate-key-print": B, "skip-token-print": B, "token": S,
        "token-ttl": S, "upload-certs": B}
JOIN = {**CONFIG_ONLY, "apiserver-advertise-address": S, "apiserver-bind-port": S, "certificate-key": S,
        "control-plane": B, "cri-socket": S, "discovery-file": S, "discovery-token": S,
        "discovery-token-ca-cert-hash": L, "discovery-token-unsafe-skip-ca-verification": B, "node-name": S,
        "tls-bootstrap-token": S, "token": S}
KUBECONFIG = {"kubeconfig": ("str", "/etc/kubernetes/admin.conf")}
UPGRADE_COMMON = {"config": S, "ignore-preflight-errors": L, **KUBECONFIG, "allow-experimental-upgrades": B,
                  "allow-release-candidate-upgrades": B, "print-config": B}
COMMANDS: dict[tuple[str, ...], tuple[dict, dict, object]] = {
    ("init",): (INIT, {}, lifecycle.init),
    ("init", "phase", "upload-certs"): ({"certificate-key": S, "config": S, "dry-run": B, **KUBECONFIG,
                                        "skip-certificate-key-print": B, "upload-certs": B}, {}, lifecycle.upload_certs),
    ("join",): (JOIN, {}, lifecycle.join),
    ("token", "create"): ({"certificate-key": S, "config": S, "description": S, "groups": L, "dry-run": B,
                           "print-join-command": B, "ttl": ("str", "24h0m0s"), "usages": L, **KUBECONFIG},
                          {}, admin.token_create),
    ("token", "delete"): ({"dry-run": B, **KUBECONFIG}, {}, admin.token_delete),
    ("token", "list"): ({"output": ("str", "text"), "dry-run": B, **KUBECONFIG, "show-managed-fields": B,
                         "allow-missing-template-keys": ("bool", True)}, {"o": "output"}, admin.token_list),
    ("certs", "certificate-key"): ({}, {}, certs.certificate_key),
    ("certs", "check-expiration"): ({"cert-dir": ("str", "/etc/kubernetes/pki"), "config": S, **KUBECONFIG,
                                     "output": ("str", "text"), "show-managed-fields": B,
                                     "allow-missing-template-keys": ("bool", True)}, {"o": "output"},
                                    certs.check_expiration),
    ("certs", "renew"): ({"cert-dir": ("str", "/etc/kubernetes/pki"), "config": S, **KUBECONFIG}, {}, certs.renew),
    ("upgrade", "plan"): ({**UPGRADE_COMMON, "output": ("str", "text"), "show-managed-fields": B}, {"o": "output"},
                          admin.upgrade_plan),
    ("upgrade", "apply"): ({**UPGRADE_COMMON, "certificate-renewal": ("bool", True), "dry-run": B,
                            "etcd-upgrade": ("bool", True), "force": B, "patches": S, "yes": B},
                           {"f": "force", "y": "yes"}, admin.upgrade_apply),
    ("upgrade", "node"): ({"certificate-renewal": ("bool", True), "config": S, "dry-run": B,
                           "etcd-upgrade": ("bool", True), "ignore-preflight-errors": L, **KUBECONFIG, "patches": S,
                           "skip-phases": L}, {}, admin.upgrade_node),
    ("config", "images", "list"): ({"config": S, "kubernetes-version": ("str", "stable-1"), "image-repository": S,
                                    "feature-gates": S, "output": ("str", "text"),
                                    "allow-missing-template-keys": ("bool", True), "show-managed-fields": B},
                                   {"o": "output"}, admin.images_list),
    ("config", "images", "pull"): ({"config": S, "kubernetes-version": ("str", "stable-1"), "image-repository": S,
                                    "feature-gates": S, "cri-socket": S}, {}, admin.images_pull),
    ("config", "validate"): ({"config": S, "allow-experimental-api": B}, {}, admin.config_validate),
    ("reset",): ({"cert-dir": ("str", "/etc/kubernetes/pki"), "cleanup-tmp-dir": B, "config": S, "cri-socket": S,
                  "dry-run": B, "force": B, "ignore-preflight-errors": L, **KUBECONFIG, "skip-phases": L},
                 {"f": "force"}, admin.reset),
    ("version",): ({"output": S}, {"o": "output"}, None),
}
GROUPS = {("init", "phase"), ("token",), ("certs",), ("upgrade",), ("config",), ("config", "images")}
INJECT_FILE = "/var/lib/kubeadm-double/inject-failure"


def resolve(argv: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """The longest known command path at the start of ``argv`` (flags may come first)."""
    words = [a for a in argv if not a.startswith("-")]
    for length in (3, 2, 1):
        candidate = tuple(words[:length])
        if candidate in COMMANDS:
            rest = list(argv)
            for word in candidate:
                rest.remove(word)
            return candidate, rest
    for length in (2, 1):
        group = tuple(words[:length])
        if group in GROUPS:
            name = " ".join(group)
            if len(words) == length:
                raise UsageError(f'missing subcommand for "kubeadm {name}"')
            raise UsageError(f'unknown command "{words[length]}" for "kubeadm {name}"')
    if not words:
        raise UsageError("missing subcommand")
    raise UsageError(f'unknown command "{words[0]}" for "kubeadm"')


def main(argv: list[str], version: str) -> int:
    def body(details: dict) -> int:
        command, rest = resolve(argv)
        spec, short, action = COMMANDS[command]
        values, positional = Flags({**spec, **GLOBAL}, short).parse(rest)
        details["command"] = " ".join(command)
        if command == ("version",):
            return _version(values, version)
        injected = path(INJECT_FILE)
        if injected.exists() and " ".join(command).startswith(injected.read_text().strip()):
            raise Failure(f"error execution phase {command[-1]}: injected failure (lab double, {INJECT_FILE})")
        return action(values, positional, version, details)  # type: ignore[operator]

    return run_logged("kubeadm", argv, body,
                      lambda message: f"{message}\nTo see the stack trace of this error execute with --v=5 or higher")


def _version(values: dict, version: str) -> int:
    major, minor, _ = version.split(".")
    info = {"major": major, "minor": minor, "gitVersion": f"v{version}", "gitCommit": "lab-double",
            "gitTreeState": "clean", "buildDate": "1970-01-01T00:00:00Z", "goVersion": "go1.23.6",
            "compiler": "gc", "platform": "linux/lab"}
    output = values["output"]
    if output == "short":
        print(f"v{version}")
    elif output == "json":
        print(json.dumps({"clientVersion": info}, indent=2))
    elif output == "yaml":
        print("clientVersion:\n" + "".join(f"  {k}: {v}\n" for k, v in info.items()), end="")
    elif output == "":
        print(f"kubeadm version: &version.Info{{Major:\"{major}\", Minor:\"{minor}\", GitVersion:\"v{version}\", "
              f"GitCommit:\"lab-double\", GitTreeState:\"clean\", Platform:\"linux/lab\"}}")
    else:
        raise UsageError(f'invalid output format: {output}')
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], "0.0.0"))
