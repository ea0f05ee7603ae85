"""What one validator found: how much it checked, what failed, or why it was skipped."""

from __future__ import annotations

from dataclasses import dataclass, field

from render.problems import Problem


@dataclass(frozen=True)
class Outcome:
    """The result of one validator over the repository."""

    name: str
    checked: int
    unit: str = "objects"
    failures: list[Problem] = field(default_factory=list)
    skipped: str = ""
    note: str = ""
    # A skip that fails (CI requires the check).
    required: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.failures) or bool(self.skipped and self.required)

    @property
    def status(self) -> str:
        """FAIL, skip or ok: how the summary line starts (a skip is never printed as ok)."""
        return "FAIL" if self.failed else "skip" if self.skipped else "ok"

    def line(self) -> str:
        """One summary line, e.g. `kubernetes 1.33 (strict): 58 objects, 0 failures`."""
        if self.skipped:
            text = f"{self.name}: {self.skipped}" + (" (required here, so this fails)" if self.required else "")
        else:
            n = len(self.failures)
            text = f"{self.name}: {self.checked} {self.unit}, {n} failure{'s' if n != 1 else ''}"
        return text + (f" ({self.note})" if self.note else "")
