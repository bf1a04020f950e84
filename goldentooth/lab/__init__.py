"""The lab: a local replica of the cluster on systemd-nspawn nodes (spec lab.md)."""
