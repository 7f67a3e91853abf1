"""Words a text holds that a claim must keep: lettered members of a family ("vitamin D", "hepatitis B")."""

from __future__ import annotations

from rag.text.terms import designated


def test_lettered_members_of_a_family_are_read_with_their_letters() -> None:
    assert designated("Vitamins A and D have known harms") == {("vitamin", "A"), ("vitamin", "D")}
    assert designated("vitamins A, C and E; hepatitis B virus") == {("vitamin", "A"), ("vitamin", "C"),
                                                                   ("vitamin", "E"), ("hepatitis", "B")}
    assert designated("a vitamin and a mineral; grade B; (D recommendation)") == frozenset()
