"""Relay stdin/stdout to a TCP address: the SSH ProxyCommand run inside a lab's fabric namespace.

Usage: python3 relay.py HOST PORT. Only the standard library, so it starts fast and runs with any
Python 3. The fabric namespace has routes to the lab subnet only, so nothing else is reachable.
"""

import os
import socket
import sys
import threading


def _pump_stdin(sock: socket.socket) -> None:
    while True:
        data = os.read(0, 65536)
        if not data:
            break
        sock.sendall(data)
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def main() -> int:
    host, port = sys.argv[1], int(sys.argv[2])
    try:
        sock = socket.create_connection((host, port), timeout=10)
    except OSError as error:
        print(f"relay: cannot connect to {host}:{port}: {error}", file=sys.stderr)
        return 255
    sock.settimeout(None)
    threading.Thread(target=_pump_stdin, args=(sock,), daemon=True).start()
    out = sys.stdout.buffer
    while True:
        data = sock.recv(65536)
        if not data:
            return 0
        out.write(data)
        out.flush()


if __name__ == "__main__":
    sys.exit(main())
