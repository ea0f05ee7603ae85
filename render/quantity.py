"""Kubernetes resource quantities ("500m", "8Gi", "2"): parse, check and format.

Small on purpose: the `kubernetes` client has a parser, but it is too heavy for the
renderer's import path.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

# The quantity grammar of k8s.io/apimachinery (resource.Quantity), without exponents.
QUANTITY = re.compile(r"^[+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
_SUFFIX = {
    "": Decimal(1), "m": Decimal("0.001"),
    "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15, "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50, "Ei": Decimal(2) ** 60,
}
GI = Decimal(2) ** 30


def is_quantity(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0) or (
        isinstance(value, str) and QUANTITY.fullmatch(value) is not None)


def parse(value: str | int | float) -> Decimal:
    """'8Gi' -> 8589934592; '500m' -> 0.5. Raises ValueError on anything Kubernetes rejects."""
    if isinstance(value, bool):
        raise ValueError(f"not a quantity: {value!r}")
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    match = QUANTITY.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"not a quantity: {value!r}")
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"not a quantity: {value!r}") from None
    return number * _SUFFIX[match.group(3) or ""]


def suggest(value: str) -> str:
    """A likely intended quantity for a common mistake: '8GB' -> '8Gi', '2 cores' -> '2'."""
    text = str(value).strip()
    m = re.match(r"^([0-9.]+)\s*(gb|gib|g|mb|mib|m|kb|kib|k|tb|tib|t)?\s*(bytes?)?$", text, re.I)
    if m and m.group(2):
        unit = m.group(2)[0].upper()
        return f"{m.group(1)}{unit}i"
    m = re.match(r"^([0-9.]+)\s*(cores?|cpus?|vcpus?)$", text, re.I)
    if m:
        return m.group(1)
    m = re.match(r"^([0-9.]+)\s*(millicores?|millicpu)$", text, re.I)
    if m:
        return f"{m.group(1)}m"
    return ""


def cpu(value: Decimal) -> str:
    """Format CPUs canonically: whole cores as '4', fractions as millicores '2500m'."""
    milli = (value * 1000).to_integral_value()
    return str(int(milli // 1000)) if milli % 1000 == 0 else f"{int(milli)}m"


def memory(value: Decimal) -> str:
    """Format bytes canonically in the largest binary unit that divides them."""
    number = int(value.to_integral_value())
    for suffix in ("Ti", "Gi", "Mi", "Ki"):
        size = int(_SUFFIX[suffix])
        if number % size == 0 and number >= size:
            return f"{number // size}{suffix}"
    return str(number)


def pod_resources(cores: Any, size: Any, gpus: Any) -> dict[str, str]:
    """Container resources in canonical form; a GPU count only when there is one."""
    out = {"cpu": cpu(parse(cores)), "memory": memory(parse(size))}
    if gpus:
        out["nvidia.com/gpu"] = str(int(gpus))
    return out
