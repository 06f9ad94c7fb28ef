"""Keep user-supplied base URLs away from internal hosts (SSRF guard).

With ``ALLOW_USER_BASE_URL=true`` a browser chooses where the server sends a chat
request. Without a guard that URL could name the server's own loopback services, the
private network behind it or a cloud metadata endpoint (``169.254.169.254``), and the
server would connect there for the user. This module refuses such hosts twice:

* ``NetGuard.check_url`` before the request (``chatserver.stream_api``), so the user
  gets a clear 400; every A/AAAA record of a host name is checked
  (``socket.getaddrinfo``), not just the first;
* ``GuardedBackend`` at connect time, inside the HTTP client used for user base URLs
  (``guarded_http_client``): it resolves the host itself, checks every address and
  connects to a checked address (then checks the peer address of the connected
  socket), so a DNS answer that changes between the check and the connection (DNS
  rebinding) cannot slip past.

Refused (``blocked_reason``): loopback, private, link-local, multicast, unspecified,
reserved and other non-global addresses (RFC 6890 special-purpose registries, as
Python's ``ipaddress`` knows them; ``100.64.0.0/10`` shared address space included),
IPv6 site-local, and IPv4 addresses hidden in IPv6: IPv4-mapped ``::ffff:a.b.c.d``
(RFC 4291 §2.5.5.2), 6to4 ``2002::/16`` (RFC 3056) and NAT64 ``64:ff9b::/96``
(RFC 6052) are judged by their embedded IPv4 address; the NAT64 local-use prefix
``64:ff9b:1::/48`` (RFC 8215) is refused outright. Host names in the numeric forms
libc's ``inet_aton`` accepts (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``)
are treated as the IPv4 address they denote, although ``ipaddress`` rejects them.

Hosts named in ``USER_BASE_URL_ALLOWLIST`` (exact host names or IP addresses,
case-insensitive, a trailing dot ignored) skip both checks: that is how an operator
lets users reach, say, a model server on the LAN.

Redirects are never followed for user base URLs (``follow_redirects=False``): a
public host could otherwise answer ``307 Location: http://127.0.0.1/...``.

Limitation: in ``local`` mode the HTTP proxy resolves and connects, so only the
check before the request applies there.

No Flask or Dash import: only the standard library, ``httpx2`` and ``httpcore2``
(the HTTP stack of the ``openai`` SDK).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import Iterable

import httpcore2
import httpx2

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 §2.1
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215
# What inet_aton(3) may accept: 1-4 dot-separated numbers, decimal, octal (leading 0)
# or hex (0x); checked with a pattern first because glibc's inet_aton also accepts
# trailing garbage after whitespace ("1.2.3.4 x").
_INET_ATON_FORM = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}$")

# Connection limits of the client for user base URLs (the SDK's own defaults).
CLIENT_LIMITS = httpx2.Limits(max_connections=1000, max_keepalive_connections=100)


class BlockedHost(ValueError):
    """A base URL or host that the guard refuses.

    Attributes:
        host: the host as given (for the user-facing message).
        reason: ``"internal"`` (an address in a refused range), ``"unresolvable"``
            (no A/AAAA record) or ``"invalid"`` (not an http(s) URL with a host).
        address: the refused address (``"internal"`` only).
        category: what the address is: ``"loopback"``, ``"private"``,
            ``"link-local"``, ``"multicast"``, ``"unspecified"`` or ``"reserved"``.
    """

    def __init__(self, host: str, reason: str, address: str | None = None, category: str | None = None):
        detail = f"{host}: {reason}" + (f" ({category} address {address})" if address else "")
        super().__init__(detail)
        self.host = host
        self.reason = reason
        self.address = address
        self.category = category


class BlockedConnection(httpcore2.ConnectError):
    """Raised by ``GuardedBackend`` instead of connecting to a refused address.

    A ``httpcore2.ConnectError``, so the HTTP stack maps it as usual (to
    ``httpx2.ConnectError``, then ``openai.APIConnectionError``); its ``__cause__`` is
    the ``BlockedHost``, which ``blocked_cause`` finds in the exception chain.
    """


def blocked_cause(exc: BaseException | None) -> BlockedHost | None:
    """The ``BlockedHost`` somewhere in ``exc``'s ``__cause__``/``__context__`` chain, if any."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, BlockedHost):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def normalize_host(host: str) -> str:
    """Lower-case ``host`` without brackets and one trailing dot (``"[::1]"`` → ``"::1"``)."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") else host


def ip_literal(host: str) -> IPAddress | None:
    """The IP address ``host`` denotes, or ``None`` for a host name.

    Accepts what ``ipaddress`` accepts (IPv6 with or without brackets; a zone id
    ``%eth0``/``%25eth0`` is dropped) and the IPv4 forms of ``inet_aton(3)``:
    ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1`` → ``127.0.0.1``.
    """
    name = normalize_host(host)
    if "%" in name:  # an IPv6 zone id (RFC 6874 writes it %25 in URLs)
        name = name.split("%", 1)[0]
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if _INET_ATON_FORM.match(name):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return None
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be reached for a user, or ``None`` for a public address.

    Returns ``"unspecified"``, ``"loopback"``, ``"link-local"``, ``"multicast"``,
    ``"reserved"`` (IANA reserved, e.g. ``240.0.0.0/4``, and anything else that is not
    globally routable) or ``"private"``.
    IPv4 embedded in IPv4-mapped, 6to4 and NAT64 addresses is judged itself.
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return blocked_reason(ip.ipv4_mapped)
        if ip in _NAT64_LOCAL_USE:
            return "reserved"
        if ip in _NAT64_WELL_KNOWN:
            return blocked_reason(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None:
            return blocked_reason(ip.sixtofour)
        if ip.is_site_local:
            return "private"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "reserved"
    return None


def _allow_key(host: str) -> str:
    """How a host is compared with the allowlist: the canonical IP text, else the name."""
    ip = ip_literal(host)
    return str(ip) if ip is not None else normalize_host(host)


@dataclass(frozen=True)
class NetGuard:
    """The guard for user base URLs: refuses internal hosts unless allowlisted.

    Hashable (a field of ``chatcore.client.ClientOptions``, which keys the client cache).
    """

    allowlist: frozenset[str] = frozenset()

    @classmethod
    def from_names(cls, names: Iterable[str]) -> "NetGuard":
        """A guard allowing the hosts in ``names`` (``USER_BASE_URL_ALLOWLIST`` entries)."""
        return cls(frozenset(_allow_key(name) for name in names if name and name.strip()))

    def allows(self, host: str) -> bool:
        """True when ``host`` is on the allowlist (then it is not checked at all)."""
        return bool(self.allowlist) and _allow_key(host) in self.allowlist

    def addresses(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host`` (an IP literal, or all A/AAAA records from
        ``socket.getaddrinfo``), each checked with ``blocked_reason``.

        Raises:
            BlockedHost: ``internal`` if any address is refused (one bad record is
                enough: a client may pick any of them), ``unresolvable`` if there is none.
        """
        literal = ip_literal(host)
        if literal is not None:
            candidates = [literal]
        else:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError):
                raise BlockedHost(host, "unresolvable") from None
            candidates = []
            for family, _type, _proto, _name, sockaddr in infos:
                if family not in (socket.AF_INET, socket.AF_INET6):
                    continue
                ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
                if ip not in candidates:
                    candidates.append(ip)
            if not candidates:
                raise BlockedHost(host, "unresolvable")
        for ip in candidates:
            category = blocked_reason(ip)
            if category is not None:
                raise BlockedHost(host, "internal", str(ip), category)
        return candidates

    def check_url(self, url: str) -> None:
        """Check a user base URL before it is used.

        The URL is parsed with ``httpx2.URL``, the parser the HTTP client itself uses,
        so the host checked is the host connected to (no parser differential).

        Raises:
            BlockedHost: ``invalid``, ``unresolvable`` or ``internal`` (see the class).
        """
        try:
            parsed = httpx2.URL(url)
        except (httpx2.InvalidURL, TypeError, ValueError):
            raise BlockedHost(url[:100], "invalid") from None
        host = parsed.raw_host.decode("ascii", "replace")
        if parsed.scheme not in ("http", "https") or not host:
            raise BlockedHost(url[:100], "invalid")
        if self.allows(host):
            return
        self.addresses(host, parsed.port or (443 if parsed.scheme == "https" else 80))


