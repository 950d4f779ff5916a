"""``wegly-async lead create`` and ``deal get`` against this test's own emulator."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from test_cli import UUID, arun_cli, clean_env, run_cli

import wegly_async as wa
from wegly_async.cli._records import deal_lines
from wegly_async.cli._render import exact_json, json_line
from wegly_async.testing import WeglyEmulator

UNKNOWN_DEAL = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
OFFLINE = clean_env(WEGLY_BASE_URL="https://wegly.invalid")  # no token, nothing to reach
HOSTILE = "oi\x1b[2J\u202egnp.exe\nwegly-async: forged line\x85"
LEAD_PATH = "/integrations/external/leads"
FORM = (
    *("--title", "Formulário do site: Ana"),
    *("--phone", "+5511999990000"),
    *("--email", "ana@example.com"),
    *("--tag", "site", "--tag", "demonstração"),
    *("--note", "Quer uma demonstração, de manhã"),
)


@pytest.fixture
def emu(wegly_emulator: WeglyEmulator) -> WeglyEmulator:
    return wegly_emulator


@pytest.fixture
def env(emu: WeglyEmulator) -> dict[str, str]:
    return clean_env(WEGLY_BASE_URL=emu.base_url, WEGLY_TOKEN=emu.token)


def fields(out: str) -> dict[str, str]:
    """Read ``label  value`` lines (labels may hold one space, values start after two)."""
    rows = [line.split("  ", 1) for line in out.splitlines()]
    return {label: value.strip() for label, value in rows}


# --- lead create ----------------------------------------------------------------------------


async def test_lead_create_sends_the_form_as_the_library_does(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("lead", "create", *FORM, env=env)
    assert (code, err) == (0, "")
    [request] = emu.requests
    assert (request.method, request.path) == ("POST", LEAD_PATH)
    assert request.json == {
        "title": "Formulário do site: Ana",
        "phone": "+5511999990000",
        "email": "ana@example.com",
        "tags": ["site", "demonstração"],
        "note": {"content": "Quer uma demonstração, de manhã"},
    }
    match = re.fullmatch(rf"created lead ({UUID}) code 1: Formulário do site: Ana\n", out)
    assert match, out

    user, role = emu.users[0], emu.roles[0]
    assert user.id is not None and role.id is not None
    async with emu.client() as client:
        # The printed id is the lead's: following it works (an unknown lead is a 404).
        [follower] = await client.leads.add_follower(
            match.group(1), user_id=user.id, role_id=role.id
        )
        assert follower.user is not None and follower.user.id == user.id
        ref = await client.leads.create(
            "Formulário do site: Ana",
            phone="+5511999990000",
            email="ana@example.com",
            tags=["site", "demonstração"],
            note={"content": "Quer uma demonstração, de manhã"},
        )
    assert emu.requests[2].json == request.json
    assert ref.code == 2  # the command's lead was the emulator's first


async def test_lead_create_with_a_title_alone_sends_the_title_alone(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("lead", "create", "--title", "Landing page: Bruno", env=env)
    assert (code, err) == (0, "")
    assert out.endswith(" code 1: Landing page: Bruno\n")
    assert [request.json for request in emu.requests] == [{"title": "Landing page: Bruno"}]


async def test_lead_create_json_is_the_servers_answer(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("lead", "create", *FORM, "--json", env=env)
    assert (code, err) == (0, "")
    [line] = out.splitlines()
    answer = json.loads(line)
    assert list(answer) == ["id", "code", "title"]
    assert re.fullmatch(UUID, answer["id"])
    assert (answer["code"], answer["title"]) == (1, "Formulário do site: Ana")


async def test_lead_create_escapes_the_title_the_server_echoes(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("lead", "create", "--title", HOSTILE, env=env)
    assert (code, err) == (0, "")
    [line] = out.splitlines()
    assert line.endswith(r": oi\x1b[2J\u202egnp.exe\nwegly-async: forged line\x85")
    assert emu.requests[0].json == {"title": HOSTILE}

    code, out, err = await arun_cli("lead", "create", "--title", HOSTILE, "--json", env=env)
    assert (code, err) == (0, "")
    [line] = out.splitlines()
    assert not any(char in line for char in "\x1b\u202e\x85")
    assert json.loads(line)["title"] == HOSTILE


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--title", ""), "title must not be empty"),
        (("--title", "   "), "title must not be empty"),
        (("--title", "x" * 151), "title must be at most 150 characters, got 151"),
        (("--title", "T", "--phone", " "), "phone must not be empty"),
        (("--title", "T", "--email", ""), "email must not be empty"),
        (("--title", "T", "--tag", "site", "--tag", ""), "tags[1] must not be empty"),
        (("--title", "T", "--note", ""), "note['content'] must not be empty"),
    ],
)
async def test_bad_input_is_a_usage_error_before_any_request(
    emu: WeglyEmulator, env: dict[str, str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = await arun_cli("lead", "create", *args, env=env)
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"wegly-async lead: error: {message}"]
    assert emu.requests == []


def test_bad_input_is_refused_before_the_token_is_looked_for() -> None:
    result = run_cli("lead", "create", "--title", "x" * 151, env=OFFLINE)
    assert (result.returncode, result.stdout) == (2, "")
    assert "title must be at most 150 characters" in result.stderr
    assert "no token" not in result.stderr


def test_lead_create_needs_a_title() -> None:
    result = run_cli("lead", "create", "--phone", "+5511999990000", env=OFFLINE)
    assert (result.returncode, result.stdout) == (2, "")
    assert "the following arguments are required: --title" in result.stderr


def test_lead_create_names_a_mistyped_flag() -> None:
    result = run_cli("lead", "create", "--titel", "Ana", env=OFFLINE)
    assert result.returncode == 2
    assert "unrecognized option --titel: did you mean --title?" in result.stderr


def test_lead_create_without_a_token_is_a_usage_error() -> None:
    result = run_cli("lead", "create", "--title", "Ana", env=OFFLINE)
    assert (result.returncode, result.stdout) == (2, "")
    assert "no token: set the WEGLY_TOKEN environment variable" in result.stderr


async def test_lead_create_refused_exits_1_with_one_line(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    emu.inject(422, body={"message": "stage archived\x1b[2J"})
    code, out, err = await arun_cli("lead", "create", "--title", "Ana", env=env)
    assert (code, out) == (1, "")
    [line] = err.splitlines()
    assert line.startswith(f"lead create: UnprocessableEntityError: 422 POST {emu.base_url}")
    assert line.endswith(r"stage archived\x1b[2J")


async def test_lead_create_with_a_wrong_token_never_prints_it(emu: WeglyEmulator) -> None:
    wrong = "wrong-token-Q7z2"
    env = clean_env(WEGLY_BASE_URL=emu.base_url, WEGLY_TOKEN=wrong)
    code, out, err = await arun_cli("lead", "create", "--title", "Ana", "--json", env=env)
    assert (code, out) == (1, "")
    [line] = err.splitlines()
    assert line.startswith("lead create: AuthenticationError: 401 POST ")
    assert wrong not in err


# --- deal get -------------------------------------------------------------------------------


async def create_deal(emu: WeglyEmulator, title: str = "Implantação CRM") -> str:
    """Create a deal with a value, a source, a campaign and a participant; return its id."""
    user, role = emu.users[1], emu.roles[0]
    assert user.id is not None and role.id is not None
    async with emu.client() as client:
        ref = await client.deals.create(
            title,
            value=Decimal("75000.50"),
            quality_rating=4,
            quality_reason="Orçamento aprovado",
            visibility=0,
            temperature=3,
            lead_source={"name": "Google Ads"},
            marketing={"url_conversion": "https://loja.example/?utm_campaign=inverno"},
            followers=[{"user_id": user.id, "role_id": role.id}],
        )
    return ref.id


async def server_deal(emu: WeglyEmulator, deal_id: str) -> Any:
    """The deal as the emulator answers GET /deals/{id}, every number read exactly."""
    async with emu.client() as client:
        raw = await client.deals.with_raw_response.get(deal_id)
    return json.loads(raw.content, parse_float=Decimal)


async def test_deal_get_prints_its_fields_one_per_line(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    deal_id = await create_deal(emu)
    count = len(emu.requests)
    code, out, err = await arun_cli("deal", "get", deal_id, env=env)
    assert (code, err) == (0, "")
    [request] = emu.requests[count:]
    assert (request.method, request.path) == ("GET", f"/integrations/external/deals/{deal_id}")
    expected = await server_deal(emu, deal_id)
    shown = fields(out)
    assert list(shown) == [
        "id",
        "code",
        "title",
        "status",
        "value",
        "stage",
        "pipeline",
        "responsible",
        "created by",
        "participants",
        "source",
        "campaign",
        "conversion url",
        "quality rating",
        "quality reason",
        "visibility",
        "temperature",
        "expected close",
        "won at",
        "lost at",
        "loss reason",
        "loss description",
        "last activity at",
        "created at",
        "updated at",
        "archived at",
    ]
    assert (shown["id"], shown["code"], shown["title"]) == (deal_id, "1", "Implantação CRM")
    assert (shown["status"], shown["value"]) == (str(expected["status"]), "75000.50")
    stages = expected["pipeline_stages"]
    assert shown["stage"] == f"{stages[0]['name']} (1 of {len(stages)})"
    assert shown["pipeline"] == expected["stage"]["pipeline"]["name"]
    assert shown["responsible"] == expected["responsible"]["name"]
    assert shown["created by"] == expected["created_by"]["name"]
    assert shown["participants"] == f"{emu.users[1].name} ({emu.roles[0].name})"
    assert (shown["source"], shown["campaign"]) == ("Google Ads", "inverno")
    assert shown["conversion url"] == "https://loja.example/?utm_campaign=inverno"
    assert (shown["quality rating"], shown["quality reason"]) == ("4", "Orçamento aprovado")
    assert (shown["visibility"], shown["temperature"]) == ("0 (the creator only)", "3")
    assert shown["created at"] == expected["created_at"][:19] + "Z"
    for label in ("expected close", "won at", "lost at", "loss reason", "archived at"):
        assert shown[label] == "-", label


async def test_deal_get_json_is_the_servers_object_digit_for_digit(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    deal_id = await create_deal(emu)
    code, out, err = await arun_cli("deal", "get", deal_id, "--json", env=env)
    assert (code, err) == (0, "")
    [line] = out.splitlines()
    assert '"value":75000.50,' in line  # not 75000.5: the amount as the server wrote it
    assert json.loads(line, parse_float=Decimal) == await server_deal(emu, deal_id)


@pytest.mark.parametrize(
    "body",
    [
        b'{"value":75000.50,"code":3,"title":"Implanta\xc3\xa7\xc3\xa3o","won":null,"ok":true}',
        b"[0.10,-0.0,1E+5,2.5E-7]",
        b'{"id":123456789012345678901234567890}',  # past 64 bits, more than orjson writes
    ],
)
def test_json_line_writes_numbers_read_exactly_as_they_were_sent(body: bytes) -> None:
    assert json_line(exact_json(body)) == body.decode()


async def test_deal_get_escapes_what_the_server_sends(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    deal_id = await create_deal(emu, title=HOSTILE)
    code, out, err = await arun_cli("deal", "get", deal_id, env=env)
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 26  # the newline in the title forged none
    assert fields(out)["title"] == r"oi\x1b[2J\u202egnp.exe\nwegly-async: forged line\x85"
    assert not any(char in out for char in "\x1b\u202e\x85")

    code, out, err = await arun_cli("deal", "get", deal_id, "--json", env=env)
    assert (code, err) == (0, "")
    [line] = out.splitlines()
    assert not any(char in line for char in "\x1b\u202e\x85")
    assert json.loads(line)["title"] == HOSTILE


async def test_deal_get_unknown_exits_1_with_one_line(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("deal", "get", UNKNOWN_DEAL, env=env)
    assert (code, out) == (1, "")
    url = f"{emu.base_url}/integrations/external/deals/{UNKNOWN_DEAL}"
    assert err.splitlines() == [
        f"deal {UNKNOWN_DEAL}: NotFoundError: 404 GET {url}: deal {UNKNOWN_DEAL} not found"
    ]


async def test_deal_id_that_is_not_a_uuid_is_a_usage_error(
    emu: WeglyEmulator, env: dict[str, str]
) -> None:
    code, out, err = await arun_cli("deal", "get", "DEAL-7", env=env)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "wegly-async deal: error: DEAL_ID must be a UUID like "
        "'3c90c3cc-0d44-4b50-8888-8dd25736052a', got 'DEAL-7'"
    ]
    assert emu.requests == []


async def test_deal_get_with_a_wrong_token_never_prints_it(emu: WeglyEmulator) -> None:
    deal_id = await create_deal(emu)
    wrong = "wrong-token-Q7z2"
    env = clean_env(WEGLY_BASE_URL=emu.base_url, WEGLY_TOKEN=wrong)
    code, out, err = await arun_cli("deal", "get", deal_id, env=env)
    assert (code, out) == (1, "")
    [line] = err.splitlines()
    assert line.startswith(f"deal {deal_id}: AuthenticationError: 401 GET ")
    assert wrong not in err


@pytest.mark.parametrize("command", [("lead",), ("deal",)])
def test_a_group_without_its_action_is_a_usage_error(command: tuple[str, ...]) -> None:
    result = run_cli(*command, env=OFFLINE)
    assert (result.returncode, result.stdout) == (2, "")
    assert "the following arguments are required: ACTION" in result.stderr


def test_the_commands_are_listed_in_the_main_help() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert re.search(r"^\s+lead\s+create a lead", result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^\s+deal\s+print a deal's fields", result.stdout, re.MULTILINE)


def test_a_deal_with_nothing_but_an_id_shows_dashes() -> None:
    lines = deal_lines(wa.Deal(id=UNKNOWN_DEAL))
    shown = fields("\n".join(lines))
    assert shown["id"] == UNKNOWN_DEAL
    assert {value for label, value in shown.items() if label != "id"} == {"-"}
