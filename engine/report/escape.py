r"""Showing user data in text and Markdown output: visibly, and one report line per line.

Ids, names, companies, titles, file names and messages come from timelines,
policies and requests, and every one of them is hostile. Printed raw, a newline in a
candidate's name adds a fake ``VIOLATION`` line to a coach's report, ``ESC [31m``
drives the reader's terminal, and U+202E (RIGHT-TO-LEFT OVERRIDE) makes the rest of a
line read backwards. Every human-facing renderer (audit text and Markdown, check,
agenda, ``policy show``/``diff``, lint's text output) passes user data through
:func:`escape_text`, or :func:`escape_markdown` in Markdown. JSON output uses neither:
JSON escapes by itself.

**Text rule** (:func:`escape_text`). These characters are replaced by their escape:

* ``Cc``, control characters: C0 (U+0000 to U+001F, so tab, newline and carriage
  return too), DEL and C1 (U+0080 to U+009F, among them NEL);
* ``Cf``, invisible format characters: the bidi embeddings, overrides and isolates
  (U+202A to U+202E, U+2066 to U+2069), the direction marks (U+200E, U+200F, U+061C),
  zero-width space, word joiner, the byte order mark, soft hyphen, the tag characters
  (U+E0000 to U+E007F) and the rest of the category, except ZERO WIDTH NON-JOINER and
  ZERO WIDTH JOINER (U+200C, U+200D) between two visible characters, where they build
  emoji sequences and Persian or Indic words;
* ``Zl`` and ``Zp``: U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR;
* ``Cs``: lone surrogates (JSON may write ``"\ud800"``), which UTF-8 output could not
  even encode.

The escape is the one Python and YAML double-quoted strings use: ``\n``, ``\r``,
``\t``; ``\xNN`` below U+0100; ``\uNNNN``; ``\UNNNNNNNN`` (lowercase hex). Everything
else stays as written: accents, CJK, emoji, no-break spaces, and backslashes (a literal
``\n`` typed by a user looks like an escaped newline, but neither breaks a line). So
no user value can produce a line break or a control character, and escaping is
idempotent: ``escape_text(escape_text(s)) == escape_text(s)``.

**Markdown rule** (:func:`escape_markdown`). The text rule first (so an escaped
newline stays inside its table cell), then a backslash before each character that
could end a table cell or start markup: ``\ ` * _ < [ | & ~ # $`` (backslash first, so
``\x1b`` shows as ``\x1b``; ``&`` so that ``&#x202e;`` is not an entity; ``$`` for
GitHub's math). The rule applies to every piece of user data in the Markdown report
(headings, table cells, the closing line), not only to table cells. Rule ids and
policy names, which the report shows as code spans, get the text rule only: the policy
schema restricts them to letters, digits and ``_ . / -``.
"""

from __future__ import annotations

import unicodedata

__all__ = ["escape_text", "escape_markdown"]

#: the Unicode categories whose characters are shown escaped
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
#: format characters kept between two visible characters (emoji sequences, Persian, Indic scripts)
JOINERS = frozenset({"\u200c", "\u200d"})
#: the characters :func:`escape_markdown` puts a backslash before
MARKDOWN_SPECIAL = "\\`*_<[|&~#$"

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MARKDOWN = str.maketrans({c: "\\" + c for c in MARKDOWN_SPECIAL})


def _hidden(ch: str) -> bool:
    return unicodedata.category(ch) in HIDDEN_CATEGORIES


def _visible(ch: str) -> bool:
    return not ch.isspace() and not _hidden(ch)


def _escape(ch: str) -> str:
    short = _SHORT.get(ch)
    if short:
        return short
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def escape_text(text: str) -> str:
    """``text`` with every control, invisible format and line-separator character escaped."""
    text = str(text)
    if text.isprintable():  # the usual case: nothing of those categories (they are all non-printable)
        return text
    out = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        if not _hidden(ch):
            out.append(ch)
        elif ch in JOINERS and 0 < i < last and _visible(text[i - 1]) and _visible(text[i + 1]):
            out.append(ch)
        else:
            out.append(_escape(ch))
    return "".join(out)


def escape_markdown(text: str) -> str:
    """``text`` as inline Markdown that shows it literally: :func:`escape_text`, then markup escaped."""
    return escape_text(text).translate(_MARKDOWN)
