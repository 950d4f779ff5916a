"""The emulator's CRM routes (API.md 4.9-4.13): leads, followers, deals and proposals."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

import orjson
from aiohttp import web

from .._constants import (
    MAX_FOLLOWER_NOTES,
    MAX_QUALITY_RATING,
    MAX_RECORD_TITLE,
    MIN_QUALITY_RATING,
    VISIBILITY_VALUES,
)
from ._app import _JSON, PREFIX, ApiError, ServerState
from ._chat_state import now_stamp
from ._crm_state import Crm, proposal_totals
from ._history import JSON
from ._routes_chats import _object, _text, _timestamp, _uuid

__all__ = ["add_crm_routes"]

_ITEM_TEXT: Final = ("sku", "name", "description", "notes")
_ITEM_INTS: Final = ("unit", "discount_type", "billing_interval_default", "contract_term_months")
_ITEM_AMOUNTS: Final = ("quantity", "unit_price", "discount_value")
_ITEM_TIMES: Final = ("start_date", "end_date")


def add_crm_routes(app: web.Application, state: ServerState) -> None:
    """Register the lead, deal and proposal routes on the emulator's application."""
    routes = CrmRoutes(state)
    app.router.add_post(PREFIX + "/leads", routes.create_lead)
    app.router.add_post(PREFIX + "/leads/{lead_id}/followers", routes.add_follower)
    app.router.add_post(PREFIX + "/deals", routes.create_deal)
    app.router.add_get(PREFIX + "/deals/{deal_id}", routes.get_deal)
    app.router.add_put(PREFIX + "/proposals/{proposal_id}", routes.update_proposal)


def _amount_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"cannot answer with a {type(value).__name__}")


def _answer(body: Any, status: int = 200) -> web.Response:
    # Amounts are answered with their own digits, never through a float.
    content = orjson.dumps(body, default=_amount_json)
    return web.Response(status=status, body=content, content_type=_JSON)


async def _exact_object(request: web.Request) -> dict[str, Any]:
    """Return the JSON object of the request with its fractional numbers as ``Decimal``."""
    _object()  # the middleware's verdict on the body: 4xx when it cannot be read
    # aiohttp keeps the bytes it read: this reads them again, digit for digit.
    body: dict[str, Any] = json.loads(await request.read(), parse_float=Decimal)
    return body


def _int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{name} must be an integer")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ApiError(400, f"{name} must be from {low} to {high}")
    return value


