"""Run every ``python`` block of README.md and docs/**/*.md, so no example can rot.

The convention, for whoever writes a page (docs/contributing-docs.md says it to writers):

- A page's blocks run in order in one namespace, like one ``python -m asyncio`` session:
  top-level ``await``, ``async for`` and ``async with`` work, and a block may use the names an
  earlier block of the same page defined.
- A block that calls ``asyncio.run(`` is a whole program: it runs alone, in a fresh namespace
  with ``__name__ == "__main__"`` and no event loop running, as ``python file.py`` would; what
  it prints is then ``program_output`` in the page's session, for an invisible check.
- ``<!-- invisible-code-block: python`` ... ``-->`` is code the reader does not see that runs
  in the page's session like a block: the setup a fragment assumes (a chat id, a file), or a
  check that a block did what the text says.
- A page whose blocks read ``os.environ["QUEUE_URL"]`` (a job queue's or a fleet budget's
  Redis) finds there the URL of the test run's own redis-server on loopback, no key in it.
- ``<!-- compile-only: REASON -->`` on the line before a block (a draft's; the tests admit none
  on a landed page): the block is compiled, not run.

Each page runs in a fresh temporary directory, with no ``WEGLY_*`` variable set, and each
block within 60 seconds. What a page leaves open is closed after its last block (every
``WeglyClient``, ``WeglyEmulator`` and ``WebhookRouter`` it made, even one a later block
rebound), and an unclosed session fails the run (``filterwarnings = error``); what it did to
the logging levels and handlers is undone, so no other test sees it.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

import wegly_async as wa
from wegly_async.testing import WeglyEmulator
from wegly_async.webhooks import WebhookRouter

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK_TIMEOUT = 60.0
PYTHON_INFO = {"python", "py", "python3"}
QUEUE_URL = "QUEUE_URL"
ENV_VARS = ("WEGLY_TOKEN", "WEGLY_BASE_URL", "WEGLY_ORIGIN", "WEGLY_WEBHOOK_SECRET", "WEGLY_LOG")

_FENCE_RE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_COMPILE_ONLY_RE = re.compile(r"^\s*<!--\s*compile-only:\s*(?P<reason>\S.*?)\s*-->\s*$")
_INVISIBLE_OPEN = "<!-- invisible-code-block: python"


@attrs.frozen
class Block:
    """One Python block of a page: where it starts, its code, and how it is to be run."""

    path: Path
    line: int  # 1-based line of the block's first line of code
    code: str
    compile_only: bool = False
    invisible: bool = False

    @property
    def is_program(self) -> bool:
        """Tell whether the block is a whole program (it starts its own event loop)."""
        return "asyncio.run(" in self.code

    def compiled(self) -> Any:
        """Compile the block so that tracebacks name the page and its own line numbers."""
        source = "\n" * (self.line - 1) + self.code
        flags = 0 if self.is_program else ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        return compile(source, str(self.path), "exec", flags=flags, dont_inherit=True)


def extract_blocks(path: Path) -> list[Block]:
    """Return a Markdown page's Python blocks, visible and invisible, in page order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    compile_only = False
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.strip() == _INVISIBLE_OPEN:
            end = _find(lines, index, "-->", path)
            blocks.append(
                Block(path, index + 2, "\n".join(lines[index + 1 : end]) + "\n", invisible=True)
            )
            index = end + 1
            continue
        if _COMPILE_ONLY_RE.match(line):
            compile_only = True
            index += 1
            continue
        fence = _FENCE_RE.match(line)
        if fence is None:
            if line.strip():
                compile_only = False  # the marker only applies to the block right after it
            index += 1
            continue
        indent, marker = len(fence["indent"]), fence["fence"]
        end = _find(lines, index, marker, path)  # the same run of backticks or tildes closes it
        info = fence["info"].strip().split()
        if info and info[0] in PYTHON_INFO:
            body = [
                text[indent:] if text[:indent].isspace() else text
                for text in lines[index + 1 : end]
            ]
            blocks.append(Block(path, index + 2, "\n".join(body) + "\n", compile_only=compile_only))
        elif compile_only:
            raise AssertionError(
                f"{path}:{index + 1}: compile-only marks a block that is not Python"
            )
        compile_only = False
        index = end + 1
    return blocks


def _find(lines: list[str], opened: int, closing: str, path: Path) -> int:
    for index in range(opened + 1, len(lines)):
        if lines[index].strip() == closing:
            return index
    raise AssertionError(f"{path}:{opened + 1}: a block that never closes")


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


async def _run_in_session(code: Any, namespace: dict[str, Any]) -> None:
    # Executed inside the running loop, as the asyncio REPL does: a block without ``await``
    # still finds a running loop.
    result = eval(code, namespace)
    if inspect.iscoroutine(result):
        await asyncio.wait_for(result, BLOCK_TIMEOUT)


