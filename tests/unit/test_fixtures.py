"""Fixture tests for every custom fact and operation (pyinfra-testing YAML cases).

Each folder tests/unit/facts/<module>.<Fact>/ and tests/unit/operations/<module>.<op>/ holds one
case per file: changed, no-op and error cases. Folders are discovered, so a new fact or operation
only needs its folder. Runs in its own pytest process: pyinfra-testing patches sockets (gevent).
"""

from pathlib import Path

from pyinfra_testing.facts import make_fact_tests
from pyinfra_testing.operations import make_operation_tests

HERE = Path(__file__).parent


def _folders(kind: str) -> list[Path]:
    return sorted(path for path in (HERE / kind).iterdir() if path.is_dir())


def _register(kind: str, factory) -> None:
    for folder in _folders(kind):
        globals()[f"Test_{kind}_{folder.name.replace('.', '_')}"] = factory(kind, folder.name, folder)


_register("facts", make_fact_tests)
_register("operations", make_operation_tests)
