"""Network blocked at the socket level, for tests: every Python process started with this folder on PYTHONPATH
(Snakemake, each job's script, a report's Jupyter kernel) imports it at start-up.

Loopback and Unix sockets stay open (a Jupyter kernel talks to its client over them). Any other connect, sendto or
name lookup raises OSError(ENETUNREACH), as on a machine with no network, and is written to $CLAIMBENCH_SOCKET_LOG
with the process's command line, so an attempt that a library catches and hides is still seen. Each process also
writes one "loaded" line there: the test can tell that the guard was on in the processes it cares about.
"""

import errno
import ipaddress
import os
import socket
import sys

_LOG = os.environ.get("CLAIMBENCH_SOCKET_LOG")
_LOCAL_NAMES = {None, "", "localhost", "localhost.localdomain", socket.gethostname()}


def _record(event: str) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as handle:
            command = " ".join(getattr(sys, "orig_argv", sys.argv)).replace("\n", " ")[:400]
            handle.write(f"{os.getpid()} {event} {command}\n")


def _is_local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str, target) -> None:
    _record(f"blocked {what} {target!r}")
    raise OSError(errno.ENETUNREACH, f"network blocked by the offline test ({what} {target!r})")


def _guard_address(method, position):
    def guarded(self, *args):
        address = args[position] if args else None
        if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple) and not _is_local(address[0]):
            _refuse(method.__name__, address)
        return method(self, *args)

    guarded.__name__ = method.__name__
    return guarded


def _guard_lookup(function):
    def guarded(host, *args, **kwargs):
        if not _is_local(host):
            _refuse(function.__name__, host)
        return function(host, *args, **kwargs)

    return guarded


socket.socket.connect = _guard_address(socket.socket.connect, 0)
socket.socket.connect_ex = _guard_address(socket.socket.connect_ex, 0)
socket.socket.sendto = _guard_address(socket.socket.sendto, -1)  # sendto(data[, flags], address)
socket.getaddrinfo = _guard_lookup(socket.getaddrinfo)
socket.gethostbyname = _guard_lookup(socket.gethostbyname)
_record("loaded")
