"""The Goldentooth cluster: its hosts, their addresses and the groups they belong to.

pyinfra reads the group lists this module publishes; `goldentooth` reads the same file. The
derived group `k8s_cluster` is computed, and the whole inventory with its group data is validated
when this file is loaded, so an invalid inventory stops every command before any host is touched.
"""

from goldentooth.inventory import Node, publish

_EXPORT_OPTIONS = ["rw", "sync", "no_root_squash", "no_subtree_check", "mp"]

_NODES = [
    Node("allyrion", "10.4.0.10", "pi4b-8gb", mac_address="d8:3a:dd:8a:7d:aa", data={
        "nfs_exports": [
            {"path": "/mnt/usb1", "clients": "10.4.0.0/20", "options": _EXPORT_OPTIONS, "fs_type": "ext4"},
        ],
    }),
    Node("bettley", "10.4.0.11", "pi4b-8gb", mac_address="d8:3a:dd:89:c1:0b"),
    Node("cargyll", "10.4.0.12", "pi4b-8gb", mac_address="d8:3a:dd:8a:7d:ef"),
    Node("dalt", "10.4.0.13", "pi4b-8gb", mac_address="d8:3a:dd:8a:7e:9a"),
    Node("erenford", "10.4.0.14", "pi4b-8gb", mac_address="d8:3a:dd:8a:80:3c"),
    Node("fenn", "10.4.0.15", "pi4b-8gb", mac_address="d8:3a:dd:89:ef:61"),
    Node("gardener", "10.4.0.16", "pi4b-8gb", mac_address="d8:3a:dd:89:aa:7d"),
    Node("harlton", "10.4.0.17", "pi4b-8gb", mac_address="d8:3a:dd:89:f9:23"),
    Node("inchfield", "10.4.0.18", "pi4b-8gb", mac_address="d8:3a:dd:89:fa:fc"),
    Node("jast", "10.4.0.19", "pi4b-8gb", mac_address="d8:3a:dd:89:f0:4b"),
    Node("karstark", "10.4.0.20", "pi4b-4gb", mac_address="dc:a6:32:8f:48:50"),
    Node("lipps", "10.4.0.21", "pi4b-4gb", mac_address="dc:a6:32:8c:98:75"),
    Node("velaryon", "10.4.0.30", "x86_64", mac_address="2c:f0:5d:0f:ff:39", data={
        "expected_os": "ubuntu 24.04",
        "node_labels": {"gpu": "true", "arch": "amd64"},
        "node_taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}],
        "nfs_exports": [
            {
                "path": "/mnt/gpu-storage",
                "clients": "10.4.0.0/20",
                "options": _EXPORT_OPTIONS,
                "fs_type": "ext4",
                "fs_uuid": "5bc38d5b-a7a4-426e-acdb-e5caf0a809d9",
            },
        ],
    }),
]

_GROUPS = {
    "load_balancer": ["allyrion"],
    "k8s_control_plane": ["bettley", "cargyll", "dalt"],
    "k8s_workers": [
        "erenford", "fenn", "gardener", "harlton", "inchfield", "jast", "karstark", "lipps", "velaryon",
    ],
    "gpu": ["velaryon"],
    "nfs_server": ["allyrion", "velaryon"],
    "zfs": ["allyrion", "erenford", "gardener"],
    "raspberry_pi": [
        "allyrion", "bettley", "cargyll", "dalt", "erenford", "fenn", "gardener", "harlton",
        "inchfield", "jast", "karstark", "lipps",
    ],
}

globals().update(publish(_NODES, _GROUPS, __file__))