def _amount(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ApiError(400, f"{name} must be a number")
    return Decimal(value)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ApiError(400, f"{name} must be a boolean")
    return value


def _list(value: Any, name: str, check: Callable[[Any, str], Any]) -> list[Any]:
    if not isinstance(value, list):
        raise ApiError(400, f"{name} must be a list")
    return [check(item, f"{name}[{index}]") for index, item in enumerate(value)]


def _named(value: Any, name: str) -> JSON:
    if not isinstance(value, dict):
        raise ApiError(400, f"{name} must be an object: {{name}}")
    return {"name": _text(value.get("name"), f"{name}.name")}


def _person(value: Any, name: str) -> JSON:
    if not isinstance(value, dict):
        raise ApiError(400, f"{name} must be an object")

    def contact(item: Any, where: str) -> JSON:
        if not isinstance(item, dict):
            raise ApiError(400, f"{where} must be an object: {{type, value}}")
        return {
            "type": _int(item.get("type"), f"{where}.type"),
            "value": _text(item.get("value"), f"{where}.value"),
        }

    person: JSON = {"name": _text(value.get("name"), f"{name}.name")}
    if "contacts" in value:
        person["contacts"] = _list(value["contacts"], f"{name}.contacts", contact)
    return person


def _note(value: Any, name: str) -> JSON:
    if not isinstance(value, dict):
        raise ApiError(400, f"{name} must be an object: {{content, is_pinned}}")
    return {
        "content": _text(value.get("content"), f"{name}.content"),
        "is_pinned": _bool(value.get("is_pinned", False), f"{name}.is_pinned"),
    }


def _marketing(value: Any, name: str) -> JSON:
    if not isinstance(value, dict):
        raise ApiError(400, f"{name} must be an object: {{url_conversion}}")
    return {"url_conversion": _text(value.get("url_conversion"), f"{name}.url_conversion")}


def _visibility(value: Any, name: str) -> int:
    if _int(value, name) not in VISIBILITY_VALUES:
        raise ApiError(400, f"{name} must be 0 or 1")
    return int(value)


def _object_of(value: Any, name: str) -> JSON:
    if not isinstance(value, dict):
        raise ApiError(400, f"{name} must be an object")
    return value


# The optional fields of lead and deal creation the emulator checks, as the API would.
_FIELDS: Final[dict[str, Callable[[Any, str], Any]]] = {
    "value": _amount,
    "expected_close_date": _timestamp,
    "quality_rating": lambda v, n: _int(v, n, low=MIN_QUALITY_RATING, high=MAX_QUALITY_RATING),
    "quality_reason": _text,
    "phone": _text,
    "email": _text,
    "visibility": _visibility,
    "temperature": _int,
    "tags": lambda v, n: _list(v, n, _text),
    "person_ids": lambda v, n: _list(v, n, _uuid),
    "person": _person,
    "organization_id": _uuid,
    "organization": _named,
    "custom_fields": _object_of,
    "marketing": _marketing,
    "crm_lead_source_id": _uuid,
    "lead_source": _named,
    "note": _note,
}


class CrmRoutes:
    """The handlers of the CRM routes, bound to one emulator's state."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    @property
    def crm(self) -> Crm:
        """The CRM records of the emulator."""
        return self.state.store.crm

    def _user(self, user_id: Any, name: str) -> JSON:
        person = self.crm.people.by_user(_uuid(user_id, name))
        if person is None:
            raise ApiError(404, f"user {user_id} not found")
        return person.user()

    def _role(self, role_id: Any, name: str) -> JSON:
        role_id = _uuid(role_id, name)
        role = next((role for role in self.crm.people.roles if role["id"] == role_id), None)
        if role is None:
            raise ApiError(404, f"role {role_id} not found")
        return dict(role)

    def _followers(self, value: Any, known: list[JSON] | None = None) -> list[JSON]:
        """Return the followers asked for, after ``known``; a user already there is skipped."""
        followers = list(known or [])
        for index, item in enumerate(_list(value, "followers", lambda v, n: v)):
            if not isinstance(item, dict):
                raise ApiError(400, f"followers[{index}] must be an object: {{user_id, role_id}}")
            user = self._user(item.get("user_id"), f"followers[{index}].user_id")
            role = self._role(item.get("role_id"), f"followers[{index}].role_id")
            notes = item.get("notes")
            if notes is not None:
                notes = _text(notes, f"followers[{index}].notes", max_length=MAX_FOLLOWER_NOTES)
            # The docs: duplicates are ignored.
            if all(follower["user"]["id"] != user["id"] for follower in followers):
                followers.append({"role": role, "user": user, "notes": notes})
        return followers

    def _record_fields(self, body: dict[str, Any]) -> JSON:
        fields: JSON = {"title": _text(body.get("title"), "title", max_length=MAX_RECORD_TITLE)}
        for name, check in _FIELDS.items():
            if body.get(name) is not None:
                fields[name] = check(body[name], name)
        responsible = body.get("responsible_id")
        owner = self.crm.owner.user()
        fields["responsible"] = (
            owner if responsible is None else self._user(responsible, "responsible_id")
        )
        return fields

    def _stage(self, body: dict[str, Any]) -> JSON:
        stage_id = body.get("stage_id")
        stage = self.crm.stage(None if stage_id is None else _uuid(stage_id, "stage_id"))
        if stage is None:
            raise ApiError(404, f"stage {stage_id} not found")
        return stage

    async def create_lead(self, request: web.Request) -> web.Response:
        """Answer ``POST /leads``: store the lead, answer its id, code and title."""
        body = await _exact_object(request)
        fields = self._record_fields(body)
        stage = self._stage(body)
        followers = self._followers(body.get("followers") or [])
        lead = self.crm.add_lead({**fields, "stage": stage}, followers)
        return _answer({"id": lead["id"], "code": lead["code"], "title": lead["title"]}, 201)

    async def add_follower(self, request: web.Request) -> web.Response:
        """Answer ``POST /leads/{id}/followers`` with the lead's whole list of followers."""
        lead_id = _uuid(request.match_info["lead_id"], "lead id")
        lead = self.crm.leads.get(lead_id)
        if lead is None:
            raise ApiError(404, f"lead {lead_id} not found")
        body = await _exact_object(request)
        lead["followers"] = self._followers([body], lead["followers"])
        lead["updated_at"] = now_stamp()
        return _answer({"followers": lead["followers"]}, 201)

    async def create_deal(self, request: web.Request) -> web.Response:
        """Answer ``POST /deals``: store the deal, answer its id, code and title."""
        body = await _exact_object(request)
        fields = self._record_fields(body)
        stage = self._stage(body)
        followers = self._followers(body.get("followers") or [])
        participants = [{"id": self.crm.new_id(), **follower} for follower in followers]
        deal = self.crm.add_deal(fields, participants, stage)
        return _answer({"id": deal["id"], "code": deal["code"], "title": deal["title"]}, 201)

    async def get_deal(self, request: web.Request) -> web.Response:
        """Answer ``GET /deals/{id}`` with the deal in the documented shape."""
        deal_id = _uuid(request.match_info["deal_id"], "deal id")
        deal = self.crm.deals.get(deal_id)
        if deal is None:
            raise ApiError(404, f"deal {deal_id} not found")
        return _answer({key: value for key, value in deal.items() if key != "_more"})

    async def update_proposal(self, request: web.Request) -> web.Response:
        """Answer ``PUT /proposals/{id}``: apply the changes, recompute the totals."""
        proposal_id = _uuid(request.match_info["proposal_id"], "proposal id")
        proposal = self.crm.proposals.get(proposal_id)
        if proposal is None:
            raise ApiError(404, f"proposal {proposal_id} not found")
        body = await _exact_object(request)
        updated = self._proposal_changes(proposal, body)
        if "items" in body:
            updated["items"] = self._items(proposal["items"], body["items"])
        updated["version"] = proposal["version"] + 1
        self.crm.proposals[proposal_id] = updated
        return _answer(proposal_totals(updated))

    def _proposal_changes(self, proposal: JSON, body: dict[str, Any]) -> JSON:
        updated = dict(proposal)
        known = {
            "lead_id",
            "deal_id",
            "deal_code",
            "title",
            "notes",
            "status",
            "discount_type",
            "discount_value",
            "valid_until",
            "approved_by",
            "approved_at",
            "archived_at",
            "rejected_at",
            "items",
        }
        if not any(key in body for key in known):
            raise ApiError(400, "nothing to change: send at least one field")
        if "lead_id" in body:
            lead = self.crm.leads.get(_uuid(body["lead_id"], "lead_id"))
            if lead is None:
                raise ApiError(404, f"lead {body['lead_id']} not found")
            updated["lead"] = {"id": lead["id"], "title": lead["title"]}
        deal = self._proposal_deal(body)
        if deal is not None:
            updated["deal"] = {"id": deal["id"], "title": deal["title"]}
        for name in ("title", "notes"):
            if name in body:
                updated[name] = _text(body[name], name)
        for name in ("status", "discount_type"):
            if name in body:
                updated[name] = _int(body[name], name)
        if "discount_value" in body:
            updated["discount_value"] = _amount(body["discount_value"], "discount_value")
        for name in ("valid_until", "approved_at", "archived_at", "rejected_at"):
            if name in body:
                updated[name] = _timestamp(body[name], name)
        if "approved_by" in body:
            updated["approved_by"] = self._user(body["approved_by"], "approved_by")
        return updated

    def _proposal_deal(self, body: dict[str, Any]) -> JSON | None:
        if "deal_id" in body:
            deal = self.crm.deals.get(_uuid(body["deal_id"], "deal_id"))
            if deal is None:
                raise ApiError(404, f"deal {body['deal_id']} not found")
            return deal
        if "deal_code" in body:
            code = _text(body["deal_code"], "deal_code")
            deal = next((d for d in self.crm.deals.values() if str(d["code"]) == code), None)
            if deal is None:
                raise ApiError(404, f"no deal has code {code}")
            return deal
        return None

    def _items(self, stored: list[JSON], changes: Any) -> list[JSON]:
        items = {item["id"]: dict(item) for item in stored}
        for index, change in enumerate(_list(changes, "items", lambda v, n: v)):
            where = f"items[{index}]"
            if not isinstance(change, dict):
                raise ApiError(400, f"{where} must be an object")
            fields = _item_fields(change, where)
            item_id = change.get("id")
            if item_id is None:
                if change.get("delete"):
                    raise ApiError(400, f"{where}: delete needs the item's id")
                new_id = self.crm.new_id()
                items[new_id] = {"id": new_id, **fields}
                continue
            if item_id not in items:
                raise ApiError(404, f"{where}: proposal item {item_id} not found")
            if _bool(change.get("delete", False), f"{where}.delete"):
                del items[item_id]
            else:
                items[item_id].update(fields)
        return list(items.values())


def _item_fields(change: dict[str, Any], where: str) -> JSON:
    fields: JSON = {}
    if change.get("product_id") is not None:
        fields["product_id"] = _uuid(change["product_id"], f"{where}.product_id")
    for name in _ITEM_TEXT:
        if change.get(name) is not None:
            fields[name] = _text(change[name], f"{where}.{name}")
    for name in (*_ITEM_INTS, "billing_cycles"):
        if change.get(name) is not None:
            fields[name] = _int(change[name], f"{where}.{name}")
    for name in _ITEM_AMOUNTS:
        if change.get(name) is not None:
            fields[name] = _amount(change[name], f"{where}.{name}")
    for name in _ITEM_TIMES:
        if change.get(name) is not None:
            fields[name] = _timestamp(change[name], f"{where}.{name}")
    if change.get("is_recurring_default") is not None:
        fields["is_recurring_default"] = _bool(
            change["is_recurring_default"], f"{where}.is_recurring_default"
        )
    return fields
