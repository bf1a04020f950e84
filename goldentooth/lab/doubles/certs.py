"""`kubeadm certs`: certificate-key, check-expiration (kubeadm's table and JSON) and renew."""

from __future__ import annotations

import base64
import json
import secrets
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import yaml

from . import files, pki
from .common import Failure, UsageError, path, write_file

CONF_CERTS = ("admin.conf", "controller-manager.conf", "scheduler.conf", "super-admin.conf")
LEAF_ROWS = {"apiserver": "ca", "apiserver-etcd-client": "etcd-ca", "apiserver-kubelet-client": "ca",
             "etcd-healthcheck-client": "etcd-ca", "etcd-peer": "etcd-ca", "etcd-server": "etcd-ca",
             "front-proxy-client": "front-proxy-ca"}
CA_ROWS = {"ca": "ca.crt", "etcd-ca": "etcd/ca.crt", "front-proxy-ca": "front-proxy-ca.crt"}


def certificate_key(values: dict, positional: list[str], version: str, details: dict) -> int:
    print(secrets.token_hex(32))
    return 0


def _leaf_file(row: str) -> str:
    return row.replace("etcd-", "etcd/", 1) if row.startswith("etcd-") else row


def _conf_expiry(name: str) -> datetime | None:
    conf = path(f"/etc/kubernetes/{name}")
    if not conf.exists():
        return None
    user = yaml.safe_load(conf.read_text())["users"][0]["user"]
    with tempfile.NamedTemporaryFile(suffix=".crt") as handle:
        handle.write(base64.b64decode(user["client-certificate-data"]))
        handle.flush()
        return pki.not_after(Path(handle.name))


def _rows() -> tuple[list[tuple[str, datetime, str]], list[tuple[str, datetime]]]:
    leaves = []
    for name in sorted([*CONF_CERTS, *LEAF_ROWS]):
        if name in LEAF_ROWS:
            cert = files.pki_path(f"{_leaf_file(name)}.crt")
            expiry = pki.not_after(cert) if cert.exists() else None
            authority = LEAF_ROWS[name]
        else:
            expiry, authority = _conf_expiry(name), "ca"
        if expiry is not None:
            leaves.append((name, expiry, authority))
    authorities = [(name, pki.not_after(files.pki_path(file))) for name, file in CA_ROWS.items()
                   if files.pki_path(file).exists()]
    return leaves, authorities


def _residual(expiry: datetime) -> str:
    seconds = (expiry - datetime.now(timezone.utc)).total_seconds()
    if seconds <= 0:
        return "<invalid>"
    days = int(seconds // 86400)
    return f"{days // 365}y" if days >= 365 else f"{days}d" if days else f"{int(seconds // 3600)}h"


def check_expiration(values: dict, positional: list[str], version: str, details: dict) -> int:
    if not files.pki_path("ca.crt").exists():
        raise Failure("[check-expiration] Error reading configuration from the Cluster. Falling back to default "
                      "configuration\nerror: no certificates found under /etc/kubernetes/pki")
    leaves, authorities = _rows()
    stamp = "%b %d, %Y %H:%M UTC"
    if values["output"] == "json":
        now = datetime.now(timezone.utc)
        document = {"kind": "CertificateExpirationInfo", "apiVersion": "output.kubeadm.k8s.io/v1alpha3",
                    "certificates": [{"name": n, "expirationDate": e.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                      "residualTime": int((e - now).total_seconds() * 1e9),
                                      "certificateAuthority": a, "externallyManaged": False, "missing": False}
                                     for n, e, a in leaves],
                    "certificateAuthorities": [{"name": n, "expirationDate": e.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                "residualTime": int((e - now).total_seconds() * 1e9),
                                                "externallyManaged": False, "missing": False}
                                               for n, e in authorities]}
        print(json.dumps(document, indent=2))
        return 0
    if values["output"] != "text":
        raise UsageError(f"invalid output format: {values['output']}")
    print("[check-expiration] Reading configuration from the \"kubeadm-config\" ConfigMap in namespace \"kube-system\"...")
    print("[check-expiration] Use 'kubeadm init phase upload-config --config your-config.yaml' to re-upload it.\n")
    print(f"{'CERTIFICATE':<26} {'EXPIRES':<24} {'RESIDUAL TIME':<15} {'CERTIFICATE AUTHORITY':<23} EXTERNALLY MANAGED")
    for name, expiry, authority in leaves:
        print(f"{name:<26} {expiry.strftime(stamp):<24} {_residual(expiry):<15} {authority:<23} no")
    print(f"\n{'CERTIFICATE AUTHORITY':<23} {'EXPIRES':<24} {'RESIDUAL TIME':<15} EXTERNALLY MANAGED")
    for name, expiry in authorities:
        print(f"{name:<23} {expiry.strftime(stamp):<24} {_residual(expiry):<15} no")
    return 0


def renew(values: dict, positional: list[str], version: str, details: dict) -> int:
    from .lifecycle import local_cluster  # the node's own view of the cluster (address, SANs)

    known = ["all", *CONF_CERTS, *LEAF_ROWS]
    if len(positional) != 1 or positional[0] not in known:
        raise UsageError(f'unknown command "{positional[0] if positional else ""}" for "kubeadm certs renew"'
                         if positional else 'missing subcommand for "kubeadm certs renew"')
    target = positional[0]
    node, address, cluster = local_cluster()
    leaves = set(LEAF_ROWS) if target == "all" else {target} & set(LEAF_ROWS)
    files.make_leaves(node, address, cluster, {_leaf_file(n) for n in leaves}, renew=True)
    confs = [c for c in (CONF_CERTS if target == "all" else (target,)) if c in CONF_CERTS
             and path(f"/etc/kubernetes/{c}").exists()]
    for conf in confs:
        document = yaml.safe_load(path(f"/etc/kubernetes/{conf}").read_text())
        document["users"][0]["user"] = files.client_credentials(files.KUBECONFIGS[conf][1])
        write_file(f"/etc/kubernetes/{conf}", yaml.safe_dump(document, sort_keys=False), 0o600)
    for name in sorted([*leaves, *confs]):
        label = f"certificate embedded in the kubeconfig file for {name.removesuffix('.conf')}" \
            if name.endswith(".conf") else f"certificate {name}"
        print(f"{label} renewed")
    details["renewed"] = sorted([*leaves, *confs])
    print("\nDone renewing certificates. You must restart the kube-apiserver, kube-controller-manager, "
          "kube-scheduler and etcd, so that they can use the new certificates.")
    return 0
