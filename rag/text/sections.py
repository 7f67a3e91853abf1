"""What a section of a publication is for, from its title: results, conclusions and recommendations state what
was found or advised; methods and background set the scene. Used to lead answers with findings."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

Role = Literal["conclusion", "result", "method", "background"]

_ROLES: tuple[tuple[Role, re.Pattern[str]], ...] = (
    ("background", re.compile(r"definition|levels? of certainty|rating scheme", re.IGNORECASE)),  # before "grade"
    ("conclusion", re.compile(r"conclusion|interpretation|implication|summary|key (?:point|finding|statement)|"
                              r"recommendation|bottom line|main message", re.IGNORECASE)),
    ("result", re.compile(r"result|finding|outcome|efficacy|effect|harm|adverse|safety|evidence", re.IGNORECASE)),
    ("method", re.compile(r"method|design|participant|patient|setting|intervention|population|measure|procedure|"
                          r"protocol|search|selection|data|analysis|sample", re.IGNORECASE)),
    ("background", re.compile(r"background|introduction|objective|aim|purpose|context|rationale|scope|overview|"
                              r"definition|description", re.IGNORECASE)),
)


@lru_cache(maxsize=512)
def section_role(title: str) -> Role | None:
    """The role of a section named ``title`` (the first role whose words it contains; in "<field>: <heading>" the
    heading's first, then the field's), or None. Under a field that states findings, a heading whose words read as
    methods ("Patients Who Refuse Care", "Screening Methods") names the topic of its findings: the field's role holds.
    Definitions of grades and rating schemes are background, whatever else their title names ("Rating scheme for the
    strength of the recommendations")."""
    field, _, heading = title[:200].rpartition(": ")
    own = _role(heading)
    if not field:
        return own
    given = _role(field)
    if own == "method" and given in ("conclusion", "result"):
        return given  # "Recommendations: Interventions for Tobacco Cessation" names a topic, not a methods section
    return own or given


def _role(part: str) -> Role | None:
    for role, pattern in _ROLES:
        if pattern.search(part):
            return role
    return None


def states_findings(title: str) -> bool:
    """A section of results, conclusions or recommendations."""
    return section_role(title) in ("conclusion", "result")


def describes(title: str) -> bool:
    """A section of methods or background: it describes the study, and states no result."""
    return section_role(title) in ("method", "background")
