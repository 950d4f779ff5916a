"""Webhooks without a server: signatures, event decoding, dedupe, routing and answers."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import random
from typing import Any

import attrs
import pytest

import wegly_async as wa
from wegly_async.webhooks import (
    MemoryDedupeStore,
    WebhookAnswer,
    WebhookRouter,
    parse_event,
    verify_signature,
)
from wegly_async.webhooks._answers import answer as answer_of

SECRET = "whsec-test-1"
CHAT_ID = "2b1f8c4e-6d1a-4d8e-9a57-3f0c1e7b9d21"
MESSAGE = {
    "id": "6f1c2a7e-3b4d-4c5e-8f90-1a2b3c4d5e6f",
    "type": "text",
    "from_me": False,
    "body_text": "Olá, quero um orçamento",
    "created_at": "2026-11-30T12:00:00Z",
    "content_payload": {"wamid": "wamid.HBgM"},
}
LEAD = {
    "id": "a3c5e7f9-1b2d-4f6a-8c0e-2d4f6a8c0e1b",
    "code": 19615,
    "title": "Orçamento site",
    "status": 1,
    "created_at": "2026-11-30T12:00:00Z",
    "updated_at": "2026-11-30T12:05:00Z",
}


def body_of(event_key: str, payload: dict[str, Any]) -> bytes:
    return json.dumps({"event_key": event_key, "payload": payload}, ensure_ascii=False).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers_for(body: bytes, event_key: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"content-type": "application/json", "x-wegly-signature": sign(body), **extra}
    if event_key is not None:
        headers["x-wegly-event"] = event_key
    return headers


RECEIVED = body_of("chat.message_received", {"chat_id": CHAT_ID, "message": MESSAGE})


# --- signatures -------------------------------------------------------------------------------


def test_a_published_hmac_sha256_vector_verifies() -> None:
    # RFC 4231, test case 2: the digest is computed by the standard, not by this test.
    digest = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    verify_signature(b"what do ya want for nothing?", digest, "Jefe")
    with pytest.raises(wa.WebhookSignatureError):
        verify_signature(b"what do ya want for nothing!", digest, "Jefe")


@pytest.mark.parametrize("size", [1, 63, 64, 65, 131])
def test_keys_shorter_than_longer_than_and_as_long_as_a_block_verify_as_hmac_says(
    size: int,
) -> None:
    # The pads are hashed by this package (RFC 2104); a key past SHA-256's 64-byte block
    # is hashed first. RFC 4231 case 6 covers a 131-byte key; hmac decides the others.
    key = bytes(range(size))
    verify_signature(RECEIVED, hmac.new(key, RECEIVED, hashlib.sha256).hexdigest(), key)
    with pytest.raises(wa.WebhookSignatureError):
        verify_signature(RECEIVED, hmac.new(key + b"!", RECEIVED, "sha256").hexdigest(), key)


def test_the_rfc_4231_vector_of_a_key_longer_than_a_block_verifies() -> None:
    digest = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    verify_signature(
        b"Test Using Larger Than Block-Size Key - Hash Key First", digest, b"\xaa" * 131
    )


@pytest.mark.parametrize(
    "encode",
    [
        lambda d: d.hex(),
        lambda d: d.hex().upper(),
        lambda d: "sha256=" + d.hex(),
        lambda d: "SHA256=" + d.hex().upper(),
        lambda d: base64.b64encode(d).decode(),
        lambda d: "sha256=" + base64.b64encode(d).decode(),
        lambda d: base64.urlsafe_b64encode(d).decode().rstrip("="),
        lambda d: f"  {d.hex()}\n",
    ],
    ids=["hex", "HEX", "prefix", "PREFIX-HEX", "base64", "prefix-base64", "urlsafe", "spaces"],
)
def test_every_accepted_encoding_of_the_right_digest_verifies(encode: Any) -> None:
    digest = hmac.new(SECRET.encode(), RECEIVED, hashlib.sha256).digest()
    verify_signature(RECEIVED, encode(digest), SECRET)


def test_a_wrong_secret_a_tampered_byte_and_a_reserialized_body_are_refused() -> None:
    good = sign(RECEIVED)
    with pytest.raises(wa.WebhookSignatureError, match="does not match"):
        verify_signature(RECEIVED, sign(RECEIVED, "another-secret"), SECRET)
    for index in (0, len(RECEIVED) // 2, len(RECEIVED) - 1):
        tampered = bytearray(RECEIVED)
        tampered[index] ^= 0x01
        with pytest.raises(wa.WebhookSignatureError):
            verify_signature(bytes(tampered), good, SECRET)
    # The same JSON, parsed and serialized again (other spacing, escapes): no longer the bytes.
    reserialized = json.dumps(json.loads(RECEIVED)).encode()
    assert json.loads(reserialized) == json.loads(RECEIVED)
    with pytest.raises(wa.WebhookSignatureError, match="exact bytes"):
        verify_signature(reserialized, good, SECRET)


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_a_missing_signature_is_refused(signature: str | None) -> None:
    with pytest.raises(wa.WebhookSignatureError, match="missing"):
        verify_signature(RECEIVED, signature, SECRET)


@pytest.mark.parametrize("signature", ["zz" * 32, "abc", sign(RECEIVED)[:-2], "sha256=", "é" * 64])
def test_a_malformed_signature_is_refused(signature: str) -> None:
    with pytest.raises(wa.WebhookSignatureError, match="not an HMAC-SHA256"):
        verify_signature(RECEIVED, signature, SECRET)


def test_two_secrets_accept_a_signature_by_either_during_rotation() -> None:
    old, new = "old-secret", "new-secret"
    verify_signature(RECEIVED, sign(RECEIVED, old), [old, new])
    verify_signature(RECEIVED, sign(RECEIVED, new), (old, new.encode()))
    with pytest.raises(wa.WebhookSignatureError):
        verify_signature(RECEIVED, sign(RECEIVED, "neither"), [old, new])


def test_bad_secrets_and_a_text_body_are_caller_mistakes() -> None:
    with pytest.raises(ValueError, match="empty"):
        verify_signature(RECEIVED, sign(RECEIVED), "")
    with pytest.raises(ValueError, match="empty"):
        verify_signature(RECEIVED, sign(RECEIVED), [SECRET, b""])
    with pytest.raises(ValueError, match="at least one"):
        verify_signature(RECEIVED, sign(RECEIVED), [])
    with pytest.raises(TypeError, match="secret"):
        verify_signature(RECEIVED, sign(RECEIVED), 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="raw bytes"):
        verify_signature(RECEIVED.decode(), sign(RECEIVED), SECRET)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="signature"):
        verify_signature(RECEIVED, sign(RECEIVED).encode(), SECRET)  # type: ignore[arg-type]


def test_signature_errors_are_webhook_errors_and_wegly_errors() -> None:
    assert issubclass(wa.WebhookSignatureError, wa.WebhookError)
    assert issubclass(wa.WebhookPayloadError, wa.WebhookError)
    assert issubclass(wa.WebhookError, wa.WeglyError)


# --- parse_event --------------------------------------------------------------------------------


def test_a_message_event_decodes_with_typed_accessors_and_keeps_unknown_fields() -> None:
    payload = {"chat_id": CHAT_ID, "message": MESSAGE, "novo_campo": {"x": 1}}
    body = body_of("chat.message_received", payload)
    event = parse_event(body, headers_for(body, "chat.message_received"), secret=SECRET)
    assert event.event_key is wa.WebhookEventKey.CHAT_MESSAGE_RECEIVED
    assert event.chat_id == CHAT_ID
    assert isinstance(event.message, wa.Message)
    assert event.message.id == MESSAGE["id"]
    assert event.message.from_me is False
    assert event.message.body_text == "Olá, quero um orçamento"
    assert event.payload["novo_campo"] == {"x": 1}
    assert event.lead is None and event.deal is None


@pytest.mark.parametrize("kind", ["lead", "deal"])
def test_lead_and_deal_events_decode_their_record(kind: str) -> None:
    body = body_of(f"{kind}.stage_changed", {kind: LEAD})
    event = parse_event(body, headers_for(body), secret=SECRET)
    record = getattr(event, kind)
    assert isinstance(record, wa.RecordSummary)
    assert (record.id, record.code, record.title, record.status) == (
        LEAD["id"],
        19615,
        "Orçamento site",
        1,
    )
    assert record.updated_at is not None and record.updated_at.tzinfo is not None
    assert event.event_key.is_known


def test_an_unknown_event_key_is_kept_not_refused() -> None:
    body = body_of("delivery.status_updated", {"status": "read"})
    event = parse_event(body, headers_for(body), secret=SECRET)
    assert event.event_key == "delivery.status_updated"
    assert not event.event_key.is_known
    assert event.payload == {"status": "read"}


def test_the_header_names_may_come_in_any_case() -> None:
    headers = {"X-Wegly-Signature": sign(RECEIVED), "X-WEGLY-EVENT": "chat.message_received"}
    assert parse_event(RECEIVED, headers, secret=SECRET).chat_id == CHAT_ID


def test_the_signature_is_checked_before_anything_is_parsed() -> None:
    # A body that is not even JSON, with a wrong signature: the signature error wins.
    with pytest.raises(wa.WebhookSignatureError):
        parse_event(b"\xff{not json", {"x-wegly-signature": "00" * 32}, secret=SECRET)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"{not json", "not the event envelope"),
        (b"[1, 2]", "not the event envelope"),
        (b'{"payload": {}}', "event_key"),
        (b'{"event_key": "", "payload": {}}', "event_key"),
        (b'{"event_key": "lead.created", "payload": []}', "payload"),
        (b'{"event_key": "lead.created"}', "payload"),
        (b'{"event_key": "lead.created", "payload": {"lead": "x"}}', "payload.lead"),
        (b'{"event_key": "chat.message_sent", "payload": {"chat_id": 7}}', "chat_id"),
    ],
)
def test_a_verified_body_that_is_not_the_envelope_is_a_payload_error(
    body: bytes, match: str
) -> None:
    with pytest.raises(wa.WebhookPayloadError, match=match) as info:
        parse_event(body, headers_for(body), secret=SECRET)
    assert info.value.__cause__ is None and info.value.__context__ is None


def test_an_off_type_message_field_names_the_field() -> None:
    message = {**MESSAGE, "from_me": "sim"}
    body = body_of("chat.message_received", {"chat_id": CHAT_ID, "message": message})
    with pytest.raises(wa.WebhookPayloadError, match=r"payload\.message.*from_me"):
        parse_event(body, headers_for(body), secret=SECRET)


def test_a_typed_part_is_decoded_from_the_payload_on_first_access_and_kept() -> None:
    event = wa.WebhookEvent(
        event_key=wa.WebhookEventKey.CHAT_MESSAGE_RECEIVED,
        payload={"chat_id": CHAT_ID, "message": MESSAGE},
    )
    assert isinstance(event.message, wa.Message)
    assert event.message is event.message, "decoded once, then kept"
    assert (event.message.id, event.chat_id, event.lead, event.deal) == (
        MESSAGE["id"],
        CHAT_ID,
        None,
        None,
    )
    assert event == wa.WebhookEvent(event_key=event.event_key, payload=dict(event.payload))


@pytest.mark.parametrize(
    ("payload", "part", "match"),
    [
        ({"message": {**MESSAGE, "from_me": "sim"}}, "message", r"payload\.message.*from_me"),
        ({"lead": {**LEAD, "code": "x"}}, "lead", r"payload\.lead.*code"),
        ({"deal": [LEAD]}, "deal", r"payload\.deal is not an object"),
        ({"chat_id": 7}, "chat_id", r"payload\.chat_id"),
    ],
)
def test_a_typed_part_that_does_not_fit_raises_a_payload_error_when_read(
    payload: dict[str, Any], part: str, match: str
) -> None:
    event = wa.WebhookEvent(event_key=wa.WebhookEventKey("lead.won"), payload=payload)
    for _ in range(2):  # a failure is not kept as a value
        with pytest.raises(wa.WebhookPayloadError, match=match) as info:
            getattr(event, part)
        assert info.value.__context__ is None and info.value.__cause__ is None
    assert event.payload == payload


def test_a_decoded_event_and_an_answer_are_the_frozen_models_themselves() -> None:
    event = parse_event(RECEIVED, headers_for(RECEIVED), secret=SECRET)
    built = wa.WebhookEvent(event_key=event.event_key, payload=json.loads(RECEIVED)["payload"])
    assert type(event) is wa.WebhookEvent and event == built
    assert repr(event) == repr(built) == f"WebhookEvent(event_key={event.event_key!r})"
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.payload = {}  # type: ignore[misc]
    answer = answer_of(200, "handled")
    assert type(answer) is WebhookAnswer
    assert answer == WebhookAnswer(200, {"ok": True, "message": "handled"})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        answer.status = 500  # type: ignore[misc]


def test_an_event_header_that_disagrees_with_the_body_is_refused() -> None:
    with pytest.raises(wa.WebhookPayloadError, match="x-wegly-event"):
        parse_event(RECEIVED, headers_for(RECEIVED, "chat.message_sent"), secret=SECRET)


# --- the dedupe store ----------------------------------------------------------------------------


async def test_the_memory_store_claims_once_releases_and_forgets_after_its_window() -> None:
    now = [0.0]
    store = MemoryDedupeStore(window=60, max_entries=3, clock=lambda: now[0])
    assert await store.claim("a")
    assert not await store.claim("a")
    await store.release("a")
    assert await store.claim("a")
    now[0] = 59.0
    assert not await store.claim("a")
    now[0] = 60.0
    assert await store.claim("a"), "a claim older than the window is forgotten"
    for key in "bcd":
        assert await store.claim(key)
    assert len(store) == 3, "the oldest claim makes room"
    assert await store.claim("a")


def test_the_memory_store_agrees_with_a_plain_model_of_its_window_and_bound() -> None:
    # The store looks at its oldest claim only once that claim may have left the window;
    # this drives it through claims, releases, size evictions and clock jumps around the
    # window's edge, and checks every answer against a list of (key, claimed at) pairs.
    rng = random.Random(20261201)
    for window, max_entries in ((10.0, 4), (10.0, 50), (0.0, 3), (3.5, 1)):
        now = [0.0]
        clock = functools.partial(now.__getitem__, 0)
        store = MemoryDedupeStore(window=window, max_entries=max_entries, clock=clock)
        model: list[tuple[str, float]] = []
        for _ in range(3_000):
            now[0] += rng.choice((0.0, 0.5, 1.0, window / 2, window, 2.5 * window))
            key = f"k{rng.randrange(8)}"
            if rng.random() < 0.2:
                asyncio.run(store.release(key))
                model = [(k, t) for k, t in model if k != key]
                continue
            model = [(k, t) for k, t in model if now[0] - t < window]
            expected = all(k != key for k, _ in model)
            if expected:
                model = [*model, (key, now[0])][-max_entries:]
            assert store.claim_now(key) is expected, (window, max_entries, now[0], key)
            assert len(store) == len(model)


def test_the_memory_store_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="window"):
        MemoryDedupeStore(window=-1)
    with pytest.raises(ValueError, match="max_entries"):
        MemoryDedupeStore(max_entries=0)


# --- the router, without a server -------------------------------------------------------------


class Recorder:
    """Handlers that record what they ran on."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def handler(self, name: str, *, fail: bool = False, wait: float = 0.0) -> Any:
        async def handle(event: wa.WebhookEvent) -> None:
            await asyncio.sleep(wait)
            self.seen.append((name, str(event.event_key)))
            if fail:
                raise RuntimeError(f"{name} failed")

        return handle


