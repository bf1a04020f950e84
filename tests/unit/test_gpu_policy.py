"""gpu_on_missing_driver: fail, skip or prepare; anything else stops before any host is touched."""

from __future__ import annotations

import pytest

from goldentooth.errors import InvalidInventory
from goldentooth.inventory import load_inventory


@pytest.mark.parametrize("policy", ["fail", "skip", "prepare"])
def test_policy_accepted(make_inventory, policy: str) -> None:
    cluster = load_inventory(make_inventory(data={"gpu": f'gpu_on_missing_driver = "{policy}"'}))
    assert cluster.host("velaryon").get("gpu_on_missing_driver") == policy


def test_unknown_policy_rejected_naming_host_key_and_rule(make_inventory) -> None:
    with pytest.raises(InvalidInventory) as raised:
        load_inventory(make_inventory(data={"gpu": 'gpu_on_missing_driver = "ignore"'}))
    assert [(v.where, v.key, v.rule, v.message) for v in raised.value.violations] == [
        ("host velaryon", "gpu_on_missing_driver", "gpu-policy", "must be one of fail, skip, prepare"),
    ]
