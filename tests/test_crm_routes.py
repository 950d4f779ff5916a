"""client.leads, client.deals and client.proposals on a MockTransport: the exact request of
every route, the documented answers decoding, exact Decimals, bad input refused before any
request, the per-call options and the raw twins."""

from __future__ import annotations

import json
import pathlib
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from conftest import TOKEN, Router, assert_secret_absent

import wegly_async as wa

FIXTURES = pathlib.Path(__file__).parent / "fixtures"
LEAD_ID = "11111111-1111-4111-8111-111111111111"
DEAL_ID = "22222222-2222-4222-8222-222222222222"
PROPOSAL_ID = "33333333-3333-4333-8333-333333333333"
USER_ID = "fcb47a3c-a2d9-45c8-b1a1-1da8f9627f9f"
ROLE_ID = "6bb94eb7-50df-4f88-9862-7ef8f4b9607c"
DOC_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
DOC_TIME = datetime(2023, 11, 7, 5, 31, 56, tzinfo=UTC)


def doc(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


RECORD_DOC = doc("lead_create_response_doc")
FOLLOWERS_DOC = doc("lead_followers_response_doc")
DEAL_DOC = doc("deal_response_doc")
PROPOSAL_DOC = doc("proposal_response_doc")
FOLLOWERS_PATH = f"/leads/{LEAD_ID}/followers"
PROPOSAL_PATH = f"/proposals/{PROPOSAL_ID}"


def sent(router: Router) -> tuple[str, str, Any]:
    assert len(router.requests) == 1
    request = router.requests[0]
    assert request.params == {}
    assert request.headers["Content-Type"] == "application/json"
    return request.method, request.path, json.loads(request.content or b"")


# --- leads.create ----------------------------------------------------------------------------


async def test_lead_create_sends_only_the_title_by_default(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/leads", json=RECORD_DOC)
    lead = await mock_client.leads.create("Formulário do site: Ana")
    assert sent(router) == ("POST", "/leads", {"title": "Formulário do site: Ana"})
    assert lead == wa.RecordRef(id=DOC_ID, code=123, title="<string>")


async def test_lead_create_sends_every_field_given(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/leads", json=RECORD_DOC)
    await mock_client.leads.create(
        "Ana - orçamento",
        stage_id=DOC_ID,
        responsible_id=USER_ID,
        quality_rating=5,
        quality_reason="pediu proposta",
        phone="+55 11 99999-0000",
        email="ana@example.com",
        visibility=1,
        tags=("site", "orçamento"),
        person_ids=[DOC_ID],
        person={"name": "Ana", "contacts": [{"type": 0, "value": "+5511999990000"}]},
        organization_id=LEAD_ID,
        organization={"name": "Ana Ltda"},
        custom_fields={"budget": "10k", "seats": 3},
        marketing={"url_conversion": "https://example.com/ok?utm_source=ads"},
        crm_lead_source_id=DEAL_ID,
        lead_source={"name": "Site"},
        followers=[{"user_id": USER_ID, "role_id": ROLE_ID}],
        note={"content": "Veio do formulário", "is_pinned": True},
    )
    assert sent(router)[2] == {
        "title": "Ana - orçamento",
        "stage_id": DOC_ID,
        "responsible_id": USER_ID,
        "quality_rating": 5,
        "quality_reason": "pediu proposta",
        "phone": "+55 11 99999-0000",
        "email": "ana@example.com",
        "visibility": 1,
        "tags": ["site", "orçamento"],
        "person_ids": [DOC_ID],
        "person": {"name": "Ana", "contacts": [{"type": 0, "value": "+5511999990000"}]},
        "organization_id": LEAD_ID,
        "organization": {"name": "Ana Ltda"},
        "custom_fields": {"budget": "10k", "seats": 3},
        "marketing": {"url_conversion": "https://example.com/ok?utm_source=ads"},
        "crm_lead_source_id": DEAL_ID,
        "lead_source": {"name": "Site"},
        "followers": [{"user_id": USER_ID, "role_id": ROLE_ID}],
        "note": {"content": "Veio do formulário", "is_pinned": True},
    }


async def test_lead_create_is_never_retried_after_it_may_have_reached_the_server(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/leads", raises=wa.TransportError("ServerDisconnectedError"))
    with pytest.raises(wa.SendOutcomeUnknownError):
        await mock_client.leads.create("Ana")
    assert len(router.requests) == 1


async def test_a_lead_answer_without_an_id_is_an_invalid_response(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/leads", json={"code": 1, "title": "Ana"})
    with pytest.raises(wa.InvalidResponseError, match="RecordRef"):
        await mock_client.leads.create("Ana")


# --- leads.add_follower ----------------------------------------------------------------------


async def test_add_follower_sends_the_documented_body_and_returns_the_whole_list(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post(FOLLOWERS_PATH, json=FOLLOWERS_DOC)
    body = doc("lead_follower_request_doc")
    followers = await mock_client.leads.add_follower(LEAD_ID, **body)
    assert sent(router) == ("POST", FOLLOWERS_PATH, body)
    assert followers == [
        wa.Follower(
            role=wa.Role(id=DOC_ID, name="<string>"),
            user=wa.User(id=DOC_ID, name="<string>", avatar="<string>"),
            notes="<string>",
        )
    ]


async def test_add_follower_without_notes_sends_the_two_ids(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post(FOLLOWERS_PATH, json={"followers": []})
    assert await mock_client.leads.add_follower(LEAD_ID, user_id=USER_ID, role_id=ROLE_ID) == []
    assert sent(router)[2] == {"user_id": USER_ID, "role_id": ROLE_ID}


async def test_a_follower_answer_without_its_list_is_an_invalid_response(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post(FOLLOWERS_PATH, json={"ok": True})
    with pytest.raises(wa.InvalidResponseError):
        await mock_client.leads.add_follower(LEAD_ID, user_id=USER_ID, role_id=ROLE_ID)


async def test_add_follower_is_never_retried(router: Router, mock_client: wa.WeglyClient) -> None:
    router.post(FOLLOWERS_PATH, 503)
    with pytest.raises(wa.InternalServerError):
        await mock_client.leads.add_follower(LEAD_ID, user_id=USER_ID, role_id=ROLE_ID)
    assert len(router.requests) == 1


# --- deals.create and deals.get --------------------------------------------------------------


async def test_deal_create_sends_the_documented_example(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    example = doc("deal_create_request_doc")
    router.post("/deals", json=doc("deal_create_response_doc"))
    fields = {key: value for key, value in example.items() if key != "title"}
    fields["expected_close_date"] = datetime(2024, 3, 15, tzinfo=UTC)
    deal = await mock_client.deals.create(example["title"], **fields)
    method, path, body = sent(router)
    assert (method, path) == ("POST", "/deals")
    assert body == {**example, "expected_close_date": "2024-03-15T00:00:00Z"}
    assert b'"value":75000.5,' in (router.requests[0].content or b"")
    assert deal.code == 123


async def test_deal_value_goes_on_the_wire_with_its_own_digits(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/deals", json=RECORD_DOC, repeat=True)
    for value, wire in [
        (Decimal("19.90"), b"19.90"),
        (19.9, b"19.9"),
        (7, b"7"),
        (Decimal("12345678901234567890.123456789"), b"12345678901234567890.123456789"),
    ]:
        router.requests.clear()
        await mock_client.deals.create("Deal", value=value)
        assert router.requests[0].content == b'{"title":"Deal","value":' + wire + b"}"


async def test_expected_close_date_is_sent_in_utc(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/deals", json=RECORD_DOC)
    brasilia = timezone(timedelta(hours=-3))
    await mock_client.deals.create(
        "D", expected_close_date=datetime(2024, 3, 14, 21, tzinfo=brasilia)
    )
    assert sent(router)[2]["expected_close_date"] == "2024-03-15T00:00:00Z"


async def test_deal_get_decodes_every_documented_field(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.get(f"/deals/{DEAL_ID}", json=DEAL_DOC)
    deal = await mock_client.deals.get(DEAL_ID)
    assert router.requests[0].method == "GET"
    assert router.requests[0].path == f"/deals/{DEAL_ID}"
    assert (deal.code, deal.status, deal.visibility, deal.temperature) == (123, 1, 0, 1)
    assert deal.created_by == wa.User(id="<string>", name="<string>", avatar="<string>")
    assert deal.responsible == deal.created_by
    assert deal.stage == wa.Stage(
        id="<string>", name="<string>", pipeline=wa.Pipeline(id="<string>", name="<string>")
    )
    assert deal.pipeline_stages == [wa.Stage(id="<string>", name="<string>", position=123)]
    assert deal.deal_source == wa.LeadSource(id="<string>", name="<string>", logo="<string>")
    source = deal.marketing_lead_source
    assert isinstance(source, wa.MarketingLeadSource)
    assert source.lead_source == deal.deal_source
    assert source.campaing_name == "<string>"
    assert source.creative == wa.MarketingCreative(
        id="<string>", value="<string>", creative_uri="<string>"
    )
    assert deal.crm_loss_reason == wa.LossReason(id="<string>", name="<string>")
    assert (deal.quality_rating, deal.quality_reason) == (123, "<string>")
    moments = (deal.won_date, deal.lost_date, deal.created_at, deal.updated_at, deal.archived_at)
    assert set(moments) == {DOC_TIME}
    assert deal.last_activity_at == deal.expected_close_date == DOC_TIME
    assert deal.participants == [
        wa.DealParticipant(
            id="<string>", role=wa.Role(id="<string>", name="<string>"), notes="<string>"
        )
    ]


async def test_a_deal_with_unknown_fields_and_nothing_else_decodes(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.get(f"/deals/{DEAL_ID}", json={"brand_new": {"x": 1}})
    assert await mock_client.deals.get(DEAL_ID) == wa.Deal()


async def test_a_deal_value_is_read_digit_for_digit(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.get(
        f"/deals/{DEAL_ID}",
        content='{"id": "d", "value": 12345678901234567890.10}',
        headers={"Content-Type": "application/json"},
    )
    deal = await mock_client.deals.get(DEAL_ID)
    assert str(deal.value) == "12345678901234567890.10"


async def test_deal_get_is_retried_like_any_read(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.get(f"/deals/{DEAL_ID}", 503)
    router.get(f"/deals/{DEAL_ID}", json=DEAL_DOC)
    assert (await mock_client.deals.get(DEAL_ID)).code == 123
    assert len(router.requests) == 2


async def test_deal_get_of_an_unknown_deal_raises_not_found(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.get(f"/deals/{DEAL_ID}", 404, json={"message": "deal not found"})
    with pytest.raises(wa.NotFoundError, match="deal not found"):
        await mock_client.deals.get(DEAL_ID)


@pytest.mark.parametrize(
    "body",
    [b'{"value": NaN}', b'{"value": true}', b"[1.5]", b'{"value": "lots"}', b"\xff"],
)
async def test_a_deal_answer_that_is_no_deal_is_an_invalid_response(
    router: Router, mock_client: wa.WeglyClient, body: bytes
) -> None:
    router.get(f"/deals/{DEAL_ID}", content=body, headers={"Content-Type": "application/json"})
    with pytest.raises(wa.InvalidResponseError):
        await mock_client.deals.get(DEAL_ID)


# --- proposals.update ------------------------------------------------------------------------


def doc_item(**changes: Any) -> wa.ProposalItem:
    fields: dict[str, Any] = {
        "id": "<string>",
        "delete": True,
        "product_id": DOC_ID,
        "sku": "<string>",
        "name": "<string>",
        "description": "<string>",
        "quantity": Decimal("1.001"),
        "unit_price": 1,
        "unit": 0,
        "discount_type": 0,
        "discount_value": 1,
        "notes": "<string>",
        "is_recurring_default": True,
        "billing_interval_default": 0,
        "contract_term_months": 2,
        "start_date": DOC_TIME,
        "end_date": DOC_TIME,
        "billing_cycles": 2,
    }
    return wa.ProposalItem(**{**fields, **changes})


async def test_proposal_update_sends_the_documented_example(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.add("PUT", PROPOSAL_PATH, json=PROPOSAL_DOC)
    example = doc("proposal_update_request_doc")
    fields = {key: value for key, value in example.items() if key != "items"}
    for key in ("valid_until", "approved_at", "archived_at", "rejected_at"):
        fields[key] = DOC_TIME
    proposal = await mock_client.proposals.update(PROPOSAL_ID, **fields, items=[doc_item()])
    assert sent(router) == ("PUT", PROPOSAL_PATH, example)
    assert b'"quantity":1.001,' in (router.requests[0].content or b"")
    assert isinstance(proposal, wa.Proposal)


async def test_proposal_answer_decodes_with_decimal_money(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.add("PUT", PROPOSAL_PATH, json=PROPOSAL_DOC)
    proposal = await mock_client.proposals.update(PROPOSAL_ID, title="Proposta")
    assert proposal.lead == wa.RecordRef(id=DOC_ID, title="<string>")
    assert proposal.deal == wa.RecordRef(id=DOC_ID, title="<string>")
    assert (proposal.code, proposal.version, proposal.status, proposal.items_count) == (
        123,
        123,
        1,
        123,
    )
    for amount in (proposal.discount_value, proposal.subtotal, proposal.total):
        assert type(amount) is Decimal
        assert amount == 123
    assert proposal.is_primary is True
    assert proposal.valid_until == DOC_TIME
    assert proposal.created_by == wa.User(id=DOC_ID, name="<string>", avatar="<string>")
    assert proposal.approved_by == proposal.created_by


async def test_proposal_amounts_sent_as_strings_still_decode(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.add("PUT", PROPOSAL_PATH, json={"id": PROPOSAL_ID, "total": "1999.90"})
    proposal = await mock_client.proposals.update(PROPOSAL_ID, notes="n")
    assert str(proposal.total) == "1999.90"


async def test_an_update_is_retried_unless_it_adds_an_item(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.add("PUT", PROPOSAL_PATH, 503)
    router.add("PUT", PROPOSAL_PATH, json=PROPOSAL_DOC)
    await mock_client.proposals.update(PROPOSAL_ID, items=[wa.ProposalItem(id="i1", quantity=2)])
    assert len(router.requests) == 2
    router.requests.clear()
    router.add("PUT", PROPOSAL_PATH, 503)
    with pytest.raises(wa.InternalServerError):
        await mock_client.proposals.update(PROPOSAL_ID, items=[wa.ProposalItem(name="Novo")])
    assert len(router.requests) == 1


async def test_an_item_sends_only_its_given_fields_and_delete_removes_by_id(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.add("PUT", PROPOSAL_PATH, json=PROPOSAL_DOC)
    items = [wa.ProposalItem(id="old", delete=True), wa.ProposalItem(name="Novo", quantity=0.1)]
    await mock_client.proposals.update(PROPOSAL_ID, items=items)
    assert router.requests[0].content == (
        b'{"items":[{"id":"old","delete":true},{"name":"Novo","quantity":0.1}]}'
    )


def test_proposal_item_amounts_are_decimals() -> None:
    item = wa.ProposalItem(quantity=3, unit_price=19.9, discount_value=Decimal("0.50"))
    assert (item.quantity, item.unit_price, item.discount_value) == (
        Decimal(3),
        Decimal("19.9"),
        Decimal("0.50"),
    )
    assert all(type(x) is Decimal for x in (item.quantity, item.unit_price, item.discount_value))


@pytest.mark.parametrize(
    ("fields", "error", "match"),
    [
        ({"delete": True}, ValueError, "needs the id"),
        ({"quantity": True}, TypeError, "ProposalItem.quantity must be a Decimal"),
        ({"unit_price": float("nan")}, ValueError, "finite"),
        ({"discount_value": Decimal("Infinity")}, ValueError, "finite"),
        ({"unit_price": "19.90"}, TypeError, "unit_price"),
        ({"unit": True}, TypeError, "ProposalItem.unit must be an int"),
        ({"product_id": "p1"}, ValueError, "UUID"),
        ({"start_date": datetime(2024, 1, 1)}, ValueError, "timezone-aware"),
        ({"delete": 1}, TypeError, "bool"),
    ],
)
def test_proposal_item_checks_itself(fields: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        wa.ProposalItem(**fields)


# --- Decimal round trips ---------------------------------------------------------------------


def random_decimals(count: int) -> list[Decimal]:
    rng = random.Random(13)
    values = [Decimal("0"), Decimal("-0.00"), Decimal("19.90"), Decimal("1E+3"), Decimal("1E-9")]
    for _ in range(count):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 30)))
        exponent = rng.randint(-20, 10)
        sign = rng.choice(("", "-"))
        values.append(Decimal(f"{sign}{digits}E{exponent}"))
    return values


async def test_decimals_round_trip_exactly_through_a_proposal(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    def echo(request: wa.TransportRequest) -> wa.testing.MockResponse:
        sent_value = json.loads(request.content or b"", parse_float=Decimal)["discount_value"]
        body = b'{"discount_value": %s}' % str(sent_value).encode()
        return wa.testing.MockResponse(
            200, content=body, headers={"Content-Type": "application/json"}
        )

    router.add("PUT", PROPOSAL_PATH, handler=echo, repeat=True)
    for value in random_decimals(300):
        proposal = await mock_client.proposals.update(PROPOSAL_ID, discount_value=value)
        assert proposal.discount_value is not None
        assert proposal.discount_value.as_tuple() == value.as_tuple(), value


# --- bad input, before any request -----------------------------------------------------------


def _bad_calls(client: wa.WeglyClient) -> list[tuple[Any, type, str]]:
    leads, deals, proposals = client.leads, client.deals, client.proposals
    follow = {"user_id": USER_ID, "role_id": ROLE_ID}
    return [
        (lambda: leads.create(""), ValueError, "title must not be empty"),
        (lambda: leads.create("x" * 151), ValueError, "at most 150"),
        (lambda: deals.create("x" * 151), ValueError, "at most 150"),
        (lambda: leads.create(None), TypeError, "title must be a str"),
        (lambda: leads.create("t", quality_rating=0), ValueError, "from 1 to 5"),
        (lambda: leads.create("t", quality_rating=6), ValueError, "from 1 to 5"),
        (lambda: deals.create("t", quality_rating=True), TypeError, "must be an int"),
        (lambda: leads.create("t", visibility=2), ValueError, "0 .* or 1"),
        (lambda: deals.create("t", visibility=True), TypeError, "must be an int"),
        (lambda: deals.create("t", value=True), TypeError, "value must be a Decimal"),
        (lambda: deals.create("t", value=float("inf")), ValueError, "finite"),
        (lambda: deals.create("t", value=Decimal("NaN")), ValueError, "finite"),
        (lambda: deals.create("t", value="10"), TypeError, "value must be a Decimal"),
        (lambda: deals.create("t", temperature=1.5), TypeError, "temperature must be an int"),
        (lambda: deals.create("t", expected_close_date=datetime(2024, 1, 1)), ValueError, "aware"),
        (lambda: leads.create("t", stage_id="stage-1"), ValueError, "stage_id must be a UUID"),
        (lambda: leads.create("t", person_ids=["nope"]), ValueError, r"person_ids\[0\]"),
        (lambda: leads.create("t", tags="vip"), TypeError, "tags must be a list"),
        (lambda: leads.create("t", person={"nome": "Ana"}), TypeError, "nome.*extra_body"),
        (lambda: leads.create("t", person={"contacts": []}), TypeError, "person needs name"),
        (
            lambda: deals.create(
                "t", person={"name": "A", "contacts": [{"type": "0", "value": "1"}]}
            ),
            TypeError,
            r"contacts.*\[0\].*type.* must be an int",
        ),
        (lambda: leads.create("t", note={"content": "x", "pinned": True}), TypeError, "pinned"),
        (lambda: leads.create("t", note={"content": "x", "is_pinned": 1}), TypeError, "bool"),
        (lambda: leads.create("t", organization="Acme"), TypeError, "OrganizationParam"),
        (lambda: deals.create("t", marketing={"url": "u"}), TypeError, "url_conversion"),
        (lambda: deals.create("t", lead_source={}), TypeError, "needs name"),
        (lambda: leads.create("t", followers=[{"user_id": USER_ID}]), TypeError, "role_id"),
        (lambda: deals.create("t", followers=[{**follow, "user_id": "u"}]), ValueError, "UUID"),
        (lambda: leads.create("t", custom_fields=["a"]), TypeError, "custom_fields must be"),
        (lambda: leads.add_follower("lead-1", **follow), ValueError, "lead_id must be a UUID"),
        (lambda: leads.add_follower(LEAD_ID, user_id="u", role_id=ROLE_ID), ValueError, "UUID"),
        (lambda: leads.add_follower(LEAD_ID, **follow, notes="n" * 1001), ValueError, "1000"),
        (lambda: leads.add_follower(LEAD_ID, **follow, notes=""), ValueError, "notes"),
        (lambda: deals.get("../leads"), ValueError, "deal_id must be a UUID"),
        (lambda: proposals.update("p1", title="t"), ValueError, "proposal_id must be a UUID"),
        (lambda: proposals.update(PROPOSAL_ID), ValueError, "changes nothing"),
        (lambda: proposals.update(PROPOSAL_ID, items=[]), ValueError, "changes nothing"),
        (lambda: proposals.update(PROPOSAL_ID, status=True), TypeError, "must be an int"),
        (lambda: proposals.update(PROPOSAL_ID, discount_value=True), TypeError, "Decimal"),
        (lambda: proposals.update(PROPOSAL_ID, lead_id="l"), ValueError, "UUID"),
        (lambda: proposals.update(PROPOSAL_ID, approved_by="me"), ValueError, "UUID"),
        (
            lambda: proposals.update(PROPOSAL_ID, valid_until=datetime(2024, 1, 1)),
            ValueError,
            "aware",
        ),
        (lambda: proposals.update(PROPOSAL_ID, items=[{"name": "x"}]), TypeError, "ProposalItem"),
        (
            lambda: proposals.update(PROPOSAL_ID, items=wa.ProposalItem(name="x")),
            TypeError,
            "list of ProposalItem",
        ),
    ]


async def test_bad_input_raises_before_any_request(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    for call, error, match in _bad_calls(mock_client):
        with pytest.raises(error, match=match):
            await call()
    assert router.requests == []


# --- options, raw twins, secrets -------------------------------------------------------------


async def test_every_route_takes_the_per_call_options(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    options: Any = {"extra_headers": {"X-Trace": "t1"}, "extra_query": {"debug": 1}, "timeout": 5}
    router.post("/leads", json=RECORD_DOC)
    router.post(FOLLOWERS_PATH, json=FOLLOWERS_DOC)
    router.post("/deals", json=RECORD_DOC)
    router.get(f"/deals/{DEAL_ID}", json=DEAL_DOC)
    router.add("PUT", PROPOSAL_PATH, json=PROPOSAL_DOC)
    await mock_client.leads.create("t", **options)
    await mock_client.leads.add_follower(LEAD_ID, user_id=USER_ID, role_id=ROLE_ID, **options)
    await mock_client.deals.create("t", **options)
    await mock_client.deals.get(DEAL_ID, **options)
    await mock_client.proposals.update(PROPOSAL_ID, title="t", **options)
    assert len(router.requests) == 5
    for request in router.requests:
        assert request.headers["X-Trace"] == "t1"
        assert request.params == {"debug": "1"}
        assert request.timeout.total == 5


async def test_extra_body_sends_what_the_docs_do_not_list(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/leads", json=RECORD_DOC)
    await mock_client.leads.create("t", extra_body={"person": {"name": "A", "cpf": "123"}})
    assert sent(router)[2] == {"title": "t", "person": {"name": "A", "cpf": "123"}}


async def test_the_raw_twins_give_the_answer_and_parse_it(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/leads", json=RECORD_DOC, headers={"X-Request-Id": "r1"})
    router.post(FOLLOWERS_PATH, json=FOLLOWERS_DOC)
    router.post("/deals", json=RECORD_DOC)
    router.get(f"/deals/{DEAL_ID}", json=DEAL_DOC)
    router.add("PUT", PROPOSAL_PATH, json=PROPOSAL_DOC)
    raw = await mock_client.leads.with_raw_response.create("t")
    assert isinstance(raw, wa.RawResponse)
    assert raw.headers["x-request-id"] == "r1"
    assert raw.json() == RECORD_DOC
    assert raw.parse().code == 123
    follow = mock_client.leads.with_raw_response.add_follower
    raw_followers = await follow(LEAD_ID, user_id=USER_ID, role_id=ROLE_ID)
    assert raw_followers.parse()[0].notes == "<string>"
    assert (await mock_client.deals.with_raw_response.create("t")).parse().id == DOC_ID
    assert (await mock_client.deals.with_raw_response.get(DEAL_ID)).parse().code == 123
    raw_proposal = await mock_client.proposals.with_raw_response.update(PROPOSAL_ID, title="t")
    assert raw_proposal.parse().total == Decimal(123)


async def test_the_token_is_not_in_an_error_from_a_crm_route(
    router: Router, mock_client: wa.WeglyClient
) -> None:
    router.post("/leads", 400, json={"message": f"bad header Bearer {TOKEN}"})
    with pytest.raises(wa.BadRequestError) as caught:
        await mock_client.leads.create("t")
    assert_secret_absent(caught.value, TOKEN)


def test_the_resources_show_no_secrets_in_their_reprs(mock_client: wa.WeglyClient) -> None:
    shown = [
        repr(mock_client.leads),
        repr(mock_client.deals.with_raw_response),
        repr(mock_client.proposals.with_raw_response),
    ]
    assert shown == [
        "<LeadsResource>",
        "<DealsResourceWithRawResponse>",
        "<ProposalsResourceWithRawResponse>",
    ]