async def deliver(router: WebhookRouter, body: bytes, **headers: str) -> tuple[int, dict[str, Any]]:
    answer = await router.handle("POST", {**headers_for(body), **headers}, body)
    return answer.status, answer.body


async def test_handlers_run_by_key_wildcard_and_catch_all_in_order() -> None:
    router, rec = WebhookRouter(SECRET), Recorder()
    router.on("lead.created")(rec.handler("exact"))
    router.on("lead.*")(rec.handler("leads"))
    router.on("*")(rec.handler("all"))
    router.on_unknown(rec.handler("unknown"))
    assert (await deliver(router, body_of("lead.created", {"lead": LEAD})))[0] == 200
    assert rec.seen == [
        ("exact", "lead.created"),
        ("leads", "lead.created"),
        ("all", "lead.created"),
    ]


async def test_on_unknown_runs_only_for_keys_no_pattern_claims() -> None:
    router, rec = WebhookRouter(SECRET), Recorder()
    router.on("lead.*")(rec.handler("leads"))
    router.on_unknown(rec.handler("unknown"))
    await deliver(router, body_of("deal.won", {"deal": LEAD}))
    await deliver(router, body_of("lead.won", {"lead": LEAD}))
    assert rec.seen == [("unknown", "deal.won"), ("leads", "lead.won")]
    assert router.handlers_for("leadx.won") != router.handlers_for("lead.won")


