"""The lab's API server double: HTTPS on each control plane's advertise address, port 6443.

It serves /readyz, /livez, /healthz and /version like kube-apiserver (so the load balancer's
health checks and the engine's gates work), ConfigMap kube-public/cluster-info for token
discovery, and a small JSON API under /goldentooth-double/v1/<op> for the kubeadm and kubectl
doubles. TLS uses the node's real apiserver certificate; callers authenticate with the client
certificates of their kubeconfigs (verified against the cluster CA) or a bootstrap token. The
double on the init node holds the state; the others forward to it (see state.py).

Run as: python3 -m doubles.api --bind ADDRESS:PORT   (kube-apiserver-double.service)
"""

from __future__ import annotations

import argparse
import base64
import json
import ssl
import tempfile
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from . import ops
from .common import Failure, path
from .state import HOLDER_FILE, STATE_FILE

PREFIX = "/goldentooth-double/v1/"
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server_version = "kube-apiserver-double"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's name
        return

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path in ("/readyz", "/livez", "/healthz"):
            self._reply(200, "ok", "text/plain")
        elif self.path in ("/version", "/api/v1/namespaces/kube-public/configmaps/cluster-info"):
            op = "version" if self.path == "/version" else "cluster-info"
            self._dispatch(op, {})
        else:
            self._reply(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404})

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        if not self.path.startswith(PREFIX):
            self._reply(404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404})
            return
        length = int(self.headers.get("Content-Length", "0"))
        self._dispatch(self.path[len(PREFIX):], json.loads(self.rfile.read(length) or b"{}"))

    def _dispatch(self, op: str, body: dict) -> None:
        identity = self._identity()
        try:
            if path(STATE_FILE).exists():
                with LOCK:
                    result = ops.handle(op, body, identity)
            else:
                result = forward(op, body, identity)
            self._reply(200, result)
        except Failure as error:
            self._reply(403 if "Forbidden" in str(error) or "Unauthorized" in str(error) else 400,
                        {"kind": "Status", "status": "Failure", "message": str(error)})

    def _identity(self) -> dict:
        forwarded = self.headers.get("X-Double-Identity")
        certificate = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        subject = {k: v for rdn in (certificate or {}).get("subject", ()) for k, v in rdn if k == "commonName"}
        groups = [v for rdn in (certificate or {}).get("subject", ()) for k, v in rdn if k == "organizationName"]
        identity = {"user": subject.get("commonName", ""), "groups": groups,
                    "token": self.headers.get("Authorization", "").removeprefix("Bearer ")}
        if forwarded and set(groups) & ops.ADMIN_GROUPS:
            return json.loads(forwarded)
        return identity

    def _reply(self, code: int, body: object, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def forward(op: str, body: dict, identity: dict) -> dict:
    """Pass a request to the state holder with this control plane's admin credentials."""
    holder = path(HOLDER_FILE).read_text().strip()
    return request(f"https://{holder}", op, body, kubeconfig="/etc/kubernetes/admin.conf",
                   headers={"X-Double-Identity": json.dumps(identity)})


def serve(bind: str) -> None:
    host, _, port = bind.rpartition(":")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(path("/etc/kubernetes/pki/apiserver.crt"), path("/etc/kubernetes/pki/apiserver.key"))
    context.load_verify_locations(path("/etc/kubernetes/pki/ca.crt"))
    context.verify_mode = ssl.CERT_OPTIONAL
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


def request(server: str, op: str, body: dict | None = None, *, kubeconfig: str | None = None,
            token: str = "", ca_pem: bytes | None = None, headers: dict | None = None) -> dict:
    """POST ``op`` to the API double at ``server``; TLS verified against the cluster CA."""
    with tempfile.TemporaryDirectory() as scratch:
        context = ssl.create_default_context()
        credentials: dict = {}
        if kubeconfig:
            config = yaml.safe_load(path(kubeconfig).read_text())
            credentials = config["users"][0]["user"]
            ca_pem = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
        if ca_pem is None:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        else:
            context.load_verify_locations(cadata=ca_pem.decode())
        if "client-certificate-data" in credentials:
            pem = Path(scratch) / "client.pem"
            pem.write_bytes(base64.b64decode(credentials["client-certificate-data"])
                            + base64.b64decode(credentials["client-key-data"]))
            context.load_cert_chain(pem)
        elif "client-certificate" in credentials:
            context.load_cert_chain(path(credentials["client-certificate"]))
        extra = {"Authorization": f"Bearer {token}"} if token else {}
        call = urllib.request.Request(f"{server}{PREFIX}{op}", data=json.dumps(body or {}).encode(), method="POST",
                                      headers={"Content-Type": "application/json", **extra, **(headers or {})})
        try:
            with urllib.request.urlopen(call, context=context, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise Failure(json.loads(error.read() or b"{}").get("message", str(error))) from error
        except (urllib.error.URLError, OSError) as error:
            raise Failure(f"couldn't get a response from the API server at {server}: {error}") from error


def admin_request(op: str, body: dict | None = None, kubeconfig: str = "/etc/kubernetes/admin.conf") -> dict:
    """A call with a kubeconfig's credentials to the server that kubeconfig names."""
    if not path(kubeconfig).exists():
        raise Failure(f"failed to load admin kubeconfig: open {kubeconfig}: no such file or directory")
    server = yaml.safe_load(path(kubeconfig).read_text())["clusters"][0]["cluster"]["server"]
    return request(server, op, body, kubeconfig=kubeconfig)


def main() -> None:
    parser = argparse.ArgumentParser(description="lab API server double")
    parser.add_argument("--bind", required=True)
    serve(parser.parse_args().bind)


if __name__ == "__main__":
    main()
