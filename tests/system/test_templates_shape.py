"""Templates carry shape only: every value they print is computed in Python.

Each base/ template is parsed with Jinja's own parser (the renderer's environment) and its
expressions are walked: a list, tuple or dict literal, arithmetic, a method call or a filter
that computes is a value typed into the template, and belongs in render/context.py (or the
module that owns it), where footprint, checks and the other templates can share it.
"""

from __future__ import annotations

from collections.abc import Iterator

import jinja2
import pytest
from jinja2 import nodes

from render import layout, templates
from render.load import read_templates
from tests.support import ROOT

# Filters that only format a value the context computed, with why each is allowed.
FORMATTING_FILTERS = {
    "j": "the JSON filter every value goes through (render/templates.py)",
    "indent": "re-indents a {% set %} block reused at another depth",
    "string": "prints a number where Kubernetes wants a string (annotation, env value, rayStartParams)",
}
# Methods a template may call: iterating a mapping the context built.
ALLOWED_METHODS = {"items": "iterates a mapping's keys and values in the context's order"}
ARITHMETIC = (nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv, nodes.Mod, nodes.Pow, nodes.Neg, nodes.Pos)
LITERALS = (nodes.List, nodes.Tuple, nodes.Dict)


def _sources() -> dict[str, str]:
    """Every template the renderer reads (base/ and each cloud's base/clouds/<cloud>/), by its
    path under base/."""
    return {name.removeprefix(layout.BASE_DIR + "/"): text for name, text in read_templates(ROOT).items()}


def _walk(node: nodes.Node) -> Iterator[nodes.Node]:
    yield node
    for child in node.iter_child_nodes():
        yield from _walk(child)


def _is_target(node: nodes.Node) -> bool:
    """`key, value` of a for loop: names being assigned, not a value."""
    return isinstance(node, nodes.Tuple) and node.ctx == "store"


def violations(name: str, source: str) -> list[str]:
    """What in one template is computation rather than shape, as `template:line: what`."""
    tree = templates.environment({name: source}).parse(source, name=name)
    out = []
    for node in _walk(tree):
        what = ""
        if isinstance(node, LITERALS) and not _is_target(node):
            what = f"a {type(node).__name__.lower()} literal"
        elif isinstance(node, ARITHMETIC):
            what = f"arithmetic ({type(node).__name__})"
        elif isinstance(node, nodes.Filter) and node.name not in FORMATTING_FILTERS:
            what = f"the filter `{node.name}`"
        elif isinstance(node, nodes.Call) and not (isinstance(node.node, nodes.Getattr) and node.node.attr in ALLOWED_METHODS):
            what = "a call"
        if what:
            out.append(f"{layout.BASE_DIR}/{name}:{node.lineno}: {what}; compute the value in Python and pass it in the context")
    return out


def test_every_base_template_carries_shape_only() -> None:
    sources = _sources()
    assert len(sources) >= 15  # every template of base/, not an empty glob
    found = [v for name, text in sources.items() for v in violations(name, text)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("snippet", "what"), [
    ("{% for m in ['enforce', 'audit'] %}{{ m | j }}{% endfor %}", "a list literal"),
    ("{{ {'cpu': x.cpu} | j }}", "a dict literal"),
    ("{% for a, b in [(x, 'copy')] %}{% endfor %}", "a tuple literal"),
    ("{{ (x.memory * 90) | j }}", "arithmetic (Mul)"),
    ("{{ (x - 30) | j }}", "arithmetic (Sub)"),
    ("{{ (x // 2) | j }}", "arithmetic (FloorDiv)"),
    ("{{ x | int | j }}", "the filter `int`"),
    ("{{ x | join(',') | j }}", "the filter `join`"),
    ("{{ x | round | j }}", "the filter `round`"),
    ("{{ x.split('/') | j }}", "a call"),
])
def test_the_check_finds_computation(snippet: str, what: str) -> None:
    found = violations("t.yaml.j2", "a: b\nc: " + snippet + "\n")
    assert any(f"base/t.yaml.j2:2: {what};" in v for v in found), found


def test_the_check_leaves_shape_alone() -> None:
    snippet = ("{% set block %}\n  - [a, b]\n{% endset %}\n"
               "{% for key, value in x.items() if key != 'y' %}\n{{ key | j }}: {{ value | string | j }}\n{% endfor %}\n"
               "{% if x.flag %}\n{{ block | indent(2, first=True) }}{{ ('a-' ~ x.name) | j }}\n{% endif %}\n")
    assert violations("t.yaml.j2", snippet) == []


def test_a_template_the_check_cannot_parse_fails_loudly() -> None:
    with pytest.raises(jinja2.TemplateSyntaxError):
        violations("t.yaml.j2", "{% for %}")
