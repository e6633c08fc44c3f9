"""The URL guard's table of forms: each refused when a URL is saved (POST /api/webhooks/ -> 400
on `url`) and when a connection is made (`guarded_pool`), and the public targets it lets through.

Nothing here leaves the machine: names resolve through `DNS` below (the guard's `resolve` is
replaced) and the guard's connect step only records where it would have connected.
"""

import ipaddress
import socket
from typing import Any

import pytest
from urllib3.exceptions import HTTPError, LocationParseError

from webhooks import guard
from webhooks.guard import guarded_pool
from webhooks.models import Webhook
from webhooks.sender import describe

OFF = "(WEBHOOK_ALLOW_PRIVATE_TARGETS is off)"
PRIVATE = f"private targets are refused {OFF}"
LOOPBACK = f"127.0.0.1 is a loopback address; {PRIVATE}."
CARRIERS = f"IPv6 forms of IPv4 addresses are refused, whatever they carry {OFF}"
USERINFO = (
    "The URL has a user name or password before its host; remove it (webhooks are signed "
    "instead, and it would not be sent)."
)
PERCENT = (
    "%31%32%37.0.0.1 has percent-escapes (it decodes to 127.0.0.1); write the host without them."
)
BACKSLASH = "The URL has a backslash before its path, which browsers read as a slash; remove it."
INVISIBLE = (
    "The URL contains a space or an invisible character; remove it, or percent-encode it (%20 "
    "for a space)."
)
# 127.0.0.1 in fullwidth digits, which IDNA 2003 (but not urllib3's IDNA 2008) reads as 127.0.0.1.
FULLWIDTH = "\uff11\uff12\uff17.\uff10.\uff10.\uff11"
# urllib3 itself refuses to read the URL: nothing is resolved or sent.
UNREADABLE = "urllib3 cannot read it"

DNS = {
    "public.example": ["93.184.216.34", "2606:2800:220:1::"],
    "hooks_1.public.example": ["93.184.216.34"],
    "xn--bcher-kva.example": ["93.184.216.34"],
    "nat64.example": ["64:ff9b::7f00:1"],
    "mixed.example": ["93.184.216.34", "2002:a00:1::"],
    "localhost": ["127.0.0.1"],
}


def carries(host: str, kind: str, what: str) -> str:
    return f"{host} is {kind} address, which carries {what}; {CARRIERS}."


def not_plain(host: str) -> str:
    return f"{host} is not a plain host name: use letters, digits, hyphens, underscores and dots."


