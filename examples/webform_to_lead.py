"""A web form that creates a Wegly lead: an ``aiohttp.web`` handler in front of ``client.leads``.

Run it with ``WEGLY_TOKEN`` set (and ``WEGLY_BASE_URL`` for the emulator), then post the
form: ``curl -d name=Ana -d phone=+5511999990000 -d interest=CRM http://127.0.0.1:8000/lead``.
"""

from __future__ import annotations

from aiohttp import web

import wegly_async as wa

CLIENT: web.AppKey[wa.WeglyClient] = web.AppKey("wegly_client", wa.WeglyClient)


async def create_lead(request: web.Request) -> web.Response:
    """Turn the posted form into a lead and answer its code, or say what the form lacks."""
    form = await request.post()
    name = str(form.get("name", "")).strip()
    if not name:
        return web.json_response({"error": "name is required"}, status=400)
    phone = str(form.get("phone", "")).strip() or None
    email = str(form.get("email", "")).strip() or None
    interest = str(form.get("interest", "")).strip()
    try:
        lead = await request.app[CLIENT].leads.create(
            f"Formulário do site: {name}"[:150],
            phone=phone,
            email=email,
            tags=["site"],
            lead_source={"name": "Formulário do site"},
            note={"content": f"Interesse: {interest}"} if interest else None,
        )
    except wa.BadRequestError as exc:
        return web.json_response({"error": exc.message}, status=422)
    except wa.SendOutcomeUnknownError:
        # The lead may exist already: asking the visitor to send again could make two.
        return web.json_response({"error": "received, being processed"}, status=202)
    return web.json_response({"lead": lead.code}, status=201)


def make_app(client: wa.WeglyClient) -> web.Application:
    """Return the form's application, answering on ``POST /lead``."""
    app = web.Application()
    app[CLIENT] = client
    app.router.add_post("/lead", create_lead)
    return app


async def _app() -> web.Application:
    client = wa.WeglyClient()
    app = make_app(client)

    async def close(_: web.Application) -> None:
        await client.close()

    app.on_cleanup.append(close)
    return app


if __name__ == "__main__":
    web.run_app(_app(), host="127.0.0.1", port=8000)
