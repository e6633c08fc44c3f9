"""The webhook API in-process: CRUD, validation, the secret, the guard, and the test button."""

import base64
import json
import socket
from typing import Any

import pytest
from standardwebhooks import Webhook as StandardWebhook

from devstack.processes import free_port
from webhooks import guard
from webhooks.models import Delivery, Webhook

from .helpers import Reply

pytestmark = pytest.mark.django_db

EVENTS = [
    "product.created",
    "product.updated",
    "product.deleted",
    "import.completed",
    "import.failed",
    "products.bulk_deleted",
]
SCHEMES = "Only http:// and https:// URLs can receive webhooks."
BAD_PORT = "The URL's port is not a number from 1 to 65535."
PUBLIC_FIELDS = {
    "id",
    "url",
    "events",
    "enabled",
    "description",
    "created_at",
    "updated_at",
    "last_status_code",
    "last_response_time_ms",
    "last_delivery_at",
    "last_error",
    "consecutive_failures",
    "disabled_reason",
}


def create(api: Any, **fields: Any) -> Any:
    body = {"url": "https://hooks.example.com/catalog", "events": ["product.created"], **fields}
    return api.post("/api/webhooks/", body, format="json")


def test_create_shows_the_secret_once(api):
    response = create(api, events=EVENTS, description="Storefront")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == PUBLIC_FIELDS | {"secret"}
    assert body["url"] == "https://hooks.example.com/catalog"
    assert body["events"] == EVENTS
    assert (body["enabled"], body["description"]) == (True, "Storefront")
    assert (body["last_status_code"], body["consecutive_failures"]) == (None, 0)
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) >= 24
    assert Webhook.objects.get().secret == body["secret"]

    assert set(api.get(f"/api/webhooks/{body['id']}/").json()) == PUBLIC_FIELDS
    listed = api.get("/api/webhooks/").json()
    assert listed["count"] == 1
    assert set(listed["results"][0]) == PUBLIC_FIELDS


def test_update_and_delete(api):
    webhook_id = create(api).json()["id"]

    response = api.patch(
        f"/api/webhooks/{webhook_id}/",
        {"events": ["import.completed", "import.completed"], "enabled": False},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["events"], response.json()["enabled"]) == (["import.completed"], False)
    assert "secret" not in response.json()

    assert api.delete(f"/api/webhooks/{webhook_id}/").status_code == 204
    assert not Webhook.objects.exists()
    assert api.get(f"/api/webhooks/{webhook_id}/").status_code == 404


def test_rotate_secret_shows_the_new_one(api):
    created = create(api).json()
    response = api.post(f"/api/webhooks/{created['id']}/rotate_secret/")
    assert response.status_code == 200
    assert response.json()["secret"].startswith("whsec_")
    assert response.json()["secret"] != created["secret"]
    assert Webhook.objects.get().secret == response.json()["secret"]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"url": "ftp://hooks.example.com/"},
            {"url": [SCHEMES]},
        ),
        ({"url": "javascript:alert(1)"}, {"url": [SCHEMES]}),
        ({"url": "https:///path"}, {"url": ["The URL has no host name."]}),
        ({"url": "http://example.com:99999/"}, {"url": [BAD_PORT]}),
        (
            {"events": ["product.created", "product.exploded"]},
            {
                "events": {
                    "1": [
                        '"product.exploded" is not an event; use product.created, '
                        "product.updated, product.deleted, import.completed, import.failed, "
                        "products.bulk_deleted, import.cancelled, job.reverted."
                    ]
                }
            },
        ),
        (
            {"events": []},
            {
                "events": [
                    "Choose at least one event: product.created, product.updated, "
                    "product.deleted, import.completed, import.failed, products.bulk_deleted, "
                    "import.cancelled, job.reverted."
                ]
            },
        ),
        ({"url": ""}, {"url": ["This field may not be blank."]}),
    ],
)
def test_bad_input_is_a_400_that_names_the_field(api, fields, errors):
    response = create(api, **fields)
    assert response.status_code == 400
    assert response.json() == errors
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://localhost:8000/", "localhost is a loopback address"),
        ("http://app.localhost/", "app.localhost is a loopback address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://172.16.0.1/", "172.16.0.1 is a private address"),
        ("http://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://169.254.1.1/", "169.254.1.1 is a link-local address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://[fc00::1]/", "fc00::1 is a unique-local address"),
        ("http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT address"),
        ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
        ("http://[::]/", ":: is an unspecified address"),
        ("http://2130706433/", "2130706433 (127.0.0.1) is a loopback address"),
        ("http://0x7f000001/", "0x7f000001 (127.0.0.1) is a loopback address"),
        ("http://0177.0.0.1/", "0177.0.0.1 (127.0.0.1) is a loopback address"),
        ("http://127.1/", "127.1 (127.0.0.1) is a loopback address"),
        ("http://0xa9fea9fe/", "0xa9fea9fe (169.254.169.254) is a cloud metadata address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ],
)
def test_private_targets_are_refused_when_the_guard_is_on(api, settings, url, message):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = create(api, url=url)
    assert response.status_code == 400
    assert response.json() == {
        "url": [f"{message}; private targets are refused (WEBHOOK_ALLOW_PRIVATE_TARGETS is off)."]
    }
    assert not Webhook.objects.exists()


