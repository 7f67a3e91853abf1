from __future__ import annotations

import pytest

from rag.contract import Source
from tests.helpers.documents import make_source


@pytest.fixture
def sources() -> list[Source]:
    return [
        make_source(1, "guideline", "No exosome product is approved by the FDA. Exosome products need premarket review."),
        make_source(2, "guideline", "Microneedling devices for aesthetic use exclude delivery of drugs or biologics."),
        make_source(3, "study", "In a split-face trial of 50 patients, PRP with microneedling improved acne scars by "
                                "62.20% against 45.84% with distilled water. Few side effects were seen."),
        make_source(4, "study", "Exosome gel after fractional CO2 laser reduced ECCA scores by 32.5% versus 19.9% "
                                "for control gel (p<0.01) in 25 patients."),
    ]
