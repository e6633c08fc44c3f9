"""Outbound safety: webhooks may not reach loopback, private, link-local or metadata addresses.

Checked twice: when a URL is saved (`check_url`, which also reads the legacy IPv4 spellings such
as `2130706433`, `0x7f000001` or `0177.0.0.1`), and on every connection (`guarded_pool`), on the
addresses DNS gives at that moment: a name that resolved to a public address when it was saved
and to 127.0.0.1 later (DNS rebinding) is refused all the same. The connection goes to the
address that was checked, never to a second lookup. Both checks are off while the setting
WEBHOOK_ALLOW_PRIVATE_TARGETS is on (local development and the tests).
"""

import ipaddress
import re
import socket
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import create_connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
CGNAT = ipaddress.ip_network("100.64.0.0/10")
# Digits, dots and hex: what inet_aton would read as an IPv4 address (`127.1`, `0x7f.1`, ...).
LEGACY_IPV4 = re.compile(r"(?=.*\d)[0-9a-fx.]+", re.IGNORECASE)
ALLOW_HINT = "private targets are refused (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)"


class UnsafeTarget(ValueError):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


def address_kind(ip: IPAddress) -> str | None:
    """What makes `ip` unreachable for webhooks, or None for a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6"
    if ip in METADATA:
        return "a cloud metadata"
    checks = [
        (ip.is_unspecified, "an unspecified"),
        (ip.is_loopback, "a loopback"),
        (ip.is_link_local, "a link-local"),
        (ip.version == 4 and ip in CGNAT, "a carrier-grade NAT"),
        (ip.version == 6 and ip in ipaddress.ip_network("fc00::/7"), "a unique-local"),
        (ip.is_private, "a private"),
        (ip.is_multicast, "a multicast"),
        (not ip.is_global, "a reserved"),
    ]
    return next((kind for matches, kind in checks if matches), None)


def check_address(ip: IPAddress, host: str) -> None:
    kind = address_kind(ip)
    if kind is None:
        return
    try:
        literal = ipaddress.ip_address(host.strip("[]")) == ip
    except ValueError:
        literal = False
    shown = host if literal else f"{host} ({ip})"
    raise UnsafeTarget(f"{shown} is {kind} address; {ALLOW_HINT}.")


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, in any spelling a resolver accepts; else None."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        pass
    if LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(url: str) -> None:
    """Refuse what a webhook URL may not be; raises UnsafeTarget (or ValueError) with the reason.

    A name is resolved now; one that does not resolve yet is accepted (it is checked again on
    every connection).
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"}:
        raise ValueError("Only http:// and https:// URLs can receive webhooks.")
    if not parts.hostname:
        raise ValueError("The URL has no host name.")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise ValueError("The URL's port is not a number from 1 to 65535.") from exc
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    host = parts.hostname.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeTarget(f"{host} is a loopback address; {ALLOW_HINT}.")
    literal = literal_address(host)
    if literal is not None:
        check_address(literal, host)
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return
    for *_, sockaddr in infos:
        check_address(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]), host)


class BlockedTarget(NewConnectionError):
    """A connection refused by the guard, after DNS and before any byte was sent."""


class GuardedConnectionMixin:
    """Resolve, check every address, then connect to a checked address (never resolve twice)."""

    host: str
    port: int
    timeout: Any
    source_address: Any
    socket_options: Any
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
            return super()._new_conn()  # type: ignore[misc, no-any-return]
        try:
            infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        addresses = [str(sockaddr[0]) for *_, sockaddr in infos]
        try:
            for address in addresses:
                check_address(ipaddress.ip_address(address.split("%")[0]), self.host)
        except UnsafeTarget as exc:
            raise BlockedTarget(self, str(exc)) from exc  # type: ignore[arg-type]
        error: OSError | None = None
        for address in addresses:
            try:
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                ) from exc
            except OSError as exc:
                error = exc
        raise NewConnectionError(
            self,  # type: ignore[arg-type]
            f"Failed to establish a new connection: {error}",
        ) from error


class GuardedHTTPConnection(GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


def guarded_pool(*, per_host: int = 1) -> PoolManager:
    """An HTTP client (urllib3, the engine under requests) whose every connection goes through
    the guard; it keeps up to `per_host` connections open to each receiver.

    No proxy is used: a proxy would make the guard check the proxy's address instead of the
    receiver's.
    """
    pool = PoolManager(num_pools=100, maxsize=per_host, retries=False)
    pool.pool_classes_by_scheme = {
        "http": GuardedHTTPConnectionPool,
        "https": GuardedHTTPSConnectionPool,
    }
    return pool
