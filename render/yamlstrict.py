"""Strict YAML: one document of plain data, with the line and column of every value.

YAML is composed with libyaml into nodes and constructed here by hand, so that we can
reject what PyYAML would silently accept (duplicate keys, merge keys, custom tags,
numbers in base 60) and bound alias expansion. Pure: text in, Document or Problems out.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import yaml

from render.problems import Problem, ProblemsError, dotted

try:  # libyaml's C parser; the pure-Python one behaves the same, only slower.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

# Values one file may expand to once aliases are followed: a "billion laughs" file
# stops here instead of eating memory.
MAX_VALUES = 50_000
MAX_DEPTH = 50

Path_ = tuple[str | int, ...]
_TAG = "tag:yaml.org,2002:"
# Plain decimals only: no exponent (yamllint's forbid-scientific-notation, which
# `validate --deep` runs over the inputs), no base 60, octal or hex.
_DECIMAL = re.compile(r"^[-+]?(0|[1-9][0-9]*|[0-9]*\.[0-9]+|[0-9]+\.[0-9]*)$|^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$")
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}


@dataclass(frozen=True)
class Document:
    """One loaded YAML file: its data and the 1-based (line, column) of every key path.

    `marks` holds where each path's key is written (an item's own place for list items);
    `value_marks` where a scalar value is, for problems about the value itself.
    """

    file: str
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict, compare=False, hash=False)
    value_marks: dict[Path_, tuple[int, int]] = field(default_factory=dict, compare=False, hash=False)

    def mark(self, path: Path_) -> tuple[int, int]:
        """Where `path` (or its nearest existing parent) is written in the file."""
        path = tuple(path)
        while path not in self.marks and path:
            path = path[:-1]
        return self.marks.get(path, (1, 1))

    def problem(self, path: Path_, message: str, hint: str = "", *, at_value: bool = False) -> Problem:
        """A problem at `path`'s key, or (at_value) at its scalar value when it has one."""
        line, col = self.value_marks.get(tuple(path)) or self.mark(path) if at_value else self.mark(path)
        return Problem(self.file, line, col, dotted(path), message, hint)


