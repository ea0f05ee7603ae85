"""A rendered text seen before is not parsed again, and every caller still gets objects of
its own: the build changes what it is handed (labels, namespace)."""

from __future__ import annotations

from render import build, fastyaml

TEXT = "kind: NetworkPolicy\nmetadata:\n  name: deny-all\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n---\n"


def test_a_repeated_text_gives_equal_objects_of_their_own_every_time() -> None:
    repeats = build._Repeats()
    expected = [d for d in fastyaml.load_all(TEXT) if d is not None]
    handed = []
    for _ in range(4):
        docs = repeats.parse("base/network.yaml.j2", TEXT)
        assert docs == expected
        handed.append(docs)
        docs[0]["metadata"]["labels"] = {"changed": "by the caller"}
        docs[0]["spec"]["policyTypes"].append("Egress")
    assert repeats.seen["base/network.yaml.j2"][TEXT] == expected  # what is kept was never handed out
    ids = {id(o) for docs in handed for d in docs for o in (d, d["metadata"], d["spec"], d["spec"]["policyTypes"])}
    assert len(ids) == 4 * 4


def test_texts_that_may_share_objects_and_texts_past_the_limit_are_not_kept() -> None:
    repeats = build._Repeats()
    aliased = "a: &x [1]\nb: *x\n"
    for _ in range(3):
        [doc] = repeats.parse("t", aliased)
        assert doc["a"] is doc["b"]  # PyYAML's sharing, as without the memo
    assert aliased not in repeats.seen["t"]
    for i in range(build._Repeats.LIMIT + 5):
        repeats.parse("u", f"n: {i}\n")
    assert len(repeats.seen["u"]) == build._Repeats.LIMIT
