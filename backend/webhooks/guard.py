"""Outbound safety: webhooks may not reach loopback, private, link-local or metadata addresses.

Checked twice: when a URL is saved (`check_url`) and on every connection (`guarded_pool`), on the
addresses DNS gives at that moment: a name that resolved to a public address when it was saved
and to 127.0.0.1 later (DNS rebinding) is refused all the same. The connection goes to the
address that was checked, never to a second lookup. Both checks of addresses are off while
the setting WEBHOOK_ALLOW_PRIVATE_TARGETS is on (local development and the tests).

The host must be a plain DNS name (letters, digits, hyphens, underscores; an internationalized
name in its IDNA form) or an IP literal, and the same host for `urlsplit` as for urllib3 (which
connects). Percent-escapes in the host, a user name, a backslash before the path, a space or a
control character anywhere are refused when a URL is saved, whatever the setting: parsers
disagree on what they mean. A legacy IPv4 spelling (`2130706433`, `0x7f.1`, `0177.0.0.1`) is
refused for the address it names when that is private, otherwise for the spelling.

IPv6 prefixes that carry an IPv4 address (IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64
and local-use NAT64, 6to4, Teredo) are refused whole, whatever they carry: a gateway on the way
may turn them into that IPv4 address, and which of them stay public cannot be told from here.
"""

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import parse_url
from urllib3.util.connection import create_connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address

METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
CGNAT = ipaddress.ip_network("100.64.0.0/10")
UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")


def _last_32_bits(ip: IPv6) -> IPv4:
    return IPv4(ip.packed[12:])


# IPv6 prefixes that carry an IPv4 address, and how to read it out (None: where it sits depends
# on how the network uses the prefix).
IPV4_IN_IPV6: list[tuple[ipaddress.IPv6Network, str, Callable[[IPv6], IPv4 | None]]] = [
    (ipaddress.IPv6Network("::ffff:0:0/96"), "an IPv4-mapped IPv6", _last_32_bits),
    (ipaddress.IPv6Network("::ffff:0:0:0/96"), "an IPv4-translated IPv6", _last_32_bits),
    (ipaddress.IPv6Network("::/96"), "an IPv4-compatible IPv6", _last_32_bits),
    (ipaddress.IPv6Network("64:ff9b::/96"), "a NAT64", _last_32_bits),
    (ipaddress.IPv6Network("64:ff9b:1::/48"), "a local-use NAT64", lambda ip: None),
    (ipaddress.IPv6Network("2002::/16"), "a 6to4", lambda ip: ip.sixtofour),
    (ipaddress.IPv6Network("2001::/32"), "a Teredo", lambda ip: ip.teredo and ip.teredo[1]),
]
# RFC 4291 leaves these two out of the IPv4-compatible addresses.
NOT_IPV4_COMPATIBLE = {IPv6("::"), IPv6("::1")}
# A DNS label: letters, digits, hyphens (not at either end) and underscores; 63 at most.
LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
# A last label that makes resolvers read the whole host as an IPv4 address (`127.1`, `0x7f.1`).
NUMBER = re.compile(r"[0-9]+|0x[0-9a-f]*")
GUARD_ON = "WEBHOOK_ALLOW_PRIVATE_TARGETS is off"
ALLOW_HINT = f"private targets are refused ({GUARD_ON})"
CARRIER_HINT = f"IPv6 forms of IPv4 addresses are refused, whatever they carry ({GUARD_ON})"


class UnsafeTarget(ValueError):
    """The URL's host is, or resolves to, an address webhooks may not reach."""


@dataclass(frozen=True)
class Host:
    """A host as a resolver reads it."""

    name: str  # what to resolve: lowercase ASCII, a trailing dot kept
    address: IPAddress | None  # the address the host is a literal of, if it is one
    plain: bool = True  # False for a legacy IPv4 spelling such as 2130706433


def why_unsafe(ip: IPAddress) -> str | None:
    """Why webhooks may not reach `ip` ("is a loopback address; ..."), or None if they may."""
    if isinstance(ip, IPv6) and ip not in NOT_IPV4_COMPATIBLE:
        for network, kind, carried in IPV4_IN_IPV6:
            if ip in network:
                ipv4 = carried(ip)
                what = "an IPv4 address" if ipv4 is None else f"the IPv4 address {ipv4}"
                return f"is {kind} address, which carries {what}; {CARRIER_HINT}"
    if ip in METADATA:
        return f"is a cloud metadata address; {ALLOW_HINT}"
    checks = [
        (ip.is_unspecified, "an unspecified"),
        (ip.is_loopback, "a loopback"),
        (ip.is_link_local, "a link-local"),
        (ip.version == 4 and ip in CGNAT, "a carrier-grade NAT"),
        (ip.version == 6 and ip in UNIQUE_LOCAL, "a unique-local"),
        (ip.is_private, "a private"),
        (ip.is_multicast, "a multicast"),
        (not ip.is_global, "a reserved"),
    ]
    found = next((kind for matches, kind in checks if matches), None)
    return None if found is None else f"is {found} address; {ALLOW_HINT}"


