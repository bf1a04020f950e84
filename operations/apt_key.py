"""Keep an apt repository signing key file identical to the key its publisher serves."""

from __future__ import annotations

import posixpath

from pyinfra import host, logger
from pyinfra.api import OperationError, QuoteString, StringCommand, operation

from facts.apt_key import APT_HELPER, KeyDigests
from operations.refusal import refuse


@operation()
def fetched(url: str, path: str):
    """
    Download an ASCII-armoured repository key to ``path`` whenever the published key differs.

    + url: where the publisher serves the key (http or https)
    + path: key file under /etc/apt/keyrings, named in the source's ``Signed-By`` (root:root 0644)

    The published key is fetched on every run and compared by sha256, so a renewed key (the cause
    of ``EXPKEYSIG`` failures after a key expired) is installed on the next run. If the URL cannot
    be fetched the installed key is kept with a warning; without an installed key the host fails.

    **Examples:**

    .. code:: python

        apt_key.fetched(
            name="Fetch the NVIDIA container toolkit repository key",
            url="https://nvidia.github.io/libnvidia-container/gpgkey",
            path="/etc/apt/keyrings/nvidia-container-toolkit.asc",
        )
    """
    if not url.startswith(("https://", "http://")):
        raise OperationError(f"apt_key.fetched: url must be http(s), not {url!r}")
    if not path.startswith("/") or posixpath.normpath(path) != path:
        raise OperationError(f"apt_key.fetched: path must be absolute and normalised, not {path!r}")

    state = host.get_fact(KeyDigests, url=url, path=path)
    if state["remote"] is None:
        if state["local"] is None:
            yield refuse(f"could not download the repository key {url} and {path} does not exist")
            return
        logger.warning(f"{host.print_prefix}could not download {url}; keeping the installed {path}")
        host.noop(f"key {path} kept ({url} unreachable)")
        return
    if not state["armoured"]:
        yield refuse(f"{url} did not serve an ASCII-armoured PGP public key block")
        return
    if state["remote"] == state["local"]:
        host.noop(f"key {path} matches {url}")
        return
    temporary = QuoteString(f"{path}.download")
    yield StringCommand(
        APT_HELPER, "download-file", QuoteString(url), temporary, ">/dev/null", "&&",
        "chown", "root:root", temporary, "&&", "chmod", "0644", temporary, "&&",
        "mv", temporary, QuoteString(path),
    )
