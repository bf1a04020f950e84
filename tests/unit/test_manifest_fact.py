"""LiveObjects when kubectl prints nothing: pyinfra passes empty output to `default`, not `process`."""

from facts.manifest import LiveObjects


def test_empty_output_means_none_of_the_objects_exist():
    assert LiveObjects().default() == LiveObjects().process([]) == {"kubeconfig": True, "error": None, "objects": {}}
