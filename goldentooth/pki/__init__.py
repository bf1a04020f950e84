"""The operator's SSH certificate authorities: CA store, certificate issuance, client trust.

Everything here runs on the operator's machine; CA private keys are read here and nowhere else
(spec 90-ssh-certificates.md).
"""
