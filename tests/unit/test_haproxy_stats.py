"""The HAProxy stats reader: what counts as routing, and locations that could reach a shell."""

import pytest

from facts.haproxy import is_up, parse_stats, stats_command

HEADER = "# pxname,svname,qcur,status,weight"


@pytest.mark.parametrize(("status", "up"), [("UP", True), ("UP 1/3", True), ("DOWN", False), ("DOWN 1/2", False),
                                            ("MAINT", False), ("NOLB", False), ("no check", False), ("", False)])
def test_routing_states(status, up):
    assert is_up(status) is up


def test_aggregate_rows_are_left_out_and_servers_kept_per_proxy():
    rows = [HEADER, "stats,FRONTEND,,OPEN,", "api,FRONTEND,,OPEN,", "api,a,0,UP 1/3,1", "api,BACKEND,0,UP,1",
            "other,b,0,DOWN,1"]
    assert parse_stats(rows) == {"api": {"a": "UP 1/3"}, "other": {"b": "DOWN"}}


@pytest.mark.parametrize("output", [[], [""], ["<html>401 Unauthorized</html>"]])
def test_no_csv_is_none_not_an_empty_cluster(output):
    assert parse_stats(output) is None


@pytest.mark.parametrize(("port", "uri"), [(8404, "/stats'; rm -rf /; '"), (8404, "stats"), (0, "/stats"), (70000, "/stats")])
def test_locations_that_are_not_a_port_and_path_are_refused(port, uri):
    with pytest.raises(ValueError, match="invalid HAProxy stats location"):
        stats_command(port, uri)
