"""What WhatsApp can show: answers' Markdown turned into WhatsApp markup, long text split into
messages, and Rasa buttons turned into reply-button and list messages.

Pure functions (no I/O), so every limit of Meta's API is checked here and tested directly. More
than 10 choices become several list messages of at most 10 rows each: stateless, where a
"More…" row would need per-user paging state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# WhatsApp refuses a text body of 4,096 characters or more; incoming text is never longer.
TEXT_LIMIT = 4096
TEXT_MAX = TEXT_LIMIT - 96  # each part we send: a round 4,000, safely below the limit
BUTTON_BODY_MAX = 1024
LIST_BODY_MAX = 4096
MAX_REPLY_BUTTONS = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
MAX_LIST_ROWS = 10
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200

_CODE = re.compile(r"(```[\s\S]*?```|`[^`\n]+`)")
_URL = re.compile(r"(https?://[^\s<>()\]]+)")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<((?:https?://|mailto:)[^>\s]+)>")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
_BULLET = re.compile(r"^([ \t]*)[*+-][ \t]+", re.MULTILINE)
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_BOLD_MARK = "\x01"


def _link_text(match: re.Match[str]) -> str:
    title, url = match.group(1).strip(), match.group(2)
    bare = re.sub(r"^(https?://|mailto:)", "", url).rstrip("/")
    if not title or title in (url, bare):
        return url
    return f"{title}: {url}"


def _format_prose(text: str) -> str:
    text = _HEADING.sub(lambda m: f"{_BOLD_MARK}{m.group(1).replace('**', '')}{_BOLD_MARK}", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    text = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(2)}{_BOLD_MARK}", text)
    text = _ITALIC.sub(r"_\1_", text)
    text = _STRIKE.sub(r"~\1~", text)
    return text.replace(_BOLD_MARK, "*")


def markdown_to_whatsapp(text: str) -> str:
    """Turn the Markdown used in answers into WhatsApp's own formatting.

    ``**bold**`` → ``*bold*``, ``*italic*`` → ``_italic_``, ``~~x~~`` → ``~x~``, headings →
    bold lines, ``[title](url)`` → ``title: url``, bullets → ``•``. Code spans and URLs are
    left alone so that underscores or asterisks in them survive.
    """
    # split() with a capturing group: odd items are code spans (then URLs), left untouched.
    pieces = _CODE.split(text)
    out: list[str] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append(piece)
            continue
        piece = _AUTOLINK.sub(r"\1", _LINK.sub(_link_text, piece))
        for sub_index, part in enumerate(_URL.split(piece)):
            out.append(part if sub_index % 2 else _format_prose(part))
    return "".join(out)


def strip_markdown(text: str) -> str:
    """Plain text for places that show no formatting (button and row titles)."""
    text = _LINK.sub(lambda m: m.group(1) or m.group(2), text)
    return re.sub(r"[*_~`#]+", "", text).strip()


def split_text(text: str, limit: int = TEXT_MAX) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters.

    Cuts at the last paragraph break, else line break, else sentence end, else space in the
    window, so that a part never ends mid-word when it can be avoided.
    """
    remaining = text.strip()
    parts: list[str] = []
    while len(remaining) > limit:
        window = remaining[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", ". ", "! ", "? ", "; ", " "):
            index = window.rfind(separator, 0, limit)
            if index >= limit // 4:
                cut = index + (1 if separator[0] in ".!?;" else 0)
                break
        if cut <= 0:
            cut = limit
        part = remaining[:cut].rstrip()
        if part:
            parts.append(part)
        remaining = remaining[cut:].lstrip()
    if remaining:
        parts.append(remaining)
    return parts


def shorten(text: str, limit: int) -> str:
    """Fit a title into ``limit`` characters, cutting at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def choices(buttons: Iterable[Mapping[str, Any]], id_max: int) -> list[tuple[str, str]]:
    """(id, plain title) pairs; the id carries the Rasa payload back when it fits."""
    seen: set[str] = set()
    result = []
    for button in buttons:
        title = strip_markdown(str(button.get("title") or button.get("payload") or ""))
        payload = str(button.get("payload") or "")
        choice_id = payload if 0 < len(payload) <= id_max else title[:id_max]
        if not title or choice_id in seen:
            continue
        seen.add(choice_id)
        result.append((choice_id, title))
    return result


def reply_buttons(body: str, options: list[tuple[str, str]]) -> dict[str, Any]:
    """The ``interactive`` object of a reply-button message (at most 3 choices)."""
    return {
        "type": "button",
        "body": {"text": body},
        "action": {
            "buttons": [
                {
                    "type": "reply",
                    "reply": {"id": cid, "title": shorten(t, BUTTON_TITLE_MAX)},
                }
                for cid, t in options
            ]
        },
    }


def list_pages(
    body: str, options: list[tuple[str, str]], button_label: str
) -> list[dict[str, Any]]:
    """The ``interactive`` objects of list messages of at most 10 rows each.

    The first carries ``body``; the others say "More choices (2/3)". A title cut to fit a row
    keeps its full wording visible as the row's description.
    """
    pages = [options[i : i + MAX_LIST_ROWS] for i in range(0, len(options), MAX_LIST_ROWS)]
    messages = []
    for number, page in enumerate(pages, start=1):
        if number > 1:
            body = f"More choices ({number}/{len(pages)})"
        rows = []
        for cid, title in page:
            row = {"id": cid, "title": shorten(title, ROW_TITLE_MAX)}
            if row["title"] != title:  # keep the full wording visible
                row["description"] = shorten(title, ROW_DESCRIPTION_MAX)
            rows.append(row)
        messages.append(
            {
                "type": "list",
                "body": {"text": body},
                "action": {
                    "button": button_label,
                    "sections": [{"title": shorten("Choices", 24), "rows": rows}],
                },
            }
        )
    return messages
