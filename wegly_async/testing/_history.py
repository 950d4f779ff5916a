"""Generate deterministic, realistic chat histories in the Wegly wire format."""

from __future__ import annotations

import base64
import bisect
import functools
import itertools
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final, TypeVar

JSON = dict[str, Any]
_T = TypeVar("_T")

# The newest generated event lands near this instant (2025-01-01T00:00:00Z), so a
# generated history always precedes anything sent "now" and stays deterministic.
_HISTORY_END_MS: Final = 1_735_689_600_000
_QUOTABLE: Final = 40
_HISTORY_SHARE: Final = 0.1
_REDUCED_SHARE: Final = 0.2
_DROP_NULLS_SHARE: Final = 0.3

_CONTACTS: Final = (
    "João Silva",
    "Maria Conceição",
    "Ana Paula Ribeiro",
    "José Antônio Pereira",
    "Luíza Gonçalves",
    "Francisco Araújo",
    "Márcia Oliveira",
    "Thiago Müller",
)
_AGENTS: Final = ("Camila Rocha", "Rafael Nogueira", "Beatriz Lima", "Lucas Fernandes")
_AREA_CODES: Final = ("11", "21", "31", "41", "48", "51", "61", "71", "81", "85")
_INBOUND: Final = (
    "Olá! Tudo bem? 😊",
    "Oi, boa tarde!",
    "Bom dia! Vi o anúncio de vocês no Instagram.",
    "Pode me enviar o orçamento?",
    "Qual é o valor da mensalidade?",
    "Vocês atendem em São Paulo?",
    "Obrigado, {agent}!",
    "Perfeito, muito obrigada! 🙏",
    "Ainda não recebi o boleto.",
    "Consegue me ligar amanhã às 10h?",
    "Vou conversar com meu sócio e te retorno.",
    "Tem desconto para pagamento à vista?",
    "Qual o prazo de entrega?",
    "Não consegui acessar o link 😕",
    "Pode ser pelo Pix?",
    "Ok 👍",
    "Show de bola!",
    "Segue o comprovante.",
    "Preciso remarcar a reunião de quinta-feira.",
    "Vocês emitem nota fiscal?",
    "Achei um pouco caro… tem algum plano mais básico?",
    "Fechado! Como fazemos o contrato?",
    "Oi {agent}, tudo ótimo e você?",
    "Boa noite, ainda estão atendendo?",
    "kkkkk verdade",
    "Só um minuto, por favor.",
    "Recebi sim, obrigado!",
    "Quero saber mais sobre o plano Pro 🚀",
    "Pedido nº {number}, pode verificar?",
    "Ótimo atendimento, parabéns à equipe! 👏",
)
_OUTBOUND: Final = (
    "Olá, {contact}! Tudo bem? Aqui é {agent}, da Wegly. 😊",
    "Claro! Vou preparar o orçamento e já te envio.",
    "Segue a proposta, qualquer dúvida é só chamar.",
    "O pagamento à vista tem 10% de desconto.",
    "Atendemos em todo o Brasil, sim!",
    "Consigo te ligar amanhã às 10h, pode ser?",
    "Obrigado pelo retorno, {contact}!",
    "Qualquer dúvida, estou à disposição. 🙌",
    "Acabei de reenviar o boleto para o seu e-mail.",
    "Pode pagar pelo Pix, a chave é o nosso CNPJ.",
    "O prazo de entrega é de 5 a 7 dias úteis.",
    "Emitimos nota fiscal, sim.",
    "Conseguiu dar uma olhada na proposta?",
    "Perfeito! Vou gerar o contrato agora.",
    "Reunião remarcada para sexta-feira às 14h ✅",
    "Bom dia, {contact}! Passando para saber se ficou alguma dúvida.",
    "Vou verificar com o financeiro e já te retorno.",
    "Seu pedido nº {number} já foi despachado 🚚",
)
_CAPTIONS: Final = ("Foto do produto", "Comprovante de pagamento", "Olha como ficou! 😍", "")
_EMOJIS: Final = ("👍", "❤️", "😂", "🙏", "😮", "😢", "🎉", "✅")
_TEMPLATES: Final = (
    "saudacao_inicial",
    "lembrete_pagamento",
    "confirmacao_agendamento",
    "pesquisa_satisfacao",
)
# (type, mime type, file name pattern, caption allowed)
_MEDIA: Final = (
    ("image", "image/jpeg", "IMG-2024{number}-WA0012.jpg", True),
    ("image", "image/png", "print_tela_{number}.png", True),
    ("audio", "audio/ogg; codecs=opus", "PTT-2024{number}-WA0003.opus", False),
    ("document", "application/pdf", "Proposta Comercial nº {number}.pdf", True),
    ("document", "application/vnd.ms-excel", "planilha_preços_{number}.xls", False),
    ("video", "video/mp4", "VID-2024{number}-WA0001.mp4", True),
)
# An undocumented message type, so clients prove that ``type`` is an open enum.
_STICKER: Final = ("sticker", "image/webp", "sticker_{number}.webp", False)
# (weight, kind) of the generated events; the total is 100.
_KINDS: Final = (
    (40, "inbound"),
    (29, "outbound"),
    (9, "reply"),
    (12, "media"),
    (4, "template"),
    (5, "call"),
    (1, "sticker"),
)
_LIVE_FLAGS: Final[JSON] = {
    "is_history": False,
    "history_phase": None,
    "history_chunk_order": None,
    "history_progress": None,
}
_STATUSES: Final = ((60, "read"), (25, "delivered"), (15, "sent"))