class GuardedBackend(httpcore2.SyncBackend):
    """An ``httpcore2`` network backend that connects only to checked addresses.

    ``connect_tcp`` resolves the host itself (``NetGuard.addresses``), refuses the
    connection if any address is internal, connects to the checked addresses in
    order and checks the peer address of the socket it got. Allowlisted hosts
    connect as usual.
    """

    def __init__(self, guard: NetGuard):
        self.guard = guard

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # noqa: ANN001
        """Open a TCP stream to ``host:port`` (see the class docstring).

        Raises:
            BlockedConnection: an address of ``host``, or the connected peer, is refused.
            httpcore2.ConnectError: no address, or none accepted the connection.
        """
        if self.guard.allows(host):
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            candidates = self.guard.addresses(host, port)
        except BlockedHost as exc:
            if exc.reason == "internal":
                raise BlockedConnection(str(exc)) from exc
            raise httpcore2.ConnectError(str(exc)) from None
        error: Exception | None = None
        for ip in candidates:
            try:
                stream = super().connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except httpcore2.ConnectError as exc:
                error = exc
                continue
            peer = ipaddress.ip_address(str(stream.get_extra_info("server_addr")[0]).split("%", 1)[0])
            category = blocked_reason(peer)
            if category is not None:
                stream.close()
                blocked = BlockedHost(host, "internal", str(peer), category)
                raise BlockedConnection(str(blocked)) from blocked
            return stream
        raise error or httpcore2.ConnectError(f"{host}: no address")


class GuardedTransport(httpx2.HTTPTransport):
    """``httpx2.HTTPTransport`` whose connection pool uses a ``GuardedBackend``."""

    def __init__(self, guard: NetGuard, *, limits: httpx2.Limits = CLIENT_LIMITS):
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard),
        )


def guarded_http_client(guard: NetGuard, *, timeout: float, proxy: str | None = None) -> httpx2.Client:
    """The ``httpx2.Client`` for the ``openai`` SDK when the base URL is the user's.

    Redirects are not followed (the SDK's default client follows them); the
    environment's proxy variables are ignored. Without ``proxy`` the transport is a
    ``GuardedTransport``; with one (``local`` mode) the proxy connects, so only
    ``NetGuard.check_url`` applies.
    """
    transport = (
        httpx2.HTTPTransport(proxy=proxy, trust_env=False, limits=CLIENT_LIMITS) if proxy else GuardedTransport(guard)
    )
    return httpx2.Client(transport=transport, follow_redirects=False, trust_env=False, timeout=timeout)