def test_public_addresses_pass_the_guard(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    assert create(api, url="https://93.184.215.14/hook").status_code == 201
    assert create(api, url="http://[2606:4700:4700::1111]:8080/hook").status_code == 201


def test_private_targets_are_accepted_when_allowed(api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assert create(api, url="http://127.0.0.1:9000/hook").status_code == 201


def test_the_api_needs_authentication(anonymous):
    assert anonymous.get("/api/webhooks/").status_code == 401
    assert anonymous.post("/api/webhooks/", {}, format="json").status_code == 401


# The test button: a real request to a real receiver, in the request.


def test_the_test_button_sends_a_signed_event(api, receiver):
    created = create(api, url=receiver.url("/hook")).json()

    response = api.post(f"/api/webhooks/{created['id']}/test/")

    assert response.status_code == 200
    result = response.json()
    assert set(result) == {"ok", "status_code", "response_time_ms", "error"}
    assert (result["ok"], result["status_code"], result["error"]) == (True, 200, None)
    assert isinstance(result["response_time_ms"], int)
    [request] = receiver.requests()
    payload = StandardWebhook(created["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["webhook_id"] == created["id"]
    assert set(payload) == {"type", "timestamp", "data"}
    assert not Delivery.objects.exists()


def test_the_test_button_reports_an_error_status(api, receiver):
    receiver.script("/hook", Reply(503, b"down for maintenance"))
    webhook_id = create(api, url=receiver.url("/hook")).json()["id"]
    result = api.post(f"/api/webhooks/{webhook_id}/test/").json()
    assert (result["ok"], result["status_code"], result["error"]) == (
        False,
        503,
        "HTTP 503 Service Unavailable",
    )


def test_the_test_button_against_a_dead_port(api):
    url = f"http://127.0.0.1:{free_port()}/hook"
    webhook_id = create(api, url=url).json()["id"]

    response = api.post(f"/api/webhooks/{webhook_id}/test/")

    assert response.status_code == 200
    assert response.json() == {
        "ok": False,
        "status_code": None,
        "response_time_ms": response.json()["response_time_ms"],
        "error": f"Connection refused by {url} (is the receiver running?).",
    }


def test_the_test_button_times_out(api, receiver, settings):
    settings.WEBHOOK_TIMEOUT = 1
    receiver.script("/slow", Reply(delay=2.5))
    url = receiver.url("/slow")
    webhook_id = create(api, url=url).json()["id"]

    result = api.post(f"/api/webhooks/{webhook_id}/test/").json()

    assert (result["ok"], result["status_code"]) == (False, None)
    assert result["error"] == f"Timed out after 1 s waiting for an answer from {url}."
    assert 1000 <= result["response_time_ms"] < 2500


def test_the_test_button_does_not_follow_redirects(api, receiver):
    receiver.script("/moved", Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    webhook_id = create(api, url=receiver.url("/moved")).json()["id"]
    result = api.post(f"/api/webhooks/{webhook_id}/test/").json()
    assert (result["ok"], result["status_code"]) == (False, 302)
    assert result["error"] == (
        f"HTTP 302: redirects are not followed (Location: {receiver.url('/elsewhere')})."
    )
    assert [r.path for r in receiver.requests()] == ["/moved"]


def test_the_test_button_with_an_unknown_host(api, monkeypatch):
    def resolve(name: str, port: int) -> list[guard.IPAddress]:
        """A name that no DNS knows, without asking one (the tests reach only 127.0.0.1)."""
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(guard, "resolve", resolve)
    webhook_id = create(api, url="http://no-such-host.invalid/hook").json()["id"]
    result = api.post(f"/api/webhooks/{webhook_id}/test/").json()
    assert result["ok"] is False
    assert result["error"] == (
        "DNS lookup failed: the host of http://no-such-host.invalid/hook was not found."
    )


def test_the_guard_checks_again_when_connecting(api, receiver, settings):
    """A URL saved while allowed (or whose DNS changed since) is refused after DNS, unsent."""
    url = f"http://localhost:{receiver.port}/hook"
    webhook_id = create(api, url=url).json()["id"]
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    result = api.post(f"/api/webhooks/{webhook_id}/test/").json()

    assert result["ok"] is False
    assert result["error"] in {
        "Refused: localhost (127.0.0.1) is a loopback address; private targets are refused "
        "(WEBHOOK_ALLOW_PRIVATE_TARGETS is off).",
        "Refused: localhost (::1) is a loopback address; private targets are refused "
        "(WEBHOOK_ALLOW_PRIVATE_TARGETS is off).",
    }
    assert receiver.requests() == []


def test_a_tampered_body_does_not_verify(api, receiver):
    from standardwebhooks.webhooks import WebhookVerificationError

    created = create(api, url=receiver.url()).json()
    api.post(f"/api/webhooks/{created['id']}/test/")
    [request] = receiver.requests()
    tampered = json.loads(request.body)
    tampered["data"]["webhook_id"] += 1
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(created["secret"]).verify(json.dumps(tampered), request.headers)
    rotated = api.post(f"/api/webhooks/{created['id']}/rotate_secret/").json()["secret"]
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(rotated).verify(request.body, request.headers)
