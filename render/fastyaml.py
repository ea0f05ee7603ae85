"""Plain-data YAML on libyaml, with PyYAML's safe semantics and bytes, minus its overhead.

The renderer parses every rendered template back into objects and dumps every object
again; at fleet scale PyYAML's generic Python layers (path resolvers, alias bookkeeping,
the representer's type dispatch) cost more than libyaml's own work. These functions
give the same results as `yaml.load_all(text, CSafeLoader)` and `yaml.dump(obj,
CSafeDumper)` for plain data (dict, list, str, int, float, bool, None) and hand anything
else to PyYAML unchanged. tests/unit/test_fastyaml.py holds them to that, value for value.
Pure: no I/O, no state between calls.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:
    from yaml import CSafeDumper as _BaseDumper
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - the pure-Python classes behave the same, slower
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_T = "tag:yaml.org,2002:"
STR, MAP, SEQ = _T + "str", _T + "map", _T + "seq"
INT, FLOAT, BOOL, NULL = _T + "int", _T + "float", _T + "bool", _T + "null"
_DEFAULT_TAGS = {ScalarNode: STR, SequenceNode: SEQ, MappingNode: MAP}


@functools.lru_cache(maxsize=1 << 16)
def _plain_tag(value: str) -> str:
    """The implicit tag of a plain scalar: exactly BaseResolver.resolve's rule (a pure function,
    so memoised: the same keys and values recur in every object)."""
    resolvers = yaml.resolver.Resolver.yaml_implicit_resolvers
    for tag, regexp in resolvers.get(value[0] if value else "", []) + resolvers.get(None, []):
        if regexp.match(value):
            return str(tag)
    return STR


class _LeanResolve:
    """PyYAML's resolver without path resolvers (we register none), so per-node calls are cheap."""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is ScalarNode and implicit[0]:
            return _plain_tag(value)
        return _DEFAULT_TAGS[kind]


class _Loader(_LeanResolve, _BaseLoader):
    pass


class _Dumper(_LeanResolve, _BaseDumper):
    """CSafeDumper; plain data is represented without alias bookkeeping or type dispatch."""

    literal_blocks = False

    def __init__(self, stream: Any, **options: Any) -> None:
        super().__init__(stream, **options)
        # libyaml keeps these in C; the event path below needs them too.
        self.document = {k: options.get(k) for k in ("explicit_start", "explicit_end", "version", "tags", "canonical")}

    def represent(self, data: Any) -> None:
        try:
            if self.sort_keys or self.default_style is not None:
                raise _NotPlain
            if self.default_flow_style is not None and not self.document["canonical"]:
                # Straight to libyaml's emitter: no node tree, no second walk, no resolver calls.
                events: list[Any] = []
                _events(data, self, events, set())
                self._emit_document(events)
                return
            node = _node(data, self, set())
        except _NotPlain:
            node = self.represent_data(data)  # PyYAML's own path (aliases, other types, options)
        self.serialize(node)
        self.represented_objects = {}
        self.object_keeper = []
        self.alias_key = None

    def _emit_document(self, events: list[Any]) -> None:
        d = self.document
        self.emit(DocumentStartEvent(explicit=d["explicit_start"], version=d["version"], tags=d["tags"]))
        for event in events:
            self.emit(event)
        self.emit(DocumentEndEvent(explicit=d["explicit_end"]))


class _BlockDumper(_Dumper):
    """Multi-line strings as literal blocks, so embedded configs stay readable in diffs."""

    literal_blocks = True


def _str_style(value: str) -> str | None:
    return "|" if "\n" in value and not value.endswith(" ") else None


