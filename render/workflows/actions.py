"""The GitHub Actions side of the commands: event payloads, step outputs, job summaries.

Commands take these as plain paths (`--event`, `--output`, `--summary`), so tests pass a
simulated payload and read the outputs back from tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from render.problems import Problem, ProblemsError


def read_event(path: Path | None) -> dict[str, Any]:
    """The event payload GitHub wrote (GITHUB_EVENT_PATH); {} when there is none."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ProblemsError([Problem(str(path), 1, 1, "", f"cannot read the event payload: {e}", "")]) from None
    if not isinstance(data, dict):
        raise ProblemsError([Problem(str(path), 1, 1, "", "the event payload is not a JSON object", "")])
    return data


def set_output(path: Path | None, key: str, value: str) -> None:
    """Append key=value to $GITHUB_OUTPUT. Values are validated names; never multi-line."""
    if "\n" in value or "\r" in value:
        raise ValueError(f"output {key} must be one line")
    if path is not None:
        with path.open("a", encoding="utf-8") as f:
            f.write(f"{key}={value}\n")


def add_summary(path: Path | None, markdown: str) -> None:
    """Append markdown to $GITHUB_STEP_SUMMARY (printed instead when there is none)."""
    if path is None:
        print(markdown)
        return
    with path.open("a", encoding="utf-8") as f:
        f.write(markdown.rstrip("\n") + "\n")


MARKDOWN_PUNCTUATION = frozenset("\\`*_{}[]()#+-.!|~\"'")
HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def markdown_text(text: str) -> str:
    """`text` (a file name, say) as literal Markdown: punctuation backslash-escaped (CommonMark
    allows it for any ASCII punctuation), HTML's specials as entities, a control or invisible
    character as its \\u escape, so a crafted name can neither format nor hide the lines after it."""
    out = []
    for c in text:
        if c in HTML:
            out.append(HTML[c])
        elif c in MARKDOWN_PUNCTUATION:
            out.append("\\" + c)
        elif not c.isprintable() or (c.isspace() and c != " "):
            out.append(f"\\\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out)