async def test_a_handler_registered_after_deliveries_runs_for_the_next_one() -> None:
    router, rec = WebhookRouter(SECRET), Recorder()
    router.on("lead.*")(rec.handler("leads"))
    await deliver(router, body_of("lead.won", {"lead": LEAD}))
    await deliver(router, body_of("deal.won", {"deal": LEAD}))
    router.on("lead.won")(rec.handler("won"))
    router.on_unknown(rec.handler("unknown"))
    await deliver(router, body_of("lead.won", {"lead": {**LEAD, "code": 2}}))
    await deliver(router, body_of("deal.won", {"deal": {**LEAD, "code": 2}}))
    assert rec.seen == [
        ("leads", "lead.won"),
        ("leads", "lead.won"),
        ("won", "lead.won"),
        ("unknown", "deal.won"),
    ]


async def test_dispatch_runs_the_matching_handlers_without_dedupe_and_raises_their_error() -> None:
    router, rec = WebhookRouter(SECRET), Recorder()
    router.on("lead.*")(rec.handler("leads"))
    router.on("lead.lost")(rec.handler("boom", fail=True))
    event = wa.WebhookEvent(event_key=wa.WebhookEventKey("lead.won"), payload={"lead": LEAD})
    await router.dispatch(event)
    await router.dispatch(event)
    assert rec.seen == [("leads", "lead.won")] * 2
    lost = wa.WebhookEvent(event_key=wa.WebhookEventKey("lead.lost"), payload={})
    with pytest.raises(RuntimeError, match="boom failed"):
        await router.dispatch(lost)


