"""User base URLs cannot reach internal hosts (chatcore/netguard.py).

The validator is called on many address forms with a fake resolver (``socket.getaddrinfo``
monkeypatched: names come from a table, numeric hosts are parsed without DNS, anything
else fails), and the connect-time guard and the stream endpoint are checked against
the test upstream on 127.0.0.1. A second safety net refuses every ``connect()`` to an
address outside 127.0.0.0/8, so even code without the guard never leaves the machine.
"""

from __future__ import annotations

import ipaddress
import socket

import httpx2
import pytest

from chatcore.netguard import BlockedHost, NetGuard, blocked_cause, blocked_reason, guarded_http_client, ip_literal
from chatcore.sse import parse_events
from tests.upstream import Reply

PUBLIC_V4 = "93.184.215.14"  # a global address; never connected to (see the safety net)
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
USER_KEY = "sk-user-own-key-ssrf-0123456789"

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class FakeDNS:
    """A fake ``getaddrinfo``: ``table[name]`` is a list of addresses, or a list of such
    lists answered one per call (the last one repeats) to fake DNS rebinding."""

    def __init__(self):
        self.table: dict[str, list] = {}
        self.calls: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else str(host)
        try:
            ipaddress.ip_address(name.split("%", 1)[0])
            return _real_getaddrinfo(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        except ValueError:
            pass
        self.calls.append(name)
        answers = self.table.get(name.lower().rstrip("."))
        if answers is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if answers and isinstance(answers[0], list):
            answers = answers[0] if len(answers) == 1 else answers.pop(0)
        port = int(port or 0)
        out = []
        for address in answers:
            if ":" in address:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return out


def _loopback_only(address) -> None:
    """Refuse (OSError) any connect() that is not to 127.0.0.0/8 (the safety net)."""
    if isinstance(address, tuple):
        ip = ipaddress.ip_address(address[0].split("%", 1)[0])
        if not (ip.version == 4 and ip in ipaddress.ip_network("127.0.0.0/8")):
            raise ConnectionRefusedError(f"test safety net: no connection to {address[0]}")


@pytest.fixture
def dns(monkeypatch):
    """The fake resolver, installed for the whole process, plus the connect safety net."""
    fake = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", fake)

    def connect(self, address):
        _loopback_only(address)
        return _real_connect(self, address)

    def connect_ex(self, address):
        _loopback_only(address)
        return _real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return fake


# ---------------------------------------------------------------- the validator
BLOCKED_URLS = [
    ("http://127.0.0.1:8000/v1", "loopback"),
    ("http://127.8.9.10/v1", "loopback"),
    ("http://2130706433/v1", "loopback"),  # decimal
    ("http://0x7f.1/v1", "loopback"),  # hex, short
    ("http://0x7f000001/v1", "loopback"),
    ("http://127.1/v1", "loopback"),  # short
    ("http://[::1]:8080/v1", "loopback"),
    ("http://[::ffff:127.0.0.1]/v1", "loopback"),  # IPv4-mapped
    ("http://[::ffff:a9fe:a9fe]/", "link-local"),  # mapped 169.254.169.254
    ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 of 127.0.0.1
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local"),  # NAT64 of the metadata address
    ("http://[64:ff9b:1::1]/", "reserved"),  # NAT64 local-use prefix
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[fe80::1%25eth0]/", "link-local"),
    ("http://10.0.0.1/v1", "private"),
    ("http://10.1/v1", "private"),
    ("https://172.16.5.4/v1", "private"),
    ("http://192.168.1.1./v1", "private"),
    ("http://[fd00:ec2::254]/", "private"),
    ("http://[fec0::1]/", "private"),
    ("http://100.100.100.200/", "reserved"),  # shared address space (cloud metadata)
    ("http://0.0.0.0:8050/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://[::127.0.0.1]/", "reserved"),  # IPv4-compatible (deprecated)
]


@pytest.mark.parametrize("url,category", BLOCKED_URLS, ids=[u for u, _ in BLOCKED_URLS])
def test_internal_literals_are_refused_without_dns(dns, url, category):
    with pytest.raises(BlockedHost) as info:
        NetGuard().check_url(url)
    assert info.value.reason == "internal" and info.value.category == category
    assert dns.calls == [], "an IP literal is never looked up"


@pytest.mark.parametrize("host", ["0177.0.0.1", "00177.0.0.01", "017700000001", "0x7F.0.0.1", "127.0.1", "2130706433"])
def test_inet_aton_forms_are_normalised(dns, host):
    """Forms ``ipaddress`` rejects but libc's inet_aton accepts (httpx refuses some of
    them in a URL; the host check refuses them all)."""
    assert ip_literal(host) == ipaddress.IPv4Address("127.0.0.1")
    with pytest.raises(BlockedHost) as info:
        NetGuard().addresses(host, 80)
    assert info.value.category == "loopback"


def test_octal_host_in_a_url_is_refused(dns):
    with pytest.raises(BlockedHost):
        NetGuard().check_url("http://0177.0.0.1/v1")


@pytest.mark.parametrize(
    "name,answers,category",
    [
        ("localhost", ["127.0.0.1", "::1"], "loopback"),
        ("metadata.test", ["169.254.169.254"], "link-local"),
        # one bad record among good ones is enough: a client may pick any of them
        ("mixed.test", [PUBLIC_V4, "10.0.0.5"], "private"),
        ("mixed6.test", [PUBLIC_V4, PUBLIC_V6, "::1"], "loopback"),
        ("mapped.test", ["::ffff:192.168.0.1"], "private"),
        ("nat64.test", ["64:ff9b::7f00:1"], "loopback"),
    ],
)
def test_every_resolved_record_is_checked(dns, name, answers, category):
    dns.table[name] = answers
    with pytest.raises(BlockedHost) as info:
        NetGuard().check_url(f"https://{name.upper()}/v1")
    assert info.value.reason == "internal" and info.value.category == category
    assert dns.calls == [name]  # the URL parser lower-cases the host


def test_public_names_and_addresses_pass(dns):
    dns.table["api.example.test"] = [PUBLIC_V4, PUBLIC_V6]
    guard = NetGuard()
    guard.check_url("https://api.example.test/v1")
    assert [str(a) for a in guard.addresses("api.example.test", 443)] == [PUBLIC_V4, PUBLIC_V6]
    guard.check_url(f"http://{PUBLIC_V4}/v1")
    guard.check_url("http://[64:ff9b::808:808]/v1")  # NAT64 of a public address
    assert blocked_reason(ipaddress.ip_address("2002:808:808::1")) is None


def test_unresolvable_and_invalid(dns):
    with pytest.raises(BlockedHost) as info:
        NetGuard().check_url("https://no-such-host.test/v1")
    assert info.value.reason == "unresolvable"
    for url in ["ftp://example.test/", "http:///v1", "http://[::1/v1"]:
        with pytest.raises(BlockedHost) as info:
            NetGuard().check_url(url)
        assert info.value.reason == "invalid"


def test_allowlist_names_hosts_exactly(dns):
    guard = NetGuard.from_names(["LLM.lan.", "127.0.0.1", " "])
    assert guard.allowlist == frozenset({"llm.lan", "127.0.0.1"})
    guard.check_url("http://llm.lan:8000/v1")  # not even resolved
    guard.check_url("http://LLM.LAN./v1")
    guard.check_url("http://127.1:9/v1")  # the same address in another form
    assert dns.calls == []
    dns.table["other.lan"] = ["192.168.0.7"]
    with pytest.raises(BlockedHost):
        guard.check_url("http://other.lan/v1")
    with pytest.raises(BlockedHost):
        guard.check_url("http://127.0.0.2/v1")
    with pytest.raises(BlockedHost):
        guard.check_url("http://sub.llm.lan/v1")


def test_setting_is_read_from_the_environment(monkeypatch):
    from config import Settings

    monkeypatch.setenv("USER_BASE_URL_ALLOWLIST", "llm.lan, 10.0.0.5,")
    assert Settings(_env_file=None).user_base_url_allowlist == ["llm.lan", "10.0.0.5"]


# ---------------------------------------------------------------- at connect time
def test_transport_connects_to_allowlisted_name(dns, fresh_upstream):
    dns.table["llm.lan"] = ["127.0.0.1"]
    with guarded_http_client(NetGuard.from_names(["llm.lan"]), timeout=5) as client:
        response = client.get(f"http://llm.lan:{fresh_upstream.port}/v1/models")
    assert response.status_code == 200 and fresh_upstream.models_requests == 1


def test_transport_refuses_loopback_even_without_validation(dns, fresh_upstream):
    with guarded_http_client(NetGuard(), timeout=5) as client:
        with pytest.raises(httpx2.ConnectError) as info:
            client.get(f"http://127.0.0.1:{fresh_upstream.port}/v1/models")
    assert blocked_cause(info.value).category == "loopback"
    assert fresh_upstream.models_requests == 0


def test_transport_refuses_dns_rebinding(dns, fresh_upstream):
    """Public when checked, 127.0.0.1 when connecting: the transport refuses."""
    dns.table["rebind.test"] = [[PUBLIC_V4], ["127.0.0.1"]]
    guard = NetGuard()
    url = f"http://rebind.test:{fresh_upstream.port}/v1/models"
    guard.check_url(url)  # first answer: public, accepted
    with guarded_http_client(guard, timeout=5) as client:
        with pytest.raises(httpx2.ConnectError) as info:
            client.get(url)
    blocked = blocked_cause(info.value)
    assert blocked is not None and blocked.address == "127.0.0.1"
    assert dns.calls == ["rebind.test", "rebind.test"]
    assert fresh_upstream.models_requests == 0


# ---------------------------------------------------------------- the stream endpoint
def stream_body(base_url: str, **extra) -> dict:
    """A chat request with the user's own key and base URL."""
    return {"messages": [{"role": "user", "content": "hi"}], "api_key": USER_KEY, "base_url": base_url, **extra}


@pytest.mark.parametrize(
    "lang,needle", [("en-US", "is not allowed: 127.0.0.1 is a loopback"), ("zh-CN", "不允许使用此 Base URL")]
)
def test_endpoint_refuses_loopback_base_url_localized(dns, make_client, fresh_upstream, lang, needle):
    client = make_client(allow_user_base_url=True)
    response = client.post(
        "/api/chat/stream", json=stream_body(fresh_upstream.url), headers={"Accept-Language": lang}
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "base_url_blocked" and needle in error["message"]
    assert "USER_BASE_URL_ALLOWLIST" in error["message"]
    assert fresh_upstream.requests == []


def test_endpoint_refuses_numeric_forms(dns, make_client, fresh_upstream):
    client = make_client(allow_user_base_url=True)
    for host in ["2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]"]:
        response = client.post("/api/chat/stream", json=stream_body(f"http://{host}:{fresh_upstream.port}/v1"))
        assert response.status_code == 400, host
        assert response.get_json()["error"]["code"] == "base_url_blocked"
    assert fresh_upstream.requests == []


def test_endpoint_reaches_allowlisted_upstream(dns, make_client, fresh_upstream):
    client = make_client(allow_user_base_url=True, user_base_url_allowlist="127.0.0.1")
    fresh_upstream.script(Reply(content="from the LAN model"))
    response = client.post("/api/chat/stream", json=stream_body(fresh_upstream.url))
    assert response.status_code == 200
    events = parse_events(response.get_data())
    assert "".join(d["content"] for n, d in events if n == "delta") == "from the LAN model"
    assert fresh_upstream.requests[-1]["headers"]["authorization"] == f"Bearer {USER_KEY}"


def test_endpoint_does_not_follow_redirects(dns, make_client, fresh_upstream):
    client = make_client(allow_user_base_url=True, user_base_url_allowlist="127.0.0.1")
    target = f"{fresh_upstream.url}/chat/completions"
    fresh_upstream.script(Reply(status=307, headers={"Location": target}), Reply(content="followed the redirect"))
    response = client.post("/api/chat/stream", json=stream_body(fresh_upstream.url))
    events = parse_events(response.get_data())
    assert "followed the redirect" not in "".join(d.get("content", "") for n, d in events if n == "delta")
    errors = [d for n, d in events if n == "error"]
    assert len(errors) == 1 and errors[0]["code"] == "upstream_error"
    assert len(fresh_upstream.requests) == 1, "the redirect target was requested"


def test_endpoint_refuses_rebinding_at_connect_time(dns, make_client, fresh_upstream):
    dns.table["rebind-e2e.test"] = [[PUBLIC_V4], ["127.0.0.1"]]
    client = make_client(allow_user_base_url=True)
    response = client.post(
        "/api/chat/stream", json=stream_body(f"http://rebind-e2e.test:{fresh_upstream.port}/v1"),
        headers={"Accept-Language": "zh-CN"},
    )
    assert response.status_code == 200  # the check before the request saw the public address
    errors = [d for n, d in parse_events(response.get_data()) if n == "error"]
    assert [e["code"] for e in errors] == ["base_url_blocked"]
    assert "不允许" in errors[0]["message"]
    assert fresh_upstream.requests == []


def test_endpoint_unresolvable_host(dns, make_client, fresh_upstream):
    client = make_client(allow_user_base_url=True)
    response = client.post("/api/chat/stream", json=stream_body("https://nowhere.test/v1"))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "base_url_unresolved"


def test_server_base_url_is_not_guarded(make_client, fresh_upstream):
    """The operator's own OPENAI_BASE_URL (here 127.0.0.1) is trusted as configured."""
    response = make_client(allow_user_base_url=True).post("/api/chat/stream", json={"messages": [{"role": "user", "content": "hi"}]})
    assert [n for n, _ in parse_events(response.get_data())][-1] == "done"
    assert len(fresh_upstream.requests) == 1