_VARIANT: Final = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_uuid(rng: random.Random) -> str:
    """Draw a version-4 UUID string from ``rng``."""
    hexed = rng.randbytes(16).hex()
    # Force the version nibble and the RFC 4122 variant bits like uuid.uuid4() does.
    variant = _VARIANT[hexed[16]]
    return f"{hexed[:8]}-{hexed[8:12]}-4{hexed[13:16]}-{variant}{hexed[17:20]}-{hexed[20:]}"


def new_wamid(rng: random.Random) -> str:
    """Draw a WhatsApp-looking message id (``wamid.`` plus base64) from ``rng``."""
    return "wamid." + base64.b64encode(b"\x15\x02" + rng.randbytes(25)).decode("ascii")


def format_timestamp(micros: int) -> str:
    """Format epoch microseconds as ``2023-11-07T05:31:56Z``, with a fraction only if needed."""
    seconds, fraction = divmod(micros, 1_000_000)
    text = _format_seconds(seconds)
    if fraction == 0:
        return text + "Z"
    if fraction % 1000 == 0:
        return f"{text}.{fraction // 1000:03d}Z"
    return f"{text}.{fraction:06d}Z"


def format_offset_timestamp(micros: int) -> str:
    """Format epoch microseconds as ``2023-11-07T05:31:56.000000+00:00`` (the reduced shape)."""
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{_format_seconds(seconds)}.{fraction:06d}+00:00"


# Histories format hundreds of thousands of stamps: strftime once per day plus table
# lookups for the time of day keep create_chat(events=200_000) fast.
_HOURS_MINUTES: Final = tuple(f"{m // 60:02d}:{m % 60:02d}:" for m in range(24 * 60))
_SECONDS: Final = tuple(f"{second:02d}" for second in range(60))


@functools.lru_cache(maxsize=4096)
def _day_prefix(day: int) -> str:
    return time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))


def _format_seconds(seconds: int) -> str:
    day, rest = divmod(seconds, 86_400)
    minute, second = divmod(rest, 60)
    return _day_prefix(day) + _HOURS_MINUTES[minute] + _SECONDS[second]


def generate_history(rng: random.Random, count: int) -> Iterator[tuple[int, JSON]]:
    """Yield ``count`` timeline events as ``(event_at in epoch microseconds, event)``, ascending."""
    writer = _HistoryWriter(rng, count)
    return writer.events()


def _choice(rng: random.Random, items: Sequence[_T]) -> _T:
    # random.choice and randint are pure Python and dominate a 200,000-event history; one
    # random() per draw is several times cheaper and just as deterministic.
    return items[int(rng.random() * len(items))]


