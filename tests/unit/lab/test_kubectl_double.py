"""The kubectl double's static (mirror) pods, ConfigMaps and etcd snapshots, through the real launchers."""

import json
import stat

from tests.unit.lab.double_cluster import cluster  # noqa: F401 - a fixture

ADMIN = ("kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf", "-n", "kube-system")
ETCDCTL = (*ADMIN, "exec", "etcd-bettley", "--", "etcdctl", "--endpoints=https://127.0.0.1:2379",
           "--cacert=/etc/kubernetes/pki/etcd/ca.crt", "--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt",
           "--key=/etc/kubernetes/pki/etcd/healthcheck-client.key")


def _pod(init, name: str) -> dict:
    return json.loads(init.run(*ADMIN, "get", "pod", name, "-o", "json").stdout)


def _kubelet(init, version: str = "1.32.3") -> None:
    """One start of the kubelet unit: the double posts its status and static pods, then exits 1."""
    result = init.run("kubelet", version=version, check=False)
    assert result.returncode == 1 and "node status posted" in result.stderr, result.stderr


def test_static_pods_appear_as_mirror_pods_once_the_kubelet_posted(cluster):
    _, _, init = cluster
    assert "kube-apiserver-bettley" not in init.run(*ADMIN, "get", "pods").stdout
    missing = init.run(*ADMIN, "wait", "--for=condition=Ready", "pod/etcd-bettley", "--timeout=5s", check=False)
    assert missing.returncode == 1 and 'Error from server (NotFound): pods "etcd-bettley" not found' in missing.stderr
    _kubelet(init)
    pod = _pod(init, "kube-apiserver-bettley")
    assert pod["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-apiserver:v1.32.3"
    assert pod["spec"]["nodeName"] == "bettley" and pod["metadata"]["annotations"]["kubernetes.io/config.source"] == "file"
    assert {"type": "Ready", "status": "True"} in pod["status"]["conditions"]
    table = init.run(*ADMIN, "get", "pods").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS"]
    assert sorted(line.split()[0] for line in table[1:]) == [f"{p}-bettley" for p in (
        "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")]
    waited = init.run(*ADMIN, "wait", "--for=condition=Ready", "pod/kube-scheduler-bettley", "--timeout=5s")
    assert waited.stdout == "pod/kube-scheduler-bettley condition met\n"


def test_a_changed_or_removed_manifest_shows_after_the_next_kubelet_post(cluster):
    _, _, init = cluster
    _kubelet(init)
    manifests = init.root / "etc/kubernetes/manifests"
    paused = init.root / "etc/kubernetes/manifests-paused"
    paused.mkdir(exist_ok=True)
    (manifests / "kube-scheduler.yaml").rename(paused / "kube-scheduler.yaml")
    assert _pod(init, "kube-scheduler-bettley")["metadata"]["name"] == "kube-scheduler-bettley"
    _kubelet(init)
    gone = init.run(*ADMIN, "get", "pod", "kube-scheduler-bettley", check=False)
    assert gone.returncode == 1 and 'pods "kube-scheduler-bettley" not found' in gone.stderr
    (paused / "kube-scheduler.yaml").rename(manifests / "kube-scheduler.yaml")
    text = (manifests / "kube-controller-manager.yaml").read_text()
    (manifests / "kube-controller-manager.yaml").write_text(text.replace(":v1.32.3", ":v1.32.7"))
    assert _pod(init, "kube-controller-manager-bettley")["spec"]["containers"][0]["image"].endswith(":v1.32.3")
    _kubelet(init)
    assert _pod(init, "kube-controller-manager-bettley")["spec"]["containers"][0]["image"].endswith(":v1.32.7")
    assert _pod(init, "kube-scheduler-bettley")["status"]["phase"] == "Running"
    (manifests / "broken.yaml").write_text("{not yaml: [")
    _kubelet(init)
    assert len(json.loads(init.run(*ADMIN, "get", "pods", "-o", "json").stdout)["items"]) == 4


def test_configmaps_create_once_patch_merge_and_delete(cluster):
    _, _, init = cluster
    create = (*ADMIN, "create", "configmap", "goldentooth-upgrade-lock", "--from-literal=run-id=r1",
              "--from-literal=target=v1.32.7", "--from-literal=note=a,b=c")
    assert init.run(*create).stdout == "configmap/goldentooth-upgrade-lock created\n"
    again = init.run(*create, check=False)
    assert again.returncode == 1
    assert again.stderr.startswith('error: failed to create configmap: configmaps "goldentooth-upgrade-lock" already exists')
    lock = json.loads(init.run(*ADMIN, "get", "configmap", "goldentooth-upgrade-lock", "-o", "json").stdout)
    assert lock["data"] == {"run-id": "r1", "target": "v1.32.7", "note": "a,b=c"}
    assert lock["metadata"]["namespace"] == "kube-system"
    patch = (*ADMIN, "patch", "configmap", "goldentooth-upgrade-lock", "--type", "merge", "-p",
             '{"data":{"node":"fenn","step":"drain","note":null}}')
    assert init.run(*patch).stdout == "configmap/goldentooth-upgrade-lock patched\n"
    assert init.run(*patch).stdout == "configmap/goldentooth-upgrade-lock patched (no change)\n"
    lock = json.loads(init.run(*ADMIN, "get", "cm", "goldentooth-upgrade-lock", "-o", "json").stdout)
    assert lock["data"] == {"run-id": "r1", "target": "v1.32.7", "node": "fenn", "step": "drain"}
    assert "--type merge only" in init.run(*patch[:-4], "--type", "json", "-p", "[]", check=False).stderr
    derived = init.run(*ADMIN, "patch", "configmap", "kubeadm-config", "--type", "merge", "-p", "{}", check=False)
    assert derived.returncode == 1 and "read-only" in derived.stderr
    bad_key = init.run(*ADMIN, "create", "configmap", "x", "--from-literal=a b=c", check=False)
    assert "not a valid key name" in bad_key.stderr
    assert init.run(*ADMIN, "delete", "configmap", "goldentooth-upgrade-lock").stdout == \
        'configmap "goldentooth-upgrade-lock" deleted\n'
    missing = init.run(*ADMIN, "delete", "configmap", "goldentooth-upgrade-lock", check=False)
    assert missing.returncode == 1 and '(NotFound): configmaps "goldentooth-upgrade-lock" not found' in missing.stderr
    quiet = init.run(*ADMIN, "delete", "configmap", "goldentooth-upgrade-lock", "--ignore-not-found")
    assert quiet.stdout == "" and quiet.returncode == 0
    assert init.run(*ADMIN, "get", "configmap", "goldentooth-upgrade-lock", "--ignore-not-found").stdout == ""


def test_etcd_snapshot_lands_in_the_pods_host_path(cluster):
    _, _, init = cluster
    target = "/var/lib/etcd/pre-upgrade-20260101T000000Z.db"
    saved = init.run(*ETCDCTL, "snapshot", "save", target)
    assert saved.stdout == f"Snapshot saved at {target}\n"
    snapshot = init.root / target.lstrip("/")
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
    assert "bettley" in json.loads(snapshot.read_text())["nodes"]
    assert not snapshot.with_name(snapshot.name + ".part").exists()
    no_dir = init.run(*ETCDCTL, "snapshot", "save", "/nonexistent/x.db", check=False)
    assert no_dir.returncode == 1 and "could not open /nonexistent/x.db.part" in no_dir.stderr
    other = init.run(*ADMIN, "exec", "etcd-nobody", "--", "etcdctl", "snapshot", "save", target, check=False)
    assert other.returncode == 1 and 'pods "etcd-nobody" not found' in other.stderr
