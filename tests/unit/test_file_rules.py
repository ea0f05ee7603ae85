"""render/validate/file_rules.py and fleet_rules.py: single-file and fleet checks, on documents built in memory."""

from __future__ import annotations

import pytest

from render.validate import file_rules, fleet_rules
from render.yamlstrict import Document, parse_yaml


@pytest.mark.parametrize("value, what, pod, message", [
    ("8Gi", "memory", True, None),
    ("500m", "cpu", True, None),
    (0, "memory", False, None),  # an extractor may reserve no memory
    ("8GB", "memory", False, "'8GB' is not a Kubernetes quantity"),
    ("2 cores", "cpu", True, "'2 cores' is not a Kubernetes quantity"),
    ("512m", "memory", True, "'512m' means 512 thousandths of a byte"),
    (0, "cpu", True, "cpu '0' leaves the pod with nothing"),
    ("0.0001", "cpu", True, "'0.0001' is less than 1m, the smallest CPU amount"),
    (8, "memory", True, "'8' is only 8 bytes"),
    ("64Ti", "memory", True, "'64Ti' is larger than any machine"),
    (True, "memory", True, None),  # a type error: the schema reports it
])
def test_quantity_problem(value: object, what: str, pod: bool, message: str | None) -> None:
    found = file_rules.quantity_problem(value, what, pod)
    assert (found[0] if found else None) == message


def test_env_names() -> None:
    doc = parse_yaml("env:\n  OK_1: a\n  _ALSO: b\n  bad.name: c\n  9X: d\n  tenant_id: e\n", "o.yaml")
    assert [(p.line, p.message) for p in file_rules.check_env(doc, ["TENANT_ID"])] == [
        (4, "'bad.name' is not a valid environment variable name"),
        (5, "'9X' is not a valid environment variable name"),
        (6, "tenant_id is set by the platform and cannot be overridden"),
    ]


def test_fleet_conflicts_on_any_shared_name() -> None:
    a = Document("tenants/a/tenant.yaml", {}, {("name",): (3, 1)})
    b = Document("tenants/b/tenant.yaml", {}, {("name",): (4, 1)})
    c = Document("tenants/c/tenant.yaml", {}, {("name",): (5, 1)})
    found = fleet_rules.fleet_conflicts([("bucket", "dp-x", a, ("name",)), ("bucket", "dp-x", b, ("name",)),
                                    ("bucket", "dp-y", c, ("name",)), ("database", "dp_x", a, ("name",)),
                                    ("database", "dp_x", c, ("name",))])
    assert [(p.file, p.message) for p in found] == [
        ("tenants/a/tenant.yaml", "bucket 'dp-x' is also claimed by tenants/b/tenant.yaml:4"),
        ("tenants/b/tenant.yaml", "bucket 'dp-x' is also claimed by tenants/a/tenant.yaml:3"),
        ("tenants/a/tenant.yaml", "database 'dp_x' is also claimed by tenants/c/tenant.yaml:5"),
        ("tenants/c/tenant.yaml", "database 'dp_x' is also claimed by tenants/a/tenant.yaml:3"),
    ]
