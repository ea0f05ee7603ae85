"""Problems: what a user did wrong, where, and how to fix it."""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in one input file. `file` is repo-relative; `pointer` a dotted key path."""

    file: str
    line: int
    column: int
    pointer: str
    message: str
    hint: str = ""

    @property
    def is_flag(self) -> bool:
        """A mistake in a command-line flag (`file` is the flag, e.g. --base) or in the state of
        the checkout (`file` is "."): it has no line, and is not printed as a file location."""
        return self.file.startswith("-") or self.line == 0

    def format(self) -> str:
        where = ("repository" if self.file == "." else self.file) if self.is_flag else f"{self.file}:{self.line}:{self.column}"
        head = f"{where}: {self.pointer}: {self.message}" if self.pointer else f"{where}: {self.message}"
        return head + (f"\n    hint: {self.hint}" if self.hint else "")

    def github(self) -> str:
        """A GitHub Actions workflow command that annotates the exact line of a pull request."""
        text = f"{self.pointer}: {self.message}" if self.pointer else self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        # Property values also escape ':' and ',' (GitHub's workflow-command syntax).
        if self.is_flag:  # no file to annotate: a plain error line in the log
            return f"::error::{'repository' if self.file == '.' else self.file}: {text}"
        file = self.file.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A").replace(":", "%3A").replace(",", "%2C")
        return f"::error file={file},line={self.line},col={self.column}::{text}"


class UserError(Exception):
    """A mistake the user can fix (a refused revision, no git repository, a rejected
    request): the CLI prints it as a Problem and exits 2. Git, GitHub API, cluster and
    routing errors derive from it; anything else that escapes is a bug."""

    file = "."  # repo-relative file the mistake is in ("." = the repository itself)
    hint = ""

    @property
    def problems(self) -> list[Problem]:
        return [Problem(self.file, 1, 1, "", str(self), self.hint)]


class ProblemsError(UserError):
    """Raised by a stage with every problem it found; only the CLI catches it."""

    def __init__(self, problems: list[Problem]) -> None:
        self._problems = sorted(set(problems))
        super().__init__(f"{len(self._problems)} problem(s)")

    @property
    def problems(self) -> list[Problem]:
        return self._problems


def as_json(problems: list[Problem]) -> str:
    return json.dumps([asdict(p) for p in sorted(problems)], indent=2)


def dotted(path: tuple[object, ...] | list[object]) -> str:
    """('overrides', 'text_extractor_v1', 'min_replicas') -> 'overrides.text_extractor_v1.min_replicas'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def did_you_mean(word: str, options: list[str], noun: str = "keys") -> str:
    """'did you mean X?' for the closest option (case and '-'/'_' ignored), else the options."""
    def norm(s: str) -> str:
        return s.lower().replace("-", "_")

    by_norm = {norm(o): o for o in options}
    if norm(word) in by_norm:
        return f"did you mean {by_norm[norm(word)]!r}?"
    close = difflib.get_close_matches(norm(word), list(by_norm), n=1, cutoff=0.6)
    if close:
        return f"did you mean {by_norm[close[0]]!r}?"
    return f"valid {noun}: {', '.join(options)}" if options and len(options) <= 12 else ""