# url, the refusal when it is saved, the refusal when it is connected to (None: the connection
# goes to a public address, and the save refuses it).
FORMS = [
    # IPv6 forms that carry an IPv4 address: refused whole, whatever they carry.
    ("http://[64:ff9b::a00:1]/", carries("64:ff9b::a00:1", "a NAT64", "the IPv4 address 10.0.0.1")),
    (
        "http://[64:ff9b::5db8:d822]/",
        carries("64:ff9b::5db8:d822", "a NAT64", "the IPv4 address 93.184.216.34"),
    ),
    (
        "http://[64:ff9b:1::a00:1]/",
        carries("64:ff9b:1::a00:1", "a local-use NAT64", "an IPv4 address"),
    ),
    ("http://[2002:a00:1::]/", carries("2002:a00:1::", "a 6to4", "the IPv4 address 10.0.0.1")),
    (
        "http://[2002:5db8:d822::1]/",
        carries("2002:5db8:d822::1", "a 6to4", "the IPv4 address 93.184.216.34"),
    ),
    (
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        carries("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a Teredo", "the IPv4 address 192.0.2.45"),
    ),
    (
        "http://[::a00:1]/",
        carries("::a00:1", "an IPv4-compatible IPv6", "the IPv4 address 10.0.0.1"),
    ),
    (
        "http://[::127.0.0.1]/",
        carries("::127.0.0.1", "an IPv4-compatible IPv6", "the IPv4 address 127.0.0.1"),
    ),
    (
        "http://[::ffff:127.0.0.1]/",
        carries("::ffff:127.0.0.1", "an IPv4-mapped IPv6", "the IPv4 address 127.0.0.1"),
    ),
    (
        "http://[::ffff:8.8.8.8]/",
        carries("::ffff:8.8.8.8", "an IPv4-mapped IPv6", "the IPv4 address 8.8.8.8"),
    ),
    (
        "http://[0:0:0:0:0:ffff:7f00:1]/",
        carries("0:0:0:0:0:ffff:7f00:1", "an IPv4-mapped IPv6", "the IPv4 address 127.0.0.1"),
    ),
    (
        "http://[::ffff:0:a00:1]/",
        carries("::ffff:0:a00:1", "an IPv4-translated IPv6", "the IPv4 address 10.0.0.1"),
    ),
    (
        "http://nat64.example/",
        carries("nat64.example (64:ff9b::7f00:1)", "a NAT64", "the IPv4 address 127.0.0.1"),
    ),
    (
        "http://mixed.example/",
        carries("mixed.example (2002:a00:1::)", "a 6to4", "the IPv4 address 10.0.0.1"),
    ),
    # Hosts that are not a plain DNS name or IP literal once decoded.
    (
        "http://%31%32%37.0.0.1/",
        PERCENT,
        LOOPBACK,
    ),
    (
        "http://loc%61lhost/",
        "loc%61lhost has percent-escapes (it decodes to localhost); write the host without them.",
        f"localhost (127.0.0.1) is a loopback address; {PRIVATE}.",
    ),
    (
        "http://[fe80::1%25eth0]/",
        "fe80::1%25eth0 names a network interface (a zone after %); remove it.",
        "fe80::1%eth0 names a network interface (a zone after %); remove it.",
    ),
    ("http://evil@127.0.0.1/", USERINFO, LOOPBACK),
    ("http://user:secret@public.example/", USERINFO, None),
    ("http://127.0.0.1\\@public.example/", BACKSLASH, LOOPBACK),
    ("http://public.example\\@127.0.0.1/", BACKSLASH, None),
    ("http://127.0.0.1 .public.example/", INVISIBLE, UNREADABLE),
    ("http://127.0.0.1\t.public.example/", INVISIBLE, UNREADABLE),
    ("http://public.example\u200b/", INVISIBLE, UNREADABLE),
    (
        f"http://{FULLWIDTH}/",
        f"{FULLWIDTH} is not a valid host name (Name '{FULLWIDTH[:3]}' is not a valid IDNA label).",
        UNREADABLE,
    ),
    (
        "http://ⓛocalhost/",
        "ⓛocalhost is not a valid host name (Name 'ⓛocalhost' is not a valid IDNA label).",
        UNREADABLE,
    ),
    (
        "http://[v1.x]/",
        "v1.x is not a valid host name ('[v1.x]' is not a valid host or port).",
        UNREADABLE,
    ),
    ("http://public.example../", not_plain("public.example..")),
    ("http://127.0.0.1,public.example/", not_plain("127.0.0.1,public.example")),
    ("http://-hooks.public.example/", not_plain("-hooks.public.example")),
    # Trailing dots: one is the DNS root, and the host is read without it.
    ("http://127.0.0.1./", f"127.0.0.1. (127.0.0.1) is a loopback address; {PRIVATE}."),
    (
        "http://localhost./",
        f"localhost is a loopback address; {PRIVATE}.",
        f"localhost. (127.0.0.1) is a loopback address; {PRIVATE}.",
    ),
    # IPv4 in a legacy spelling: refused for what it names, or else for the spelling.
    ("http://2130706433/", f"2130706433 (127.0.0.1) is a loopback address; {PRIVATE}."),
    (
        "http://0x5db8d822/",
        "0x5db8d822 is an unusual spelling of 93.184.216.34; write it as 93.184.216.34.",
    ),
    ("http://1.2.3.4.5/", "1.2.3.4.5 looks like an IPv4 address but is not one."),
    ("http://999.1.1.1/", "999.1.1.1 looks like an IPv4 address but is not one."),
]
ROWS = [(url, saved, *rest) if rest else (url, saved, saved) for url, saved, *rest in FORMS]
CONNECTED = [(url, connected) for url, _, connected in ROWS if connected is not None]

# url, and where the connection goes (the fake connect step refuses each address in turn).
PUBLIC = [
    ("http://93.184.216.34/hook", [("93.184.216.34", 80)]),
    ("http://[2606:2800:220:1::]/hook", [("2606:2800:220:1::", 80)]),
    ("https://[2606:4700:4700::1111]:8443/hook", [("2606:4700:4700::1111", 8443)]),
    # Beside the Teredo and 6to4 prefixes, outside them.
    ("http://[2001:4860:4860::8888]/hook", [("2001:4860:4860::8888", 80)]),
    ("http://[2003:de:2016::1]/hook", [("2003:de:2016::1", 80)]),
    ("http://public.example/hook", [("93.184.216.34", 80), ("2606:2800:220:1::", 80)]),
    ("https://PUBLIC.Example./hook", [("93.184.216.34", 443), ("2606:2800:220:1::", 443)]),
    ("http://hooks_1.public.example/hook", [("93.184.216.34", 80)]),
    ("http://bücher.example/hook", [("93.184.216.34", 80)]),
    ("http://xn--bcher-kva.example/hook", [("93.184.216.34", 80)]),
]


