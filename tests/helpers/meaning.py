"""The hash embedder's own calibration of judgments by meaning, for tests that build settings with it."""

from __future__ import annotations

HASH_MEANING = {"addresses": 0.25, "clearly": 0.4, "section_floor": 1.0}
"""The hash embedder's cosines run lower than the packaged model's (bag-of-words, 256 buckets): a passage sharing
half a question's words scores ~0.5, one sharing only "the" and "for" ~0.2. Its own calibration, as a real model would
have. The section floor is off: bag-of-words closeness does not say which section answers better, so a test of
anything else would turn on a word shared or not; a test of the floor sets it itself."""
