"""The only place a Jinja environment is built.

Sandboxed, strict about undefined names, and values reach the output only through the
`j` filter (JSON, which is valid YAML): a value can never break indentation or quoting.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from typing import Any

import jinja2
import jinja2.bccache
from jinja2.sandbox import ImmutableSandboxedEnvironment

from render.problems import Problem, ProblemsError

_NOT_YAML_PRINTABLE = re.compile("[\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# What json.dumps(value, ensure_ascii=False, separators=(", ", ": ")) calls, built once: json.dumps
# builds a new encoder on every call with options, and templates call `j` about 400 times a tenant.
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode


def to_json(value: Any) -> str:
    """JSON for templates; unlike Jinja's tojson it leaves <, >, & and ' alone.

    Characters YAML forbids in a document but JSON leaves raw (DEL, C1 controls,
    surrogates, U+FFFE/U+FFFF) are written as \\u escapes, which YAML reads back.
    """
    if isinstance(value, jinja2.Undefined):  # StrictUndefined: say which value, not "not JSON serializable"
        value._fail_with_undefined_error()
    text = _ENCODE(value)
    return _NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _MemoryBytecode(jinja2.BytecodeCache):
    """Compiled templates kept in a dict the caller owns (and may persist): no I/O here.

    Jinja checks each entry against the template source's checksum and its own format
    and Python version, so a stale entry is recompiled, never used."""

    def __init__(self, store: dict[str, bytes]) -> None:
        self.store = store

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


def environment(templates: dict[str, str], bytecode: dict[str, bytes] | None = None) -> jinja2.Environment:
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.DictLoader(templates),
        bytecode_cache=_MemoryBytecode(bytecode) if bytecode is not None else None,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["j"] = to_json
    return env


def precompile(templates: dict[str, str], bytecode: dict[str, bytes]) -> None:
    """Compile every template into `bytecode` (a broken one is left for `render` to report)."""
    env = environment(templates, bytecode)
    for name in templates:
        with contextlib.suppress(jinja2.TemplateError):
            env.get_template(name)


def render(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> str:
    """Render one template; any template error becomes a Problem at the template's line."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as e:
        raise ProblemsError([Problem(e.filename or name, e.lineno or 1, 1, "", f"template syntax error: {e.message}", "")]) from None
    except (jinja2.TemplateError, TypeError, KeyError, ValueError) as e:
        line = _template_line(e, name)
        expression = _expression(env, name, line)
        what = f"{expression}: " if expression else ""
        raise ProblemsError([Problem(name, line, 1, "", f"template error: {what}{_undefined_name(e)}",
                                     "a template may use only values the renderer provides (render/context.py); "
                                     "check the variable's spelling")]) from None


def _undefined_name(e: BaseException) -> str:
    """Jinja's "'dict object' has no attribute 'x'" as "no value 'x'"; other errors as they are."""
    m = re.fullmatch(r"'[^']*' has no attribute '([^']+)'", str(e))
    if m:
        return f"no value {m.group(1)!r} (undefined)"
    return str(e)


def _expression(env: jinja2.Environment, name: str, line: int) -> str:
    """The `{{ ... }}` or `{% ... %}` on the template's line `line`, to name the variable."""
    try:
        source = env.loader.get_source(env, name)[0] if env.loader else ""
    except jinja2.TemplateNotFound:
        return ""
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    m = re.search(r"\{\{.*?\}\}|\{%.*?%\}", text)
    return m.group(0) if m else ""


def _template_line(error: BaseException, name: str) -> int:
    tb = error.__traceback__
    line = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in (name, "<template>"):  # Jinja's frames, rewritten to template lines
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