class _State:
    """One parse: the file, marks found so far, problems, and the alias budget."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.marks: dict[Path_, tuple[int, int]] = {}
        self.value_marks: dict[Path_, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.left = MAX_VALUES
        self.over = False
        self.scalars = yaml.constructor.SafeConstructor()

    def add(self, node: yaml.Node, path: Path_, message: str, hint: str) -> None:
        line, col = _where(node)
        self.problems.append(Problem(self.file, line, col, dotted(path), message, hint))

    def spend(self, node: yaml.Node, path: Path_, depth: int) -> bool:
        """Count one value; False (and one problem, the first time) once a limit is passed."""
        self.left -= 1
        if self.left >= 0 and depth <= MAX_DEPTH:
            return True
        if not self.over:
            self.over = True
            what = (f"nesting deeper than {MAX_DEPTH} levels (does an alias refer to itself?)" if depth > MAX_DEPTH
                    else f"the document expands to more than {MAX_VALUES} values once aliases are followed")
            line, col = _where(node)
            self.problems.append(Problem(self.file, line, col, dotted(path[:8]) + ("..." if len(path) > 8 else ""), what,
                                         "anchors and aliases (&x / *x) are expanded: write the values out instead"))
        return False


# The message for a file with more than one YAML document (multi-document readers split on it).
SECOND_DOCUMENT = "a file holds one YAML document, but a second one starts here"


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document strictly. Raises ProblemsError (never a yaml exception)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        raise ProblemsError([_syntax_problem(e, file, text)]) from None
    except yaml.reader.ReaderError as e:
        before = text[: e.position] if isinstance(e.position, int) else ""
        line, col = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        raise ProblemsError([Problem(file, line, col, "", f"invalid YAML: {e.reason}",
                                     "remove control characters; only printable text is accepted")]) from None
    except yaml.YAMLError as e:
        first_line = str(e).splitlines()[0] if str(e) else "unreadable"
        raise ProblemsError([Problem(file, 1, 1, "", f"invalid YAML: {first_line}", "")]) from None
    if node is None:
        return Document(file, None, {(): (1, 1)})
    state = _State(file)
    data = _construct(node, (), state, 0)
    if state.problems:
        raise ProblemsError(state.problems)
    return Document(file, data, state.marks, state.value_marks)


# parse_simple: the fast path for the simplest files. Lines are comments or `key: value`
# (plain ASCII keys; one-line plain or quoted values without escapes, flow lists of plain
# words, or nothing before a nested mapping), spaces only. Anything else is left to parse_yaml.
_SIMPLE_LINE = re.compile(r"( *)([A-Za-z_][A-Za-z0-9_-]*):(?:( +)(.*))?")
_SIMPLE_PLAIN = re.compile(r"(?:[A-Za-z0-9_./+~]|-[0-9.])(?:[A-Za-z0-9_./+~ :-]*[A-Za-z0-9_./+~-])?")
_SIMPLE_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_SIMPLE_QUOTED = re.compile(r"'([^']*)'")
_SIMPLE_DOUBLE = re.compile(r'"([^"\\]*)"')  # no escapes: the text is what is written
_SIMPLE_LIST = re.compile(r"\[(?:[A-Za-z0-9_./+~-]+(?:, [A-Za-z0-9_./+~-]+)*)?\]")  # plain items, ", " apart
_SIMPLE_ITEM = re.compile(r"[A-Za-z0-9_./+~-]+")
_NOT_PRINTABLE = re.compile(r"[^\n\x20-\x7e]")  # tabs, CR, control and non-ASCII characters: parse_yaml's
_RESOLVER = yaml.resolver.Resolver()
_RESOLVED_FIRST = None if None in _RESOLVER.yaml_implicit_resolvers else frozenset(_RESOLVER.yaml_implicit_resolvers)
_SIMPLE_DEPTH = 16
_SIMPLE_LINES = 1000
_NOT_SIMPLE = object()


def parse_simple(text: str, file: str) -> Document | None:
    """What parse_yaml(text, file) returns (data, marks and value marks alike) when the text
    is a block mapping of the simplest kind, as a tenant.yaml is; else None, and parse_yaml
    is the one to read it. About five times faster: read many such files with it (the
    peers a PR gate validates against) and leave every other file to parse_yaml."""
    if _NOT_PRINTABLE.search(text):
        return None
    data: dict[str, Any] = {}
    marks: dict[Path_, tuple[int, int]] = {}
    value_marks: dict[Path_, tuple[int, int]] = {}
    stack: list[tuple[int, dict[str, Any], Path_]] = [(0, data, ())]  # the open mappings, innermost last
    pending: tuple[int, Path_, dict[str, Any], str] | None = None  # a key whose value is on the next lines
    lines = text.split("\n")
    if len(lines) > _SIMPLE_LINES:
        return None  # far below MAX_VALUES: parse_yaml counts values, this does not
    for number, line in enumerate(lines, 1):
        content = line.lstrip(" ")
        if not content or content[0] == "#":
            continue
        m = _SIMPLE_LINE.fullmatch(line)
        if m is None:
            return None
        indent, key = len(m[1]), m[2]
        if pending is not None:
            above, path, parent, name = pending
            if indent <= above or len(stack) >= _SIMPLE_DEPTH:
                return None  # a null, or deep nesting
            parent[name] = {}
            stack.append((indent, parent[name], path))
            pending = None
        while indent < stack[-1][0]:
            stack.pop()
        if indent != stack[-1][0]:
            return None
        _, mapping, path = stack[-1]
        if key in mapping:
            return None
        path = (*path, key)
        marks.setdefault((), (number, 1))
        marks[path] = (number, indent + 1)
        raw = m[4]
        if not raw:
            pending = (indent, path, mapping, key)
            mapping[key] = None  # its place among the keys; the mapping replaces it
            continue
        column = indent + len(key) + 1 + len(m[3]) + 1
        value = _simple_value(raw, path, number, column, marks, value_marks)
        if value is _NOT_SIMPLE:
            return None
        mapping[key] = value
    if pending is not None or not marks:
        return None
    return Document(file, data, marks, value_marks)


def _simple_value(raw: str, path: Path_, line: int, column: int, marks: dict[Path_, tuple[int, int]],
                  value_marks: dict[Path_, tuple[int, int]]) -> Any:
    """A one-line value: a scalar, or a flow list of plain scalars (`[a, b]`); or _NOT_SIMPLE."""
    if raw[0] != "[":
        value_marks[path] = (line, column)
        return _simple_scalar(raw, path, line, column)
    if not _SIMPLE_LIST.fullmatch(raw):
        return _NOT_SIMPLE
    items: list[Any] = []
    for found in _SIMPLE_ITEM.finditer(raw):
        at = (*path, len(items))
        marks[at] = value_marks[at] = (line, column + found.start())
        item = _simple_scalar(found[0], at, line, column + found.start())
        if item is _NOT_SIMPLE:
            return _NOT_SIMPLE
        items.append(item)
    return items


def _simple_scalar(raw: str, path: Path_, line: int, column: int) -> Any:
    """The value of a one-line plain or quoted scalar (no escapes), as _scalar reads it, or _NOT_SIMPLE."""
    if raw[0] in "'\"":
        quoted = (_SIMPLE_QUOTED if raw[0] == "'" else _SIMPLE_DOUBLE).fullmatch(raw)
        return quoted[1] if quoted else _NOT_SIMPLE
    if not _SIMPLE_PLAIN.fullmatch(raw) or ": " in raw:
        return _NOT_SIMPLE
    if _RESOLVED_FIRST is not None and raw[0] not in _RESOLVED_FIRST:
        return raw  # no implicit type starts with this character: text
    if _SIMPLE_INT.fullmatch(raw):
        return int(raw)  # what YAML's int reads a plain decimal as
    tag = _RESOLVER.resolve(yaml.ScalarNode, raw, (True, False))  # type: ignore[no-untyped-call]
    if tag == _TAG + "str":
        return raw
    state = _State("")
    value = _scalar(yaml.ScalarNode(tag, raw, start_mark=yaml.Mark("", 0, line - 1, column - 1, None, 0)), path, state)
    return _NOT_SIMPLE if state.problems else value


def _syntax_problem(e: yaml.MarkedYAMLError, file: str, text: str) -> Problem:
    problem, context = e.problem or "", e.context or ""
    # An unclosed quote is found at the end of the file; the quote itself is the mistake.
    unclosed = "quoted scalar" in context and "end of stream" in problem
    mark = e.context_mark if unclosed and e.context_mark else e.problem_mark or e.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if "another document" in problem:
        return Problem(file, line, col, "", SECOND_DOCUMENT,
                       "remove the `---` line and merge the two parts")
    message = f"invalid YAML: {problem}" + (f" ({context})" if context and problem else context)
    return Problem(file, line, col, "", message, _syntax_hint(problem, context, text, line))


def _syntax_hint(problem: str, context: str, text: str, line: int) -> str:
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in here[: len(here) - len(here.lstrip())] or "'\\t'" in problem:
        return "YAML indents with spaces, not tabs"
    if "quoted scalar" in context and "end of stream" in problem:
        return "close the quote opened here"
    if "escape" in problem:
        return "inside double quotes write \\\\ for a backslash, or use single quotes"
    indentation = _indentation_hint(lines, line) or _list_item_hint(lines, line)
    if indentation and ("mapping values are not allowed" in problem or "expected <block end>" in problem
                        or "expected key" in problem):
        return indentation
    if "mapping values are not allowed" in problem:
        return "a value containing ': ' must be quoted, e.g. key: \"a: b\""
    if "undefined alias" in problem:
        return "a value starting with '*' must be quoted, e.g. \"*.example.com\""
    if "cannot start any token" in problem:
        return "a value starting with @, ` or % must be quoted"
    if "flow" in context:
        return "check the brackets: every [ needs a ] and every { a }"
    return "check indentation and quoting near this line"


_KEY_LINE = re.compile(r"^( *)(- )?([^\s#'\"][^:#]*?|'[^']*'|\"[^\"]*\"):( |$)")


def _indentation_hint(lines: list[str], line: int) -> str:
    """An indentation hint when line `line` is deeper than the key line above it (and that key has a
    value, so nothing can nest under it) or matches no enclosing key's indentation; else ''."""
    here = _KEY_LINE.match(lines[line - 1]) if 0 < line <= len(lines) else None
    if here is None:
        return ""
    depth = len(here.group(1))
    above = [(n, m) for n, m in ((n, _KEY_LINE.match(lines[n - 1])) for n in range(line - 1, 0, -1)) if m]
    if not above:
        return ""
    n, prev = above[0]
    has_value = lines[n - 1][prev.end():].split("#")[0].strip() != ""
    if depth > len(prev.group(1)) and has_value:
        return (f"indentation: this line is indented deeper than `{prev.group(3).strip()}` on line {n}, which has a "
                f"value and so cannot hold settings; indent it by {len(prev.group(1))} spaces like its siblings")
    depths = {len(m.group(1)) for _, m in above}
    if depth < len(prev.group(1)) and depth not in depths:
        return (f"indentation: this line is indented by {depth} spaces and `{prev.group(3).strip()}` on line {n} by "
                f"{len(prev.group(1))}; settings of one block line up, so indent both alike")
    return ""