@pytest.fixture(autouse=True)
def resolved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names the guard resolved, through `DNS` instead of the network."""
    names: list[str] = []

    def resolve(name: str, port: int) -> list[guard.IPAddress]:
        names.append(name)
        try:
            return [ipaddress.ip_address(a) for a in DNS[name.removesuffix(".")]]
        except KeyError:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None

    monkeypatch.setattr(guard, "resolve", resolve)
    return names


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Where the guard would have connected: each attempt is recorded, then refused."""
    attempts: list[tuple[str, int]] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(guard, "create_connection", create_connection)
    return attempts


@pytest.fixture
def guard_on(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False


def save(api: Any, url: str) -> Any:
    return api.post("/api/webhooks/", {"url": url, "events": ["product.created"]}, format="json")


def connect(url: str) -> str:
    """What a delivery to `url` reports (webhooks.sender's words)."""
    with guarded_pool() as pool:
        try:
            pool.request("POST", url, body=b"{}", timeout=1, retries=False, redirect=False)
        except HTTPError as exc:
            return describe(exc, url=url, timeout=1)
    raise AssertionError(f"{url} was sent")


@pytest.mark.django_db
@pytest.mark.usefixtures("guard_on")
@pytest.mark.parametrize(("url", "saved"), [(url, saved) for url, saved, _ in ROWS])
def test_each_form_is_refused_when_saved(api, url, saved, connections):
    response = save(api, url)
    assert response.status_code == 400
    assert response.json() == {"url": [saved]}
    assert not Webhook.objects.exists()
    assert connections == []


@pytest.mark.usefixtures("guard_on")
@pytest.mark.parametrize(("url", "connected"), CONNECTED)
def test_each_form_is_refused_when_connecting(url, connected, connections):
    if connected == UNREADABLE:
        with pytest.raises(LocationParseError), guarded_pool() as pool:
            pool.request("POST", url, body=b"{}", timeout=1, retries=False)
    else:
        assert connect(url) == f"Refused: {connected}"
    assert connections == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "saved"),
    [
        ("http://%31%32%37.0.0.1/", PERCENT),
        ("http://evil@127.0.0.1/", USERINFO),
        ("http://127.0.0.1\\@public.example/", BACKSLASH),
        ("http://127.0.0.1\t.public.example/", INVISIBLE),
        ("http://public.example../", not_plain("public.example..")),
        (
            "http://2130706433/",
            "2130706433 is an unusual spelling of 127.0.0.1; write it as 127.0.0.1.",
        ),
    ],
)
def test_a_host_that_is_not_plain_is_refused_with_the_guard_off_too(api, settings, url, saved):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    response = save(api, url)
    assert (response.status_code, response.json()) == (400, {"url": [saved]})
    assert not Webhook.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("guard_on")
@pytest.mark.parametrize("url", [url for url, _ in PUBLIC])
def test_public_targets_can_be_saved(api, url):
    response = save(api, url)
    assert response.status_code == 201, response.json()
    assert Webhook.objects.get().url == url


@pytest.mark.usefixtures("guard_on")
@pytest.mark.parametrize(("url", "attempts"), PUBLIC)
def test_public_targets_are_connected_to_at_the_checked_addresses(url, attempts, connections):
    assert connect(url) == f"Connection refused by {url} (is the receiver running?)."
    assert connections == attempts


@pytest.mark.django_db
@pytest.mark.usefixtures("guard_on")
def test_an_internationalized_name_is_resolved_in_its_idna_form(api, resolved):
    assert save(api, "http://bücher.example/hook").status_code == 201
    connect("http://bücher.example/hook")
    assert resolved == ["xn--bcher-kva.example", "xn--bcher-kva.example"]


@pytest.mark.django_db
@pytest.mark.usefixtures("guard_on")
def test_a_name_that_does_not_resolve_yet_can_be_saved(api, connections):
    assert save(api, "https://not-yet.example/hook").status_code == 201
    assert connect("https://not-yet.example/hook") == (
        "DNS lookup failed: the host of https://not-yet.example/hook was not found."
    )
    assert connections == []