@contextlib.contextmanager
def _tracking(made: list[object]) -> Iterator[None]:
    """Record every client, emulator and router made while a page runs, to close them after."""
    originals = {cls: cls.__init__ for cls in (wa.WeglyClient, WeglyEmulator, WebhookRouter)}

    def recording(original: Any) -> Any:
        def __init__(self: object, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            made.append(self)

        return __init__

    for cls, original in originals.items():
        cls.__init__ = recording(original)  # type: ignore[method-assign]
    try:
        yield
    finally:
        for cls, original in originals.items():
            cls.__init__ = original  # type: ignore[method-assign]


async def _close(made: list[object]) -> None:
    # Clients and routers first: a router's queued handlers may still call an emulator.
    for thing in made:
        if isinstance(thing, wa.WeglyClient):
            await thing.close()
        elif isinstance(thing, WebhookRouter):
            await thing.aclose()
    for thing in made:
        if isinstance(thing, WeglyEmulator):
            await thing.close()


def _run_program(code: Any) -> str:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(code, {"__name__": "__main__"})
    return output.getvalue()


def run_page(blocks: list[Block]) -> None:
    """Run a page's blocks with the convention above, closing what the page left open."""
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    made: list[object] = []
    loop = asyncio.new_event_loop()
    try:
        with _tracking(made):
            for block in blocks:
                code = block.compiled()
                if block.compile_only:
                    continue
                if block.is_program:
                    namespace["program_output"] = _run_program(code)
                else:
                    loop.run_until_complete(_run_in_session(code, namespace))
    finally:
        try:
            loop.run_until_complete(_close(made))
        finally:
            namespace.clear()
            _cancel_all_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def _cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    # What asyncio.run does on exit: a server handler still sleeping in an injected delay
    # is cancelled and awaited, not destroyed pending.
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def _pages_with_blocks() -> Iterator[Any]:
    for path in PAGES:
        blocks = extract_blocks(path)
        if blocks:
            yield pytest.param(blocks, id=_page_id(path))


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """Undo what a page does to logging (a level, ``basicConfig``), so no other test sees it."""
    root, sdk = logging.getLogger(), logging.getLogger("wegly_async")
    levels, handlers = (root.level, sdk.level), (list(root.handlers), list(sdk.handlers))
    try:
        yield
    finally:
        root.setLevel(levels[0])
        sdk.setLevel(levels[1])
        root.handlers[:], sdk.handlers[:] = handlers


@pytest.mark.parametrize("blocks", list(_pages_with_blocks()))
def test_page_blocks_run(
    blocks: list[Block],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    if any(QUEUE_URL in block.code for block in blocks):
        # The page's queue and fleet budget: this run's own loopback redis-server.
        monkeypatch.setenv(QUEUE_URL, request.getfixturevalue("redis_url"))
    else:
        monkeypatch.delenv(QUEUE_URL, raising=False)
    monkeypatch.chdir(tmp_path)
    with _logging_restored():
        run_page(blocks)


def test_every_block_of_the_docs_runs() -> None:
    # The marker is for a draft; what lands runs (issue #17: every block is executed in CI).
    exceptions = [
        f"{_page_id(block.path)}:{block.line}"
        for path in PAGES
        for block in extract_blocks(path)
        if block.compile_only
    ]
    assert exceptions == [], f"compile-only blocks that should run: {exceptions}"


# -- the runner itself: a test that cannot fail is a defect ------------------------------


def _page(tmp_path: Path, text: str) -> list[Block]:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return extract_blocks(page)


def test_extract_finds_visible_invisible_and_compile_only_blocks(tmp_path: Path) -> None:
    blocks = _page(
        tmp_path,
        "# Page\n\n```python\nx = 1\n```\n\n<!-- invisible-code-block: python\ny = x\n-->\n\n"
        "<!-- compile-only: needs FastAPI -->\n```python\nimport fastapi\n```\n\n"
        "```bash\necho no\n```\n\n```python\nassert y == 1\n```\n",
    )
    assert [(b.line, b.code, b.invisible, b.compile_only) for b in blocks] == [
        (4, "x = 1\n", False, False),
        (8, "y = x\n", True, False),
        (13, "import fastapi\n", False, True),
        (21, "assert y == 1\n", False, False),
    ]


def test_a_failing_block_fails_the_page_at_its_own_line(tmp_path: Path) -> None:
    blocks = _page(tmp_path, "text\n\n```python\nx = 1\nassert x == 2\n```\n")
    with pytest.raises(AssertionError) as info:
        run_page(blocks)
    assert info.traceback[-1].lineno + 1 == 5  # pytest's line numbers are 0-based


def test_blocks_share_a_session_with_top_level_await(tmp_path: Path) -> None:
    blocks = _page(
        tmp_path,
        "```python\nimport asyncio\nawait asyncio.sleep(0)\nseen = []\n```\n"
        "```python\nseen.append(asyncio.get_running_loop())\nassert seen\n```\n",
    )
    run_page(blocks)
    missing = _page(tmp_path, "```python\nassert undefined_name\n```\n")
    with pytest.raises(NameError):
        run_page(missing)


def test_a_program_runs_alone_as_main(tmp_path: Path) -> None:
    blocks = _page(
        tmp_path,
        "```python\nx = 1\n```\n```python\nimport asyncio\nasync def main():\n    return x\n"
        "if __name__ == '__main__':\n    asyncio.run(main())\n```\n",
    )
    with pytest.raises(NameError):  # the program does not see the session's x
        run_page(blocks)


def test_compile_only_blocks_are_compiled_not_run(tmp_path: Path) -> None:
    run_page(_page(tmp_path, "<!-- compile-only: x -->\n```python\nraise SystemExit(1)\n```\n"))
    broken = _page(tmp_path, "<!-- compile-only: x -->\n```python\ndef broken(:\n```\n")
    with pytest.raises(SyntaxError):
        run_page(broken)


def test_an_unclosed_block_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="never closes"):
        _page(tmp_path, "```python\nx = 1\n")
