# Sourced by scripts/test and scripts/lab: create .venv (installing Debian's python3-venv when it
# is missing and we are root) and install goldentooth into it with its test dependencies.
make_venv() {
  python3 -m venv .venv >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing python3-venv (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv .venv && return 0
  fi
  echo "python3 -m venv failed: install python3-venv (apt-get install python3-venv)" >&2
  exit 2
}
make_venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
