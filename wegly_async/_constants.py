"""Named defaults, each in one place so it is easy to change when the real API is known."""

from __future__ import annotations

from typing import Final

DEFAULT_BASE_URL = "https://api.wegly.com.br"
API_PREFIX = "/integrations/external"

ENV_TOKEN = "WEGLY_TOKEN"  # noqa: S105 (a variable name, not a secret)
ENV_BASE_URL = "WEGLY_BASE_URL"
ENV_ORIGIN = "WEGLY_ORIGIN"
ENV_WEBHOOK_SECRET = "WEGLY_WEBHOOK_SECRET"  # noqa: S105 (a variable name, not a secret)

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
# A Retry-After longer than this is not slept on: the error is raised with ``retry_after`` set.
DEFAULT_MAX_RETRY_AFTER = 60.0
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0

# Pacing (_rate.py). A 429 without Retry-After pauses the client this long.
PACE_DEFAULT_PAUSE = 1.0
# On a 429 the pace drops to this fraction (and to at most what the server accepted in the
# last PACE_ACCEPT_WINDOW seconds, when at least PACE_MIN_SAMPLES answers say so: fewer
# tell too little, and a quieter client is only paused); each
# success adds PACE_INCREASE requests/s, so at r requests/s it climbs by r * PACE_INCREASE
# per second (2%/s): slow enough that a bucket one second deep drains for many seconds
# before the next 429.
PACE_DECREASE = 0.9
PACE_INCREASE = 0.02
PACE_ACCEPT_WINDOW = 2.0
PACE_MIN_SAMPLES = 5
PACE_MIN_PER_SECOND = 0.5

# The largest success body read (after decompression): a page of 100 events is ~100 KiB,
# so this leaves room for huge pages while a hostile answer cannot exhaust memory.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# Smaller caps would refuse ordinary pages; below this a setting is surely a mistake.
MIN_MAX_RESPONSE_BYTES = 1024
# The start of an error body kept for its message; the rest is never read.
ERROR_BODY_BYTES = 64 * 1024

# API.md: the largest ``take`` is unknown; 100 keeps pages fast to decode and cheap to retry.
DEFAULT_PAGE_SIZE = 100
# Page requests kept in flight ahead of the reader, from the second page on. Measured
# (benchmarks/RESULTS.md): 4 reads ~3.5x faster than 1 at 20 ms of latency and ~1.3x at
# 0 ms, for at most 4 pages of memory and 4 unneeded requests when a loop stops early.
DEFAULT_PREFETCH = 4

# Event ids a pager remembers to drop repeats: repeats come from events inserted ahead of
# the cursor between two page requests, so this many such inserts are covered, in memory
# that stays flat however long the timeline (about 1 MiB).
DEDUPE_WINDOW = 10_000

# Ids a TimelineCursor keeps besides its anchor, so a resumed iteration still joins when
# the anchor event itself was deleted meanwhile.
CURSOR_IDS = 100
# Pages in a row that join but add no new event before the pager calls the answers
# invalid (a server that ignores ``skip`` would otherwise be asked forever).
MAX_STALLED_PAGES = 3
# Pages in a row that do not join the events already yielded, each asked again (wider,
# or with a newer total), before the pager raises TimelineChangedError.
MAX_UNJOINED_PAGES = 3
# Speculative requests in flight at first; the width doubles once four answers brought
# records, so a total that is too high costs at most one request past the end.
SPECULATION_START_WIDTH = 2
# When a server caps pages at varying sizes, speculative requests go this many pages
# apart and the stretch between is chained from the answers: 1.1x the requests of
# sequential paging instead of 1.4x for a request every page (measured in tests).
REGION_PAGES = 4

# WhatsApp's limits on interactive messages, which Wegly passes through (API.md 4.4).
MAX_INTERACTIVE_BODY = 1024
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MAX_CHOICE_ID = 256  # a reply button's or a list row's id
MAX_LIST_SECTIONS = 10
MAX_LIST_ROWS = 10  # over all sections
MAX_LIST_BUTTON = 20
MAX_SECTION_TITLE = 24
MAX_ROW_TITLE = 24
MAX_ROW_DESCRIPTION = 72

# The CRM routes (API.md 4.9-4.13): a lead's or deal's title, a follower's notes, the
# quality rating and the visibility (0 = the creator only, 1 = the whole team).
MAX_RECORD_TITLE = 150
MAX_FOLLOWER_NOTES = 1000
MIN_QUALITY_RATING = 1
MAX_QUALITY_RATING = 5
VISIBILITY_VALUES = (0, 1)

# ``export_timelines`` and ``wegly-async export``: the file formats, and the budget of
# requests in flight over all the chats of one export (the pager's prefetch included).
EXPORT_FORMATS = ("jsonl", "csv", "parquet")
DEFAULT_EXPORT_FORMAT: Final = "jsonl"
DEFAULT_EXPORT_CONCURRENCY = 4
# A Parquet export writes a part file once it holds this many events (whole pages, so up
# to a page more), and one at the end: what a killed run refetches is at most a part, and
# what the export holds in memory is about a part (some 10-20 MB of events here).
DEFAULT_PARQUET_PART_ROWS = 10_000
PARQUET_COMPRESSION: Final = "zstd"
# A part up to this many rows is one row group (pyarrow's own default is 1 Mi rows).
PARQUET_ROW_GROUP_ROWS = 128 * 1024
# What a CSV export does with a text cell a spreadsheet would run as a formula (one that
# starts with = + - @, a tab or a CR): prefix it with ' (the OWASP rule), or keep it as sent.
CSV_FORMULA_MODES = ("neutralize", "raw")
DEFAULT_CSV_FORMULAS: Final = "neutralize"

# The emulator answers on loopback only, at once unless a latency is asked for.
EMULATOR_HOST = "127.0.0.1"
EMULATOR_LATENCY = 0.0
# ``wegly-async emulator`` listens on a fixed port, so the WEGLY_BASE_URL it prints stays
# right from one run to the next (``WeglyEmulator`` itself takes any free port).
CLI_EMULATOR_PORT = 8080
# ``wegly-async webhook listen`` listens next to it by default.
CLI_WEBHOOK_PORT = 8081
# Chats, and events per chat, that ``wegly-async demo`` and ``emulator`` seed: enough for
# paging, prefetch and a progress bar to show, seeded in well under a second.
CLI_SEED_CHATS = 3
CLI_SEED_EVENTS = 2000
# Seconds between two plain progress lines (when stderr is not a terminal).
CLI_PROGRESS_EVERY = 2.0

# A shared rate budget (_rate_redis.py) lives in one Redis hash under this prefix; it expires
# this long after its last use (or its pause, if that ends later), so an abandoned one goes.
BUDGET_KEY_PREFIX = "wegly-async:rate:"
DEFAULT_BUDGET_TTL = 600.0
MAX_BUDGET_NAME = 200
# A fleet's requests reach the server with more jitter than one process's (processes are
# descheduled, machines sit behind different links), and a pace at exactly the server's
# bucket has no room for it: without ``RateLimit.burst`` a shared budget sends at most this
# many seconds' worth at once, leaving the rest of a bucket one second deep for the jitter.
BUDGET_BURST_SECONDS = 0.5
# ``SharedRateBudget.from_url``: a Redis that does not answer fails the request this soon.
BUDGET_REDIS_TIMEOUT = 5.0