async def test_each_answer_the_router_gives_is_its_own_even_when_prepared_once() -> None:
    router = WebhookRouter(SECRET)
    router.on("*")(Recorder().handler("h"))
    first = await router.handle("POST", headers_for(RECEIVED), RECEIVED)
    first.body["message"] = "changed by a caller"
    again = await router.handle("POST", headers_for(RECEIVED), RECEIVED)
    other = body_of("lead.won", {"lead": LEAD})
    handled = await router.handle("POST", headers_for(other), other)
    assert again == WebhookAnswer(
        200, {"ok": True, "message": "already handled", "duplicate": True}
    )
    assert handled == WebhookAnswer(200, {"ok": True, "message": "handled"})
    assert (await router.handle("GET", {}, b"")).body["message"].endswith("POST")


async def test_every_answer_code_of_the_router() -> None:
    router, rec = WebhookRouter(SECRET, max_body_bytes=2048), Recorder()
    router.on("chat.message_received")(rec.handler("ok"))
    router.on("lead.lost")(rec.handler("boom", fail=True))
    assert (await router.handle("GET", {}, b"")).status == 405
    big = body_of("lead.created", {"note": "x" * 4096})
    assert (await deliver(router, big))[0] == 413
    assert (await router.handle("POST", {}, RECEIVED)).status == 401
    assert (await deliver(router, RECEIVED, **{"x-wegly-signature": "00" * 32}))[0] == 401
    assert (await deliver(router, b'{"event_key": 1}'))[0] == 400
    assert (await deliver(router, RECEIVED))[0] == 200
    status, answer = await deliver(router, body_of("lead.lost", {"lead": LEAD}))
    assert status == 500 and answer["ok"] is False
    assert rec.seen == [("ok", "chat.message_received"), ("boom", "lead.lost")]


