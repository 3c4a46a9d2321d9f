"""What every Markdown format shares: reading a note, front matter, code blocks, headings,
images, the id marker."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from llmq.decks.errors import NoteProblem
from llmq.decks.ids import MARKER_RE, MARKER_VALUE_RE
from llmq.l10n import _

MAX_NOTE_BYTES = 8 << 20  # a note bigger than this is not a note

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_INLINE_CODE = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_IMAGE = re.compile(r"<img\b[^>]*>", re.I)
_HTML_ATTR = re.compile(r"""\b(src|alt)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
SR_COMMENT = re.compile(r"<!--SR:.*?-->")  # the Obsidian plugin's own scheduling notes
CONTEXT_SEPARATOR = " › "  # between a card's headings in its title: MQA › 优势


class NoteUnreadable(Exception):
    """A note that cannot be read as UTF-8 text; `problem` says where and why."""

    def __init__(self, problem: NoteProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_note(path: Path) -> str:
    """The note's text with Unix line ends and no BOM; NoteUnreadable says why not (at the line of a bad byte)."""
    try:
        if path.stat().st_size > MAX_NOTE_BYTES:
            raise NoteUnreadable(NoteProblem(path, 0, _("is larger than 8 MiB; split it into smaller notes")))
        data = path.read_bytes()
    except OSError as exc:
        raise NoteUnreadable(NoteProblem(path, 0, _("cannot be read: {why}").format(why=exc.strerror or exc))) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise NoteUnreadable(
            NoteProblem(path, line, _("is not UTF-8 text (byte {byte}); save the note as UTF-8").format(byte=exc.start))
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def front_matter_end(lines: list[str]) -> int:
    """The index of the first line after YAML front matter (0 when the note has none)."""
    if lines and lines[0].strip() == "---":
        for index in range(1, len(lines)):
            if lines[index].strip() in ("---", "..."):
                return index + 1
    return 0


def _scan(lines: list[str]) -> tuple[list[bool], int | None]:
    """Fenced code lines (fences included), and the index of a fence left open at the end."""
    flags = [False] * len(lines)
    fence: str | None = None
    opened = 0
    for index, line in enumerate(lines):
        if fence is None:
            match = _FENCE_OPEN.match(line)
            # A backtick fence's info string may not hold a backtick (then it is inline code).
            if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
                fence, opened = match.group(1), index
                flags[index] = True
        else:
            flags[index] = True
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                fence = None
    return flags, (opened if fence is not None else None)


def code_lines(lines: list[str]) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (the fences included)."""
    return _scan(lines)[0]


def unclosed_fence(lines: list[str], file: Path, offset: int = 0) -> NoteProblem | None:
    """A code block opened and never closed: it would swallow the rest of the note."""
    opened = _scan(lines)[1]
    if opened is None:
        return None
    fence = lines[opened].strip()[:3]
    return NoteProblem(
        file, opened + 1 + offset, _("this code block ({fence}) is never closed; add a closing {fence} line").format(fence=fence)
    )


@dataclass(frozen=True)
class Heading:
    """An ATX heading (`## text`) outside code: its 0-based line index, level and text."""

    index: int
    level: int
    text: str


def headings(lines: list[str], in_code: list[bool], start: int = 0) -> list[Heading]:
    """Every heading of the note, in order (a `#` in a code block is not a heading)."""
    found = []
    for index in range(start, len(lines)):
        if in_code[index]:
            continue
        match = _HEADING.match(lines[index])
        if match:
            found.append(Heading(index, len(match.group(1)), (match.group(2) or "").strip()))
    return found


def without_inline_code(line: str) -> str:
    """The line with its `code spans` taken out (their `::` or `==` are not card syntax)."""
    return _INLINE_CODE.sub("", line)


def find_marker(text: str, file: Path, line: int, problems: list[NoteProblem]) -> str | None:
    """The value of the first `<!-- llmq:id=... -->` in `text`, checked (a bad one is a problem)."""
    match = MARKER_RE.search(text)
    if match is None:
        return None
    value = match.group(1)
    if not MARKER_VALUE_RE.match(value):
        problems.append(
            NoteProblem(
                file,
                line,
                _("the id {value!r} in <!-- llmq:id=... --> may hold letters, digits, _ . and - only (at most 80)").format(
                    value=value
                ),
            )
        )
        return None
    return value


def _image_line(alt: str, src: str) -> str:
    name = alt.strip() or src.rsplit("/", 1)[-1]
    return f"\n[image: {name}{f' ({src})' if src and name != src else ''}]\n"


def _html_image(match: re.Match[str]) -> str:
    attrs = {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in _HTML_ATTR.finditer(match.group(0))
    }
    return _image_line(attrs.get("alt", ""), attrs.get("src", ""))


def clean_body(lines: list[str], in_code: list[bool]) -> str:
    """A card's Markdown from note lines: markers and the plugin's scheduling comments gone, each
    image a line naming it (outside code), trailing spaces cut (YAML keeps the text readable),
    blank lines around it trimmed. Code, tables and math are kept as written."""
    out: list[str] = []
    for line, code in zip(lines, in_code):
        if not code:
            line = SR_COMMENT.sub("", MARKER_RE.sub("", line))
            if "<img" in line.lower() or "![" in line:
                line = _MD_IMAGE.sub(lambda m: _image_line(m.group(1), m.group(2)), line)
                line = _HTML_IMAGE.sub(_html_image, line)
                out.extend(part.rstrip() for part in line.split("\n") if part.strip())
                continue
        out.append(line.rstrip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def plain_title(text: str, limit: int = 80) -> str:
    """A one-line title from Markdown text: its first non-empty line, cut at `limit` characters."""
    text = MARKER_RE.sub("", text)
    first = next((line.strip() for line in text.split("\n") if line.strip()), "")
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def file_title(path: Path) -> str:
    """A note's name as context: the file name without its suffix or a leading number (`1.Transformer基础`)."""
    return re.sub(r"^\d+[.\-_ ]+", "", path.stem) or path.stem


def heading_context(stack: list[Heading], has_top: bool, path: Path) -> list[str]:
    """The texts of the headings above a card; the note's name first when it has no # title."""
    names = [h.text for h in stack if h.text]
    return names if has_top else [file_title(path), *names]


def mask_code(text: str) -> str:
    """`text` with every code block and code span blanked out (same length, NUL characters), so
    that card syntax is looked for outside code only and positions still match the text."""
    lines = text.split("\n")
    flags = code_lines(lines)
    masked = [
        "\0" * len(line) if code else _INLINE_CODE.sub(lambda m: "\0" * len(m.group(0)), line) for line, code in zip(lines, flags)
    ]
    return "\n".join(masked)


@dataclass(frozen=True)
class Note:
    """A Markdown note ready to read cards from: its lines, which are code, its headings (after
    any front matter), and whether it has a `#` title."""

    file: Path
    lines: list[str]
    in_code: list[bool]
    headings: list[Heading]
    start: int  # the first line after the front matter
    has_top: bool


def prepare(text: str, file: Path) -> Note | NoteProblem:
    """The note, or the problem that keeps it from being read (a code block never closed)."""
    lines = text.split("\n")
    open_fence = unclosed_fence(lines, file)
    if open_fence is not None:
        return open_fence
    in_code = code_lines(lines)
    start = front_matter_end(lines)
    found = headings(lines, in_code, start)
    return Note(file, lines, in_code, found, start, any(h.level == 1 for h in found))


def push_heading(stack: list[Heading], heading: Heading) -> None:
    """Enter `heading`: the headings of its level and below it are left first."""
    while stack and stack[-1].level >= heading.level:
        stack.pop()
    stack.append(heading)
