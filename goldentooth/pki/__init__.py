"""Public-key infrastructure on the operator's side.

- sshca, certificates, cluster: the SSH certificate authorities, certificate issuance and client
  trust. CA private keys are read here and nowhere else (spec 90-ssh-certificates.md).
- x509: the kubeadm PKI as read from hosts (discovery CA hash, certificate expiry).
"""
