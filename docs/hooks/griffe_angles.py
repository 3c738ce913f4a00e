"""Griffe extension for the API reference: `<name>` in a docstring's prose is text, not an HTML tag.

tk's docstrings write placeholders such as `<output>::label` or `<feature>::pre`; Markdown would pass
them through as (unknown) HTML tags and the browser would show nothing. Outside code spans, fenced
blocks and indented code blocks, `<` of such a placeholder is written as `&lt;`.
"""

from __future__ import annotations

import re

import griffe

PLACEHOLDER = re.compile(r"<(?=[A-Za-z_][\w.:/ -]*>)")
CODE_SPAN = re.compile(r"(`+).+?\1")


def _escape_prose(line: str) -> str:
    out, last = [], 0
    for m in CODE_SPAN.finditer(line):
        out.append(PLACEHOLDER.sub("&lt;", line[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(PLACEHOLDER.sub("&lt;", line[last:]))
    return "".join(out)


def escape_placeholders(text: str) -> str:
    lines, fenced, code, prev_blank = [], False, False, True
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            lines.append(line)
        elif fenced:
            lines.append(line)
        else:
            indented = line.startswith("    ") and line.strip()
            code = bool(indented) and (code or prev_blank)
            lines.append(line if code else _escape_prose(line))
        prev_blank = not line.strip()
    return "\n".join(lines)


class EscapePlaceholders(griffe.Extension):
    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = escape_placeholders(obj.docstring.value)
