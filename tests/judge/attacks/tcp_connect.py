"""Hostile submission: talk TCP to a server on the loopback interface (the test listens on PORT)."""

import socket

PORT = int("__PORT__")

try:
    with socket.create_connection(("127.0.0.1", PORT), timeout=2) as conn:
        conn.sendall(b"exfiltrated by a submission\n")
    print("connected")
except OSError as exc:
    print(f"no connection: {exc}")


def softmax(x, dim=-1):
    return x.clone()
