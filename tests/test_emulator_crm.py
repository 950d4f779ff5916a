"""The emulator's CRM routes through the SDK: leads, followers, deals and proposals whose
state hangs together, with 404s for unknown ids and 400s (JSON ``message``) for bad bodies."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import wegly_async as wa
from wegly_async.testing import WeglyEmulator

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
async def emu() -> AsyncIterator[WeglyEmulator]:
    async with WeglyEmulator() as emulator:
        yield emulator


@pytest.fixture
async def client(emu: WeglyEmulator) -> AsyncIterator[wa.WeglyClient]:
    async with emu.client(max_retries=0) as c:
        yield c


async def status_and_message(
    client: wa.WeglyClient, method: str, path: str, json: Any
) -> tuple[int, Any]:
    with pytest.raises(wa.APIStatusError) as caught:
        await client.request(method, path, json=json)
    body = caught.value.body
    assert isinstance(body, dict)
    return caught.value.status_code, body["message"]


def follower(emu: WeglyEmulator, user: int = 0, role: int = 0) -> dict[str, str]:
    user_id, role_id = emu.users[user].id, emu.roles[role].id
    assert user_id is not None and role_id is not None
    return {"user_id": user_id, "role_id": role_id}


# --- leads -----------------------------------------------------------------------------------


async def test_created_leads_get_increasing_codes(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    first = await client.leads.create("Formulário: Ana", phone="+5511999990000")
    second = await client.leads.create("Formulário: Bruno", email="b@example.com")
    assert (first.title, second.title) == ("Formulário: Ana", "Formulário: Bruno")
    assert first.id != second.id
    assert (first.code, second.code) == (1, 2)
    assert emu.requests[0].json == {"title": "Formulário: Ana", "phone": "+5511999990000"}


async def test_followers_given_at_creation_are_in_the_list_a_new_follower_returns(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    lead = await client.leads.create("Lead", followers=[follower(emu, 0, 1)])
    followers = await client.leads.add_follower(
        lead.id, **follower(emu, 1, 0), notes="Acompanhar retorno"
    )
    assert [(f.user, f.role, f.notes) for f in followers] == [
        (wa.User(id=emu.users[0].id, name=emu.users[0].name), emu.roles[1], None),
        (wa.User(id=emu.users[1].id, name=emu.users[1].name), emu.roles[0], "Acompanhar retorno"),
    ]


async def test_adding_a_user_who_already_follows_returns_the_list_unchanged(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    lead = await client.leads.create("Lead")
    first = await client.leads.add_follower(lead.id, **follower(emu, 2, 0), notes="primeiro")
    again = await client.leads.add_follower(lead.id, **follower(emu, 2, 1), notes="de novo")
    assert again == first
    assert len(again) == 1


async def test_followers_of_unknown_leads_users_and_roles_are_refused(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    lead = await client.leads.create("Lead")
    with pytest.raises(wa.NotFoundError, match=f"lead {UNKNOWN} not found"):
        await client.leads.add_follower(UNKNOWN, **follower(emu))
    with pytest.raises(wa.NotFoundError, match=r"user .* not found"):
        await client.leads.add_follower(lead.id, **{**follower(emu), "user_id": UNKNOWN})
    with pytest.raises(wa.NotFoundError, match=r"role .* not found"):
        await client.leads.add_follower(lead.id, **{**follower(emu), "role_id": UNKNOWN})
    with pytest.raises(wa.NotFoundError, match=r"user .* not found"):
        await client.leads.create("L", followers=[{**follower(emu), "user_id": UNKNOWN}])
    assert await client.leads.add_follower(lead.id, **follower(emu)) != []


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/leads", {}, "title must be a non-empty string"),
        ("/leads", {"title": "x" * 151}, "title must be at most 150"),
        ("/leads", {"title": "t", "quality_rating": 6}, "quality_rating must be from 1 to 5"),
        ("/leads", {"title": "t", "quality_rating": True}, "quality_rating must be an integer"),
        ("/leads", {"title": "t", "visibility": 2}, "visibility must be 0 or 1"),
        ("/leads", {"title": "t", "person_ids": ["x"]}, r"person_ids\[0\] must be a UUID"),
        ("/leads", {"title": "t", "note": {"is_pinned": True}}, "note.content"),
        ("/leads", {"title": "t", "followers": {"user_id": "u"}}, "followers must be a list"),
        ("/deals", {"title": "t", "value": "10"}, "value must be a number"),
        ("/deals", {"title": "t", "expected_close_date": "2024-03-15"}, "expected_close_date"),
        ("/deals", {"title": "t", "person": {"contacts": []}}, "person.name"),
        ("/deals", {"title": "t", "organization": "Acme"}, "organization must be an object"),
    ],
)
async def test_bad_creation_bodies_are_400s_with_a_message(
    client: wa.WeglyClient, path: str, body: Any, message: str
) -> None:
    status, text = await status_and_message(client, "POST", path, body)
    assert status == 400
    assert re.search(message, text), text


# --- deals -----------------------------------------------------------------------------------


async def test_a_created_deal_reads_back_in_the_documented_shape(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    created = await client.deals.create(
        "Implementação completa CRM",
        value=Decimal("75000.50"),
        expected_close_date=datetime(2024, 3, 15, tzinfo=UTC),
        quality_rating=4,
        quality_reason="Cliente com budget aprovado",
        visibility=0,
        temperature=3,
        marketing={"url_conversion": "https://example.com/ok?utm_campaign=crm&utm_term=erp"},
        lead_source={"name": "LinkedIn Ads"},
        tags=["enterprise"],
        person={"name": "Roberto", "contacts": [{"type": 0, "value": "+55 11 99988-7766"}]},
        organization={"name": "Tech Innovators S.A."},
        followers=[follower(emu, 1, 1)],
        note={"content": "Da campanha enterprise.", "is_pinned": True},
        responsible_id=emu.users[2].id,
    )
    deal = await client.deals.get(created.id)
    assert (deal.id, deal.code, deal.title) == (created.id, 1, "Implementação completa CRM")
    assert str(deal.value) == "75000.50"
    assert deal.expected_close_date == datetime(2024, 3, 15, tzinfo=UTC)
    assert (deal.quality_rating, deal.quality_reason) == (4, "Cliente com budget aprovado")
    assert (deal.visibility, deal.temperature, deal.status) == (0, 3, 1)
    assert deal.responsible == wa.User(id=emu.users[2].id, name=emu.users[2].name)
    assert deal.created_by == wa.User(id=emu.users[0].id, name=emu.users[0].name)
    assert deal.stage is not None and deal.stage.pipeline is not None
    assert deal.stage.id == deal.pipeline_stages[0].id
    assert [stage.position for stage in deal.pipeline_stages] == [1, 2, 3, 4]
    assert deal.deal_source is not None and deal.deal_source.name == "LinkedIn Ads"
    source = deal.marketing_lead_source
    assert source is not None
    assert (source.campaing_name, source.utm_search_term) == ("crm", "erp")
    assert source.lead_source == deal.deal_source
    assert [(p.user, p.role) for p in deal.participants] == [
        (wa.User(id=emu.users[1].id, name=emu.users[1].name), emu.roles[1])
    ]
    assert deal.created_at is not None and deal.won_date is None


async def test_a_deal_created_in_a_stage_reads_back_in_it(client: wa.WeglyClient) -> None:
    first = await client.deals.get((await client.deals.create("Primeiro")).id)
    third_stage = first.pipeline_stages[2]
    assert third_stage.id is not None
    second = await client.deals.create("Segundo", stage_id=third_stage.id)
    deal = await client.deals.get(second.id)
    assert deal.code == 2
    assert deal.stage is not None and deal.stage.id == third_stage.id


async def test_unknown_deals_stages_and_responsibles_are_404s(client: wa.WeglyClient) -> None:
    with pytest.raises(wa.NotFoundError, match=f"deal {UNKNOWN} not found"):
        await client.deals.get(UNKNOWN)
    with pytest.raises(wa.NotFoundError, match="stage"):
        await client.deals.create("D", stage_id=UNKNOWN)
    with pytest.raises(wa.NotFoundError, match="user"):
        await client.deals.create("D", responsible_id=UNKNOWN)


async def test_a_deal_id_that_is_no_uuid_is_a_400(client: wa.WeglyClient) -> None:
    assert (await status_and_message(client, "GET", "/deals/123", None))[0] == 400


async def test_an_injected_fault_on_deal_creation_is_not_retried(emu: WeglyEmulator) -> None:
    emu.inject(503, method="POST")
    async with emu.client() as client:
        with pytest.raises(wa.InternalServerError):
            await client.deals.create("D")
    assert len(emu.requests) == 1


# --- proposals -------------------------------------------------------------------------------


async def test_a_seeded_proposal_is_updated_and_its_totals_computed_exactly(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    deal = await client.deals.create("Deal")
    proposal_id = emu.create_proposal(
        deal_id=deal.id,
        items=[wa.ProposalItem(name="Licença", quantity=3, unit_price=Decimal("19.90"))],
    )
    proposal = await client.proposals.update(
        proposal_id,
        title="Proposta revisada",
        discount_type=1,
        discount_value=10,
        items=[wa.ProposalItem(name="Implantação", quantity=Decimal("0.5"), unit_price=0.1)],
    )
    assert proposal.id == proposal_id
    assert proposal.deal == wa.RecordRef(id=deal.id, title="Deal")
    assert (proposal.title, proposal.version, proposal.items_count) == ("Proposta revisada", 2, 2)
    assert str(proposal.subtotal) == "59.75"
    assert proposal.total == Decimal("53.775")


async def test_an_item_changes_and_is_removed_by_id(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    items = [
        wa.ProposalItem(id="a", name="A", quantity=1, unit_price=5),
        wa.ProposalItem(id="b", name="B", quantity=2, unit_price=1),
    ]
    proposal_id = emu.create_proposal(items=items)
    item_ids = ["a", "b"]
    changed = await client.proposals.update(
        proposal_id,
        items=[
            wa.ProposalItem(id=item_ids[0], quantity=10),
            wa.ProposalItem(id=item_ids[1], delete=True),
        ],
    )
    assert (changed.items_count, changed.subtotal, changed.version) == (1, Decimal(50), 2)
    with pytest.raises(wa.NotFoundError, match="proposal item"):
        await client.proposals.update(
            proposal_id, items=[wa.ProposalItem(id=item_ids[1], quantity=1)]
        )


async def test_a_proposal_moves_to_a_lead_and_is_approved(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    lead = await client.leads.create("Lead do site")
    approver = emu.users[1].id
    assert approver is not None
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    proposal = await client.proposals.update(
        emu.create_proposal(),
        lead_id=lead.id,
        status=2,
        approved_by=approver,
        approved_at=moment,
        valid_until=moment,
        notes="Aprovada por telefone",
    )
    assert proposal.lead == wa.RecordRef(id=lead.id, title="Lead do site")
    assert proposal.approved_by == wa.User(id=approver, name=emu.users[1].name)
    assert proposal.approved_at == proposal.valid_until == moment
    assert (proposal.status, proposal.notes) == (2, "Aprovada por telefone")


async def test_a_proposal_finds_its_deal_by_code(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    await client.deals.create("Primeiro")
    second = await client.deals.create("Segundo")
    proposal = await client.proposals.update(emu.create_proposal(), deal_code=str(second.code))
    assert proposal.deal == wa.RecordRef(id=second.id, title="Segundo")


async def test_unknown_proposals_and_references_are_404s(
    emu: WeglyEmulator, client: wa.WeglyClient
) -> None:
    proposal_id = emu.create_proposal()
    with pytest.raises(wa.NotFoundError, match="proposal"):
        await client.proposals.update(UNKNOWN, title="t")
    for fields in ({"lead_id": UNKNOWN}, {"deal_id": UNKNOWN}, {"deal_code": "999"}):
        with pytest.raises(wa.NotFoundError):
            await client.proposals.update(proposal_id, **fields)
    assert (await client.proposals.update(proposal_id, title="ainda aqui")).version == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "nothing to change"),
        ({"discount_value": "10"}, "discount_value must be a number"),
        ({"status": "1"}, "status must be an integer"),
        ({"valid_until": "amanhã"}, "valid_until"),
        ({"items": [{"delete": True}]}, "delete needs the item's id"),
        ({"items": [{"quantity": True}]}, r"items\[0\].quantity must be a number"),
    ],
)
async def test_bad_proposal_bodies_are_400s_with_a_message(
    emu: WeglyEmulator, client: wa.WeglyClient, body: Any, message: str
) -> None:
    path = f"/proposals/{emu.create_proposal()}"
    status, text = await status_and_message(client, "PUT", path, body)
    assert status == 400
    assert re.search(message, text), text


def test_create_proposal_checks_its_arguments(emu: WeglyEmulator) -> None:
    with pytest.raises(ValueError, match="unknown deal_id"):
        emu.create_proposal(deal_id=UNKNOWN)
    with pytest.raises(TypeError, match="ProposalItem"):
        emu.create_proposal(items=[{"name": "x"}])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="discount_value"):
        emu.create_proposal(discount_value="1")  # type: ignore[arg-type]
    assert emu.create_proposal() != emu.create_proposal()


async def test_the_readmes_proposal_example(emu: WeglyEmulator, client: wa.WeglyClient) -> None:
    proposal_id = emu.create_proposal(
        items=[wa.ProposalItem(id="i1", name="Licença", quantity=2, unit_price=Decimal("19.90"))]
    )
    proposal = await client.proposals.update(proposal_id, discount_type=1, discount_value=10)
    assert proposal.subtotal == Decimal("39.80")
    assert proposal.total == Decimal("35.82")


async def test_every_route_arrives_as_sent(emu: WeglyEmulator, client: wa.WeglyClient) -> None:
    lead = await client.leads.create("Lead", visibility=1, tags=["site"])
    await client.leads.add_follower(lead.id, **follower(emu), notes="n")
    deal = await client.deals.create("Deal", value=Decimal("0.10"), temperature=2)
    await client.deals.get(deal.id)
    proposal_id = emu.create_proposal()
    await client.proposals.update(proposal_id, discount_value=Decimal("1.50"))
    prefix = "/integrations/external"
    assert [(r.method, r.path, r.json) for r in emu.requests] == [
        ("POST", f"{prefix}/leads", {"title": "Lead", "visibility": 1, "tags": ["site"]}),
        ("POST", f"{prefix}/leads/{lead.id}/followers", {**follower(emu), "notes": "n"}),
        ("POST", f"{prefix}/deals", {"title": "Deal", "value": 0.1, "temperature": 2}),
        ("GET", f"{prefix}/deals/{deal.id}", None),
        ("PUT", f"{prefix}/proposals/{proposal_id}", {"discount_value": 1.5}),
    ]