def _represent_block_str(dumper: _BlockDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar(STR, value, style=_str_style(value))


_BlockDumper.add_representer(str, _represent_block_str)


class _NotPlain(Exception):
    """The object holds something the lean path does not represent (or one object twice)."""


def _node(data: Any, dumper: Any, seen: set[int]) -> Node:
    kind = type(data)
    if kind is str:
        return ScalarNode(STR, data, style=_str_style(data) if dumper.literal_blocks else None)
    if kind is dict:
        _once(data, seen)
        pairs = [(_node(k, dumper, seen), _node(v, dumper, seen)) for k, v in data.items()]
        return MappingNode(MAP, pairs, flow_style=_flow(dumper, pairs))
    if kind is list:
        _once(data, seen)
        items = [_node(v, dumper, seen) for v in data]
        return SequenceNode(SEQ, items, flow_style=_flow(dumper, items))
    if kind is bool:
        return ScalarNode(BOOL, "true" if data else "false")
    if kind is int:
        return ScalarNode(INT, str(data))
    if data is None:
        return ScalarNode(NULL, "null")
    if kind is float:
        return dumper.represent_float(data)  # type: ignore[no-any-return]
    raise _NotPlain


def _events(data: Any, dumper: Any, out: list[Any], seen: set[int]) -> None:
    """The events PyYAML's serializer would emit for `data` (block or flow style fixed)."""
    _walk(data, dumper, bool(dumper.literal_blocks), bool(dumper.default_flow_style), out, seen)


def _walk(data: Any, dumper: Any, literal: bool, flow: bool, out: list[Any], seen: set[int]) -> None:
    kind = type(data)
    if kind is str:
        # Short strings (keys, names, enum values) recur endlessly; long ones are unique.
        out.append(_str_event(data, literal) if len(data) <= 80 else _str_event.__wrapped__(data, literal))
    elif kind is dict:
        _once(data, seen)
        out.append(_MAPPING_START[flow])
        for key, value in data.items():
            _walk(key, dumper, literal, flow, out, seen)
            _walk(value, dumper, literal, flow, out, seen)
        out.append(_MAPPING_END)
    elif kind is list:
        _once(data, seen)
        out.append(_SEQUENCE_START[flow])
        for value in data:
            _walk(value, dumper, literal, flow, out, seen)
        out.append(_SEQUENCE_END)
    elif kind is bool or kind is int or data is None:
        out.append(_constant_event(data))
    elif kind is float:
        node = dumper.represent_float(data)
        out.append(ScalarEvent(None, node.tag, (_plain_tag(node.value) == node.tag, False), node.value))
    else:
        raise _NotPlain


# Events are only read by the emitter, so equal ones can be shared between dumps.
_MAPPING_START = {flow: MappingStartEvent(None, MAP, True, flow_style=flow) for flow in (False, True)}
_SEQUENCE_START = {flow: SequenceStartEvent(None, SEQ, True, flow_style=flow) for flow in (False, True)}
_MAPPING_END, _SEQUENCE_END = MappingEndEvent(), SequenceEndEvent()


@functools.lru_cache(maxsize=1 << 16)
def _str_event(value: str, literal: bool) -> ScalarEvent:
    style = _str_style(value) if literal else None
    return ScalarEvent(None, STR, (_plain_tag(value) == STR, True), value, style=style)


@functools.lru_cache(maxsize=1 << 12, typed=True)  # typed: True, 1 and 1.0 are different scalars
def _constant_event(data: bool | int | None) -> ScalarEvent:
    node = _node(data, None, set())
    return ScalarEvent(None, node.tag, (_plain_tag(node.value) == node.tag, False), node.value)


def _once(data: Any, seen: set[int]) -> None:
    if id(data) in seen:
        raise _NotPlain  # PyYAML would write an anchor and an alias
    seen.add(id(data))


def _flow(dumper: Any, children: list[Any]) -> bool:
    if dumper.default_flow_style is not None:
        return bool(dumper.default_flow_style)
    # PyYAML's "best style": flow only when every child is a plain scalar.
    nodes = [n for c in children for n in (c if isinstance(c, tuple) else (c,))]
    return all(isinstance(n, ScalarNode) and not n.style for n in nodes)


def dump(data: Any, *, literal_blocks: bool = False, **options: Any) -> str:
    """yaml.dump(data, Dumper=CSafeDumper, **options); optionally multi-line strings as `|` blocks."""
    return str(yaml.dump(data, Dumper=_BlockDumper if literal_blocks else _Dumper, **options))


def load_all(text: str) -> Iterator[Any]:
    """yaml.load_all(text, Loader=CSafeLoader)."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # check_node said there is one
                break
            try:
                data = _value(loader, node, set())
            except _NotPlain:
                data = None
            else:
                loader.constructed_objects = {}
                yield data
                continue
            yield loader.construct_document(node)
    finally:
        loader.dispose()


def _value(loader: Any, node: Node, seen: set[int]) -> Any:
    tag, kind = node.tag, type(node)
    if kind is ScalarNode:
        # Numbers, booleans, null, timestamps: PyYAML's own scalar constructors.
        return node.value if tag == STR else loader.construct_object(node)
    if id(node) in seen:
        raise _NotPlain  # an alias: PyYAML gives one shared object
    seen.add(id(node))
    if tag == MAP and kind is MappingNode:
        out = {}
        for key_node, value_node in node.value:
            if key_node.tag == _T + "merge":
                raise _NotPlain  # merge keys: PyYAML's rules
            key = _value(loader, key_node, seen)
            if not isinstance(key, (str, int, float, bool, type(None))):
                raise _NotPlain  # complex keys: PyYAML's rules
            out[key] = _value(loader, value_node, seen)
        return out
    if tag == SEQ and kind is SequenceNode:
        return [_value(loader, item, seen) for item in node.value]
    raise _NotPlain