async def test_the_router_decodes_a_typed_part_only_for_a_handler_that_reads_it() -> None:
    router, read = WebhookRouter(SECRET), list[Any]()

    @router.on("chat.message_received")
    async def reply(event: wa.WebhookEvent) -> None:
        read.append(event.message)

    @router.on("lead.won")
    async def sync_lead(event: wa.WebhookEvent) -> None:
        read.append(event.payload["message"]["id"])

    assert (await deliver(router, RECEIVED))[0] == 200
    assert isinstance(read[0], wa.Message) and read[0].id == MESSAGE["id"]
    # An off-type message field is not met by a handler that does not read the message.
    message = {**MESSAGE, "id": "m-lead", "from_me": "sim"}
    assert (await deliver(router, body_of("lead.won", {"message": message})))[0] == 200
    assert read[1:] == ["m-lead"]


async def test_a_typed_part_a_handler_reads_and_that_does_not_fit_is_answered_400() -> None:
    router, rec, runs = WebhookRouter(SECRET), Recorder(), []
    router.on("chat.message_received")(rec.handler("first"))

    @router.on("chat.message_received")
    async def reads_message(event: wa.WebhookEvent) -> None:
        runs.append(event.message)

    bad = body_of(
        "chat.message_received",
        {"chat_id": CHAT_ID, "message": {**MESSAGE, "from_me": "sim"}},
    )
    status, answer = await deliver(router, bad)
    assert (status, answer["ok"]) == (400, False)
    assert "payload.message" in answer["message"] and "from_me" in answer["message"]
    assert runs == [] and rec.seen == [("first", "chat.message_received")]
    # Not kept as handled: the redelivery is decoded (and refused) again, not a duplicate.
    status, answer = await deliver(router, bad)
    assert (status, answer.get("duplicate")) == (400, None)


