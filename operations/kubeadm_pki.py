"""The kubeadm PKI's expiry, checked on every run (spec 50-kubeadm.md §11.1).

kubeadm leaf certificates live one year; the original cluster died when they lapsed. Converge
never renews them (that is `goldentooth certs renew`), but every run says how long they have.
"""

from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api import OperationError, operation

from facts.kubeadm import KUBELET_CLIENT_PEM, PkiCertificates

RENEW = "renew them with `goldentooth certs renew`"
REJOIN = f"kubelet renews {KUBELET_CLIENT_PEM} itself; once it lapsed, remove the node and converge to join it again"


def _advice(paths: list[str]) -> str:
    return REJOIN if paths == [KUBELET_CLIENT_PEM] else RENEW


@operation(is_idempotent=True)
def expiry(warn_days: int):
    """
    Fail when a certificate of the node's kubeadm PKI has expired; warn when one has fewer than
    ``warn_days`` days left. Changes nothing.

    + warn_days: days left under which a certificate is reported (``cert_expiry_warn_days``)

    Reads every certificate under /etc/kubernetes/pki, the client certificates of the kubeconfigs
    and kubelet's rotating client certificate, by the node's clock.

    **Examples:**

    .. code:: python

        kubeadm_pki.expiry(name="Check the expiry of the kubeadm certificates", warn_days=30)
    """
    if isinstance(warn_days, bool) or not isinstance(warn_days, int) or warn_days < 1:
        raise OperationError(f"invalid warn_days {warn_days!r}: a whole number of days, at least 1")
    certificates = host.get_fact(PkiCertificates)["certificates"]
    if not certificates:
        host.noop("no kubeadm certificates on this node yet")
        return
    expired = sorted(path for path, cert in certificates.items() if cert["days_left"] < 0)
    if expired:
        raise OperationError(f"{host.name}: certificates expired: {', '.join(expired)}; {_advice(expired)}")
    soon = sorted((cert["days_left"], path) for path, cert in certificates.items() if cert["days_left"] < warn_days)
    for days, path in soon:
        logger.warning(f"{host.name}: {path} expires in {days} days ({certificates[path]['not_after']}); {_advice([path])}")
    days, path = min((cert["days_left"], path) for path, cert in certificates.items())
    host.noop(f"{len(certificates)} certificates valid; the first to expire is {path} in {days} days")
    return
    yield