def check_address(ip: IPAddress, host: str) -> None:
    why = why_unsafe(ip)
    if why is None:
        return
    try:
        literal = ipaddress.ip_address(host) == ip
    except ValueError:
        literal = False
    raise UnsafeTarget(f"{host if literal else f'{host} ({ip})'} {why}.")


def check_escapes(host: str) -> None:
    """Refuse percent-escapes and IPv6 zones in a host: urllib3 decodes some, `urlsplit` none."""
    if "%" not in host:
        return
    if ":" in host:
        raise ValueError(f"{host} names a network interface (a zone after %); remove it.")
    decoded = unquote(host)
    reads = f" (it decodes to {decoded})" if decoded.isprintable() else ""
    raise ValueError(f"{host} has percent-escapes{reads}; write the host without them.")


def read_host(host: str) -> Host:
    """Read a host as urllib3 passes it on (ASCII, an IPv6 address without brackets).

    Raises ValueError, with the reason, for anything but a DNS name or an IP literal.
    """
    host = host.lower()
    check_escapes(host)
    if ":" in host:
        try:
            return Host(host, IPv6(host))
        except ValueError:
            raise ValueError(f"{host} is not a valid IPv6 address.") from None
    name = host.removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or not all(LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            f"{host} is not a plain host name: use letters, digits, hyphens, underscores and dots."
        )
    if not NUMBER.fullmatch(labels[-1]):
        return Host(host, None)
    try:
        return Host(name, IPv4(name))
    except ValueError:
        pass
    try:
        return Host(name, IPv4(socket.inet_aton(name)), plain=False)
    except OSError:
        raise ValueError(f"{host} looks like an IPv4 address but is not one.") from None


def resolve(name: str, port: int) -> list[IPAddress]:
    """The addresses DNS gives for `name` now; socket.gaierror when there are none."""
    infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    found = (ipaddress.ip_address(str(sockaddr[0]).split("%")[0]) for *_, sockaddr in infos)
    return list(dict.fromkeys(found))


def reachable_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses a connection to `host` may use, every one checked.

    Raises ValueError (UnsafeTarget for an address) with the reason, or socket.gaierror when
    the name does not resolve.
    """
    target = read_host(host)
    addresses = [target.address] if target.address is not None else resolve(target.name, port)
    for ip in addresses:
        check_address(ip, host)
    if not target.plain:
        raise ValueError(odd_spelling(host, target))
    return addresses


def odd_spelling(host: str, target: Host) -> str:
    return f"{host} is an unusual spelling of {target.address}; write it as {target.address}."


def client_host(url: str, written: str) -> str:
    """The host urllib3 connects to for `url` (internationalized names in IDNA form), which
    must be the host `urlsplit` read (`written`)."""
    try:
        host = parse_url(url).host or ""
    except ValueError as exc:  # urllib3's LocationParseError
        reason = str(exc).removeprefix("Failed to parse: ")
        raise ValueError(f"{written} is not a valid host name ({reason}).") from exc
    host = host.removeprefix("[").removesuffix("]")
    if written.isascii() and host != written:
        raise ValueError(f"{written} is read as {host} by the HTTP client; write the host plainly.")
    return host


def check_url(url: str) -> None:
    """Refuse what a webhook URL may not be; raises UnsafeTarget (or ValueError) with the reason.

    A name is resolved now; one that does not resolve yet is accepted (it is checked again on
    every connection).
    """
    url = url.strip()
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ValueError(
            "The URL contains a space or an invisible character; remove it, or percent-encode "
            "it (%20 for a space)."
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"The URL cannot be read: {exc}.") from exc
    if parts.scheme.lower() not in {"http", "https"}:
        raise ValueError("Only http:// and https:// URLs can receive webhooks.")
    if "\\" in parts.netloc:
        raise ValueError(
            "The URL has a backslash before its path, which browsers read as a slash; remove it."
        )
    if "@" in parts.netloc:
        raise ValueError(
            "The URL has a user name or password before its host; remove it (webhooks are "
            "signed instead, and it would not be sent)."
        )
    if not parts.hostname:
        raise ValueError("The URL has no host name.")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise ValueError("The URL's port is not a number from 1 to 65535.") from exc
    check_escapes(parts.hostname)
    host = client_host(url, parts.hostname)
    target = read_host(host)
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        if not target.plain:
            raise ValueError(odd_spelling(host, target))
        return
    name = host.removesuffix(".")
    if name == "localhost" or name.endswith(".localhost"):
        raise UnsafeTarget(f"{name} is a loopback address; {ALLOW_HINT}.")
    try:
        reachable_addresses(host, port)
    except OSError:
        return


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
            addresses = reachable_addresses(self._dns_host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        except ValueError as exc:
            raise BlockedTarget(self, str(exc)) from exc  # type: ignore[arg-type]
        error: OSError | None = None
        for address in addresses:
            try:
                return create_connection(
                    (str(address), self.port),
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