def _list_item_hint(lines: list[str], line: int) -> str:
    """An indentation hint when line `line` is a list item not lined up with the item above it."""
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if not here.lstrip().startswith("- "):
        return ""
    depth = len(here) - len(here.lstrip())
    for n in range(line - 1, 0, -1):
        text = lines[n - 1]
        if text.lstrip().startswith("- "):
            other = len(text) - len(text.lstrip())
            if other != depth:
                return (f"indentation: this list item is indented by {depth} spaces and the one on line {n} by "
                        f"{other}; items of one list line up")
            return ""
        if text.strip() and not text.lstrip().startswith("#"):
            return ""
    return ""


def _where(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _construct(node: yaml.Node, path: Path_, state: _State, depth: int) -> Any:
    state.marks.setdefault(path, _where(node))
    if not state.spend(node, path, depth):
        return None
    if isinstance(node, yaml.MappingNode):
        if node.tag != _TAG + "map":
            return _tag_problem(node, path, state)
        return _mapping(node, path, state, depth)
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _TAG + "seq":
            return _tag_problem(node, path, state)
        return [_construct(item, path + (i,), state, depth + 1) for i, item in enumerate(node.value)]
    state.value_marks[path] = _where(node)
    return _scalar(node, path, state)


def _mapping(node: yaml.MappingNode, path: Path_, state: _State, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _TAG + "merge":
            state.add(key_node, path, "merge keys (<<) are not supported",
                      "write the keys out in full; merged values hide where a setting comes from")
            continue
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _SCALAR_TAGS:
            state.add(key_node, path, "keys must be plain strings", "a key is a plain word followed by ': '")
            continue
        key = str(key_node.value)
        if any(unicodedata.category(c) in ("Cc", "Cf") for c in key):
            # "MONGO_URI\n" or a zero-width character would slip past exact-name rules.
            state.add(key_node, path, f"key {key!r} contains a control or invisible character",
                      "keys are plain words: remove the escape or invisible character")
            continue
        if key in out:
            first = state.marks[path + (key,)]
            state.add(key_node, path + (key,), f"duplicate key {key!r}", f"it is already set on line {first[0]}; keep one")
            continue
        state.marks[path + (key,)] = _where(key_node)
        out[key] = _construct(value_node, path + (key,), state, depth + 1)
    return out


def _scalar(node: yaml.Node, path: Path_, state: _State) -> Any:
    if node.tag == _TAG + "timestamp":
        # Dates are plain text to us; keep what the user wrote.
        return str(node.value)
    if node.tag not in _SCALAR_TAGS:
        return _tag_problem(node, path, state)
    try:
        value = state.scalars.construct_object(node)
    except Exception:  # noqa: BLE001 - PyYAML's scalar constructors fail in many ways ('!!int ' is an IndexError)
        kind = node.tag.removeprefix(_TAG)
        state.add(node, path, f"{str(node.value)[:40]!r} cannot be read as {kind}",
                  f"write a valid {kind}, or quote the value to make it text")
        return None
    if isinstance(value, bool) and str(node.value).lower() not in ("true", "false"):
        # YAML 1.1 reads yes/no/on/off/y/n as booleans; YAML 1.2 and most tools do not.
        word = "true" if value else "false"
        in_env = len(path) >= 2 and path[-2] == "env"  # env values are text: the environment holds strings
        state.add(node, path, f"{node.value!r} is read by YAML 1.1 as {word}",
                  f'quote it: {path[-1]}: "{node.value}"' if in_env
                  else f"write {word}, or quote it (\"{node.value}\") if you meant text")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not _DECIMAL.match(str(node.value)):
        # YAML 1.1 reads 1:30 as 90 (base 60), 010 as 8 and 0x10 as 16: surprising in a config file.
        plain = format(Decimal(str(value)), "f") if isinstance(value, float) else str(value)
        state.add(node, path, f"{node.value!r} is read by YAML as {value}",
                  f"write plain decimal ({plain[:24]}{'...' if len(plain) > 24 else ''}), or quote it if you meant text")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        state.add(node, path, f"{node.value!r} is not a finite number", "write an ordinary number")
        return None
    return value


def _tag_problem(node: yaml.Node, path: Path_, state: _State) -> None:
    state.add(node, path, f"YAML tag {node.tag!r} is not allowed",
              "remove the tag; only plain strings, numbers, booleans, lists and mappings are accepted")
