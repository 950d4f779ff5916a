"""Type-checked only (``mypy``): the public API used the ways our users use it."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp

import wegly_async as wa


async def chunks() -> AsyncIterator[bytes]:
    yield b"data"


async def bot(session: aiohttp.ClientSession) -> None:
    async with wa.WeglyClient(
        "token",
        base_url="https://api.wegly.com.br",
        origin="https://app.example.com",
        timeout=wa.Timeout(30.0, connect=5.0),
        max_retries=0,
        session=session,
    ) as client:
        chat = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
        result: wa.SendResult = await client.chats.send_text(chat, "Olá!", reply_to="wamid.x")
        message: wa.Message = result.records[0]
        status: wa.MessageStatus | None = message.status
        if status == wa.MessageStatus.PROCESSING:
            print("queued")
        if status == "sent":
            print("sent")
        await client.chats.send_reaction(chat, "👍", reference_wamid="wamid.x")
        await client.chats.send_template(
            chat,
            name="saudacao_inicial",
            language="pt_BR",
            fields=[wa.TemplateField("BODY", "TEXT", index=1, value="Maria")],
        )
        await client.chats.send_image(chat, Path("photo.png"), caption="Veja")
        await client.chats.send_document(
            chat, b"%PDF", filename="a.pdf", mime_type="application/pdf"
        )
        await client.chats.send_audio(chat, io.BytesIO(b"ogg"))
        await client.chats.send_video(chat, chunks(), filename="v.mp4")

        pager: wa.TimelinePager = client.chats.timeline(chat, order=wa.Order.DESC, take=50)
        async for event in pager:
            event_at = event.event_at
            if event_at is not None:
                print(event_at.isoformat())
        async for page in pager.pages():
            total: int = page.total
            events: list[wa.TimelineEvent] = page.records
            print(total, len(events))
        everything: list[wa.TimelineEvent] = await client.chats.timeline(
            chat, order="asc"
        ).to_list()
        print(len(everything))


async def paced() -> None:
    async with wa.WeglyClient("token", rate_limit=wa.RateLimit(20, burst=5)) as client:
        state: wa.RateLimitState = client.rate_limit_state
        per_second: float | None = state.per_second
        print(per_second, state.paused_for, state.throttled)
    async with wa.WeglyClient("token", pacing=False) as unpaced:
        print(unpaced.rate_limit_state.limit)


async def chat_routes(client: wa.WeglyClient, chat: str, user: str) -> None:
    created: wa.Chat = await client.chats.create(
        whatsapp_phone_id=chat,
        wa_contact_id="11999999999",
        template="saudacao_inicial",
        language="pt_BR",
        status=wa.ChatStatus.OPEN,
    )
    found: wa.Chat = await client.chats.get(created.id or chat, timeout=5)
    last: wa.Message | None = found.last_message
    wamid: str | None = last.wamid if last is not None else None
    kind: wa.ChatType | None = found.chat_type
    agent: wa.AssignedAgent | None = found.assigned_agent
    print(kind, agent, found.phone_number)
    await client.chats.send_location(chat, latitude=-23.5, longitude=-46.6, reply_to=wamid)
    await client.chats.send_buttons(chat, "Sim?", [wa.Button("y", "Sim")])
    await client.chats.send_list(
        chat,
        "Escolha",
        button="Ver",
        sections=[wa.ListSection("Planos", [wa.ListRow("pro", "Pro", "O melhor")])],
    )
    unread: wa.UnreadSummary = await client.chats.unread_summary()
    print(unread.unread_messages_total + unread.unread_chats_total)
    await client.chats.remove_participant(chat, user)
    await client.chats.set_responsible(chat, user, update_leads=True)
    scheduled: wa.ScheduledMessage = await client.chats.update_scheduled_message(
        chat, user, text="Lembrete", files=[Path("agenda.pdf"), b"raw"]
    )
    state: wa.ScheduledMessageStatus | None = scheduled.status
    print(state, scheduled.message_kind, scheduled.cancel_reason)
    raw: wa.RawResponse[wa.Chat] = await client.chats.with_raw_response.get(chat)
    print(raw.parse().id)
    newest: list[wa.TimelineEvent] = await client.chats.timeline(
        chat, order="desc", limit=50
    ).to_list()
    print(len(newest))


async def errors(client: wa.WeglyClient) -> None:
    try:
        await client.chats.send_text("3c90c3cc-0d44-4b50-8888-8dd25736052a", "oi")
    except wa.RateLimitError as exc:
        wait: float | None = exc.retry_after
        print(wait)
    except wa.APIStatusError as exc:
        code: int = exc.status_code
        print(code, exc.message, exc.body, exc.headers.get("x"))
    except wa.SendTimeoutError as exc:
        print("timed out, maybe sent:", exc.message)
    except wa.SendOutcomeUnknownError:
        pass
    except wa.APIConnectionError as exc:
        print(exc.method, exc.url)
    except wa.WeglyError:
        pass
    finally:
        await client.close()


async def crm(client: wa.WeglyClient) -> None:
    user, role = "fcb47a3c-a2d9-45c8-b1a1-1da8f9627f9f", "6bb94eb7-50df-4f88-9862-7ef8f4b9607c"
    person: wa.PersonParam = {"name": "Ana", "contacts": [{"type": 0, "value": "+5511999990000"}]}
    follower: wa.FollowerParam = {"user_id": user, "role_id": role}
    lead: wa.RecordRef = await client.leads.create(
        "Formulário do site: Ana",
        phone="+5511999990000",
        tags=["site"],
        person=person,
        marketing={"url_conversion": "https://example.com/ok?utm_source=ads"},
        followers=[follower],
        note={"content": "Veio do site", "is_pinned": True},
        timeout=5,
    )
    followers: list[wa.Follower] = await client.leads.add_follower(
        lead.id, user_id=user, role_id=role, notes="Ligar amanhã"
    )
    role_name: str | None = followers[0].role.name if followers[0].role else None
    print(role_name)
    created = await client.deals.create("Deal", value=Decimal("19.90"), quality_rating=4)
    deal: wa.Deal = await client.deals.get(created.id)
    value: Decimal | None = deal.value
    stages: list[wa.Stage] = deal.pipeline_stages
    print(value, stages)
    item = wa.ProposalItem(name="Licença", quantity=3, unit_price=19.9)
    quantity: Decimal | None = item.quantity
    print(quantity)
    proposal: wa.Proposal = await client.proposals.update(
        "33333333-3333-4333-8333-333333333333", discount_value=Decimal("5"), items=[item]
    )
    total: Decimal | None = proposal.total
    raw = await client.proposals.with_raw_response.update(proposal.id or "", title="t")
    print(total, raw.parse().subtotal)


async def fleet_worker() -> None:
    budget = wa.SharedRateBudget.from_url("redis://127.0.0.1:6379/0", name="company-x")
    async with budget, wa.WeglyClient(rate_limit=wa.RateLimit(50), rate_budget=budget) as client:
        state: wa.RateLimitState = client.rate_limit_state
        print(state.per_second, budget.name, budget.key)
        try:
            await client.chats.send_text("3c90c3cc-0d44-4b50-8888-8dd25736052a", "oi")
        except wa.RateBudgetError as exc:
            print(exc)