async def test_a_typed_part_that_is_not_an_object_is_refused_before_any_handler() -> None:
    router, rec = WebhookRouter(SECRET), Recorder()
    router.on("*")(rec.handler("h"))
    for payload in ({"message": "oi"}, {"lead": [LEAD]}, {"deal": 7}):
        status, answer = await deliver(router, body_of("deal.won", payload))
        assert status == 400 and "is not an object" in answer["message"]
    assert rec.seen == []


async def test_a_redelivery_is_acknowledged_without_running_the_handlers_again() -> None:
    router, rec = WebhookRouter(SECRET), Recorder()
    router.on("*")(rec.handler("h"))
    assert await deliver(router, RECEIVED) == (200, {"ok": True, "message": "handled"})
    status, answer = await deliver(router, RECEIVED)
    assert (status, answer["duplicate"]) == (200, True)
    assert len(rec.seen) == 1
    # Another body is another event, even with the same key.
    other = body_of(
        "chat.message_received", {"chat_id": CHAT_ID, "message": {**MESSAGE, "id": "m2"}}
    )
    assert (await deliver(router, other))[0] == 200
    assert len(rec.seen) == 2


class RecordingStore(MemoryDedupeStore):
    """The memory store, keeping every key it was asked to claim."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    async def claim(self, key: str) -> bool:
        self.keys.append(key)
        return await super().claim(key)


async def test_a_redelivery_signed_by_the_other_rotated_secret_is_still_a_duplicate() -> None:
    store, rec = RecordingStore(), Recorder()
    router = WebhookRouter(["whsec-old", SECRET], store=store)
    router.on("*")(rec.handler("h"))
    assert (await deliver(router, RECEIVED, **{"x-wegly-signature": sign(RECEIVED)}))[0] == 200
    old = sign(RECEIVED, "whsec-old")
    status, answer = await deliver(router, RECEIVED, **{"x-wegly-signature": old})
    assert (status, answer.get("duplicate")) == (200, True)
    assert len(rec.seen) == 1
    # The key is the body's HMAC under the first secret, in hex: the same for both copies.
    assert store.keys == [old, old]
    other = body_of("lead.won", {"lead": LEAD})
    await deliver(router, other)
    assert store.keys[-1] == sign(other, "whsec-old") != old


async def test_concurrent_identical_deliveries_run_the_handlers_once() -> None:
    router, rec = WebhookRouter(SECRET), Recorder()
    router.on("*")(rec.handler("slow", wait=0.01))
    answers = await asyncio.gather(*(deliver(router, RECEIVED) for _ in range(20)))
    assert {status for status, _ in answers} == {200}
    assert sum(1 for _, body in answers if body.get("duplicate")) == 19
    assert rec.seen == [("slow", "chat.message_received")]


async def test_a_failed_handler_releases_the_claim_so_the_redelivery_runs() -> None:
    router, calls = WebhookRouter(SECRET), []

    @router.on("*")
    async def flaky(event: wa.WebhookEvent) -> None:
        calls.append(event.event_key)
        if len(calls) == 1:
            raise RuntimeError("database down")

    assert (await deliver(router, RECEIVED))[0] == 500
    assert (await deliver(router, RECEIVED))[0] == 200
    assert (await deliver(router, RECEIVED))[1].get("duplicate") is True
    assert len(calls) == 2


async def test_a_handler_cancelled_midway_releases_the_claim_for_the_redelivery() -> None:
    router, started, runs = WebhookRouter(SECRET), asyncio.Event(), []

    @router.on("*")
    async def slow(event: wa.WebhookEvent) -> None:
        runs.append(event.event_key)
        if len(runs) == 1:
            started.set()
            await asyncio.Event().wait()  # until the server stops and cancels it

    first = asyncio.ensure_future(deliver(router, RECEIVED))
    await started.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    status, answer = await deliver(router, RECEIVED)
    assert (status, answer.get("duplicate")) == (200, None)
    assert len(runs) == 2


async def test_a_handler_failure_is_logged_without_the_body_or_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = WebhookRouter(SECRET)
    router.on("*")(Recorder().handler("boom", fail=True))
    with caplog.at_level("DEBUG", logger="wegly_async"):
        await deliver(router, RECEIVED)
        await deliver(router, RECEIVED, **{"x-wegly-signature": "00" * 32})
    text = caplog.text
    assert "chat.message_received" in text and "boom failed" in text
    assert SECRET not in text and "orçamento" not in text and sign(RECEIVED) not in text


async def test_ack_before_answers_at_once_and_close_drains_the_queue() -> None:
    router, rec = WebhookRouter(SECRET, ack="before"), Recorder()
    router.on("*")(rec.handler("later", wait=0.01))
    bodies = [body_of("lead.created", {"lead": {**LEAD, "title": f"t{n}"}}) for n in range(5)]
    answers = [await deliver(router, body) for body in bodies]
    assert [status for status, _ in answers] == [202] * 5
    assert rec.seen == [], "acknowledged before any handler ran"
    await router.aclose()
    assert len(rec.seen) == 5


async def test_ack_before_with_a_full_queue_answers_503_and_keeps_the_event_deliverable() -> None:
    router, rec = WebhookRouter(SECRET, ack="before", queue_size=1), Recorder()
    router.on("*")(rec.handler("slow", wait=0.05))
    first, second, third = (body_of("lead.won", {"lead": {**LEAD, "code": n}}) for n in range(3))
    assert (await deliver(router, first))[0] == 202
    await asyncio.sleep(0)  # the worker takes the first event off the queue
    assert (await deliver(router, second))[0] == 202
    assert (await deliver(router, third))[0] == 503
    await router.aclose()
    # Refused while full, the third was released: its redelivery is queued and run.
    assert (await deliver(router, third))[0] == 202
    await router.aclose()
    assert len(rec.seen) == 3


def test_the_router_refuses_bad_arguments_and_sync_handlers() -> None:
    with pytest.raises(ValueError, match="empty"):
        WebhookRouter("")
    with pytest.raises(ValueError, match="ack"):
        WebhookRouter(SECRET, ack="later")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_body_bytes"):
        WebhookRouter(SECRET, max_body_bytes=0)
    with pytest.raises(TypeError, match="store"):
        WebhookRouter(SECRET, store=object())  # type: ignore[arg-type]
    router = WebhookRouter(SECRET)
    for pattern in ("", "lead*", "*.created", "le*d.created"):
        with pytest.raises(ValueError, match="pattern"):
            router.on(pattern)
    with pytest.raises(TypeError, match="async def"):
        router.on("lead.created")(lambda event: None)
    with pytest.raises(ValueError, match="path"):
        router.asgi_app("hooks")
