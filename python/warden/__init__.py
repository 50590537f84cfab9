"""warden: a client for wardend's control socket, for scripts.

Written from docs/protocol.md with nothing but ``socket`` and ``struct`` from the standard
library. The records it returns are the ones ``wardenctl --json`` prints (same keys, same
values), so a script can move between the two freely.

    import warden

    c = warden.Client()                    # $WARDEN_SOCKET, else the default socket
    for p in c.status():
        print(p["name"], p["state"], p["pid"])
    c.restart("web")                       # [{"name": "web", "ok": True, ...}]
    for chunk in c.tail("web", follow=True):
        print(chunk.decode(errors="replace"), end="")

docs/python.md has more examples.
"""

from warden.client import (  # noqa: F401
    Client,
    ConnectionError,
    DEFAULT_SOCKET,
    Error,
    ProtocolError,
    default_socket,
)
from warden.protocol import ERROR_NAMES, STATE_NAMES  # noqa: F401

__all__ = ["Client", "Error", "ConnectionError", "ProtocolError", "default_socket",
           "DEFAULT_SOCKET", "ERROR_NAMES", "STATE_NAMES"]