def _between(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _pick(rng: random.Random, weighted: tuple[tuple[int, str], ...]) -> str:
    """Pick a value by weight; cheaper than ``rng.choices`` for one draw."""
    bounds = _cumulative(weighted)
    return weighted[bisect.bisect(bounds, rng.random() * bounds[-1])][1]


@functools.cache
def _cumulative(weighted: tuple[tuple[int, str], ...]) -> list[int]:
    return list(itertools.accumulate(weight for weight, _ in weighted))


def _draw_gaps(rng: random.Random, count: int) -> list[int]:
    """Draw the milliseconds between consecutive events: bursts of chat, then quiet hours."""
    gaps = []
    burst = 0
    for _ in range(count):
        if burst <= 0:
            burst = _between(rng, 2, 25)
            gaps.append(_between(rng, 10 * 60_000, 8 * 3_600_000))
        else:
            gaps.append(_between(rng, 2_000, 240_000))
        burst -= 1
    return gaps


class _HistoryWriter:
    """Hold the state of one generated conversation: people, clock and quotable messages."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.count = count
        self.history_count = int(count * _HISTORY_SHARE)
        self.contact_name = _choice(rng, _CONTACTS)
        self.contact_wa_id = f"55{_choice(rng, _AREA_CODES)}9{_between(rng, 0, 10**8 - 1):08d}"
        self.agents = [self._agent(name) for name in rng.sample(_AGENTS, _between(rng, 1, 3))]
        self.recent: deque[JSON] = deque(maxlen=_QUOTABLE)
        self.index = 0
        self.now_ms = 0
        self.stamp = ""
        self.builders: dict[str, Callable[[], JSON]] = {
            "inbound": self._inbound,
            "outbound": self._outbound,
            "reply": self._reply,
            "media": self._media,
            "template": self._template,
            "call": self._call,
            "sticker": self._sticker,
        }

    def _agent(self, name: str) -> JSON:
        avatar = f"https://cdn.wegly.test/avatars/{new_uuid(self.rng)}.png"
        user = {"id": new_uuid(self.rng), "name": name, "avatar": avatar}
        return {"id": new_uuid(self.rng), "user": user}

    def events(self) -> Iterator[tuple[int, JSON]]:
        """Yield the conversation's events in chronological order."""
        rng = self.rng
        gaps = _draw_gaps(rng, self.count)
        clock = _HISTORY_END_MS - sum(gaps)
        for index, gap in enumerate(gaps):
            self.index = index
            clock += gap
            if rng.random() < 0.75:
                # Most wire timestamps are whole seconds; the rest keep milliseconds.
                clock = -(-clock // 1000) * 1000
            self.now_ms = clock
            self.stamp = format_timestamp(clock * 1000)
            kind = "inbound" if index == 0 else _pick(rng, _KINDS)
            event = self._event(kind)
            yield clock * 1000, event
            # A call occupies the line, so the next event starts after it ends.
            call = (event["message"] or {}).get("call")
            if call is not None:
                clock += call["duration_ms"]

    def _event(self, kind: str) -> JSON:
        message = self.builders[kind]()
        if kind != "call":
            self.recent.append(message)
        event_type = "CALL" if kind == "call" else "MESSAGE"
        if kind != "call" and message["type"] == "text" and self.rng.random() < _REDUCED_SHARE:
            message = _reduce(message, self.now_ms * 1000)
        elif self.rng.random() < _DROP_NULLS_SHARE:
            message = {key: value for key, value in message.items() if value is not None}
        return {
            "id": new_uuid(self.rng),
            "event_type": event_type,
            "event_at": self.stamp,
            "message": message,
        }

    def _fill(self, text: str) -> str:
        if "{" not in text:
            return text
        agent = self.agents[0]["user"]["name"].split()[0]
        contact = self.contact_name.split()[0]
        number = _between(self.rng, 1000, 99999)
        return text.format(agent=agent, contact=contact, number=number)

    def _base(self, kind: str, *, outbound: bool, body: str | None) -> JSON:
        """Build a full-shape message sent at the current clock."""
        rng = self.rng
        stamp = self.stamp
        in_history = self.index < self.history_count
        agent = _choice(rng, self.agents) if outbound and rng.random() < 0.9 else None
        if outbound:
            sent_via = "AGENT" if agent is not None else "API"
            status = _pick(rng, _STATUSES)
        else:
            sent_via, status = "CONTACT", ("read" if rng.random() < 0.9 else "delivered")
        message: JSON = {
            "id": new_uuid(rng),
            "type": kind,
            "origin": "OUTBOUND" if outbound else "INBOUND",
            "from_me": outbound,
            "sent_via": sent_via,
            "status": status,
            "body_text": body,
            "content_payload": {"wamid": new_wamid(rng)},
            "reactions": self._reactions(),
            "meta_timestamp": stamp,
            "created_at": stamp if rng.random() < 0.8 else self._later(1_000, 3_000),
            **self._history_flags(in_history),
            "is_media_placeholder": False,
            "agent": agent,
            "user": agent["user"] if agent is not None else None,
            "media": None,
            "call": None,
            "quoted_message": None,
            "crm_marketing_lead_source": self._lead_source(),
        }
        if rng.random() < 0.03:
            # Undocumented fields appear now and then; clients must ignore them.
            message["edited"] = False
        return message

    def _later(self, low_ms: int, high_ms: int) -> str:
        return format_timestamp((self.now_ms + _between(self.rng, low_ms, high_ms)) * 1000)

    def _history_flags(self, in_history: bool) -> JSON:
        if not in_history:
            return _LIVE_FLAGS
        return {
            "is_history": True,
            "history_phase": 1 if self.index < self.history_count // 2 else 2,
            "history_chunk_order": self.index // 50 + 1,
            "history_progress": (self.index + 1) * 100 // self.history_count,
        }

    def _lead_source(self) -> list[JSON]:
        if self.index != 0:
            return []
        return [{"source": "meta_ads", "campaign": "Black Friday 2024", "ad_id": "120210004"}]

    def _reactions(self) -> list[JSON]:
        rng = self.rng
        if rng.random() >= 0.1:
            return []
        reactions = []
        for _ in range(_choice(rng, (1, 1, 1, 2))):
            by_contact = rng.random() < 0.6
            agent = _choice(rng, self.agents)
            reactions.append(
                {
                    "id": new_uuid(rng),
                    "emoji": _choice(rng, _EMOJIS),
                    "actor": "CONTACT" if by_contact else "AGENT",
                    "reactor_wa_id": self.contact_wa_id if by_contact else None,
                    "reactor_user_id": None if by_contact else agent["user"]["id"],
                    "created_at": self._later(5_000, 600_000),
                }
            )
        return reactions

    def _inbound(self) -> JSON:
        return self._base("text", outbound=False, body=self._fill(_choice(self.rng, _INBOUND)))

    def _outbound(self) -> JSON:
        return self._base("text", outbound=True, body=self._fill(_choice(self.rng, _OUTBOUND)))

    def _reply(self) -> JSON:
        outbound = self.rng.random() < 0.5
        message = self._outbound() if outbound else self._inbound()
        if self.recent:
            message["quoted_message"] = self._quote(_choice(self.rng, self.recent))
            target = message["quoted_message"]["content_payload"]["wamid"]
            message["content_payload"]["context"] = {"message_id": target}
        return message

    def _quote(self, original: JSON) -> JSON:
        quoted = {key: value for key, value in original.items() if key != "quoted_message"}
        if self.rng.random() < 0.5:
            quoted["page"] = 2
        return quoted

    def _template(self) -> JSON:
        name = _choice(self.rng, _TEMPLATES)
        message = self._base("template", outbound=True, body=f"[template {name}/pt_BR]")
        message["sent_via"] = _choice(self.rng, ("AGENT", "CAMPAIGN"))
        message["content_payload"]["template"] = {"name": name, "language": "pt_BR"}
        return message

    def _sticker(self) -> JSON:
        return self._media(_STICKER)

    def _media(self, spec: tuple[str, str, str, bool] | None = None) -> JSON:
        rng = self.rng
        kind, mime, pattern, captioned = spec or _choice(rng, _MEDIA)
        caption = _choice(rng, _CAPTIONS) if captioned and rng.random() < 0.5 else None
        message = self._base(kind, outbound=rng.random() < 0.4, body=caption or None)
        placeholder = self.index < self.history_count and rng.random() < 0.3
        media_id = new_uuid(rng)
        message["is_media_placeholder"] = placeholder
        message["media"] = {
            "id": media_id,
            "mime_type": mime,
            "file_name": self._fill(pattern),
            "is_downloaded": not placeholder,
            "url": None if placeholder else f"https://cdn.wegly.test/media/{media_id}",
        }
        return message

    def _call(self) -> JSON:
        rng = self.rng
        outbound = rng.random() < 0.5
        message = self._base("call", outbound=outbound, body=None)
        message["reactions"] = []
        completed = rng.random() < 0.7
        duration = _between(rng, 15_000, 20 * 60_000) if completed else 0
        recorded = completed and rng.random() < 0.5
        message["call"] = {
            "id": new_uuid(rng),
            "status": "COMPLETED" if completed else "MISSED",
            "direction": "OUTBOUND" if outbound else "INBOUND",
            "started_at": message["meta_timestamp"],
            "ended_at": format_timestamp((self.now_ms + duration) * 1000),
            "duration_ms": duration,
            "recording_processed": recorded,
            "recording_available": recorded,
            "has_recording": recorded,
        }
        return message


# The documented reduced message shape: no type/origin/status, a plain-string timestamp,
# and reactions without ``actor``.
_REDUCED_KEYS: Final = (
    "id",
    "from_me",
    "body_text",
    "content_payload",
    "reactions",
    "meta_timestamp",
    "is_history",
    "history_phase",
    "history_chunk_order",
    "history_progress",
    "is_media_placeholder",
    "agent",
    "user",
    "crm_marketing_lead_source",
)


def _reduce(message: JSON, micros: int) -> JSON:
    reduced = {key: message[key] for key in _REDUCED_KEYS}
    reduced["reactions"] = [
        {key: value for key, value in reaction.items() if key != "actor"}
        for reaction in message["reactions"]
    ]
    reduced["meta_timestamp"] = format_offset_timestamp(micros)
    return reduced
