"""Type-checked only (``mypy``): the public API used the ways our users use it."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
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
