"""The README's Layout section matches the tree: every path it names exists, and it names every package and every
top-level folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP_LEVEL = ("rag", "api", "evals", "tests", "bench", "corpus", "prompts", "docs")
PACKAGE_ROOTS = ("rag", "api", "evals")
LINE = re.compile(r"^(?P<indent> *)(?P<path>\S+)(?: {2,}\S.*)?$")


def layout_block(readme: str) -> str:
    """The code block of the README's Layout section."""
    section = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    assert section, "README.md has no '## Layout' section"
    block = re.search(r"^```\n(.*?)^```", section.group(1), re.M | re.S)
    assert block, "the Layout section has no code block"
    return block.group(1)


def named_paths(block: str) -> list[str]:
    """Each line names one path, indented two spaces under its folder; folders end with '/'."""
    parents: list[str] = []
    paths = []
    for number, line in enumerate(block.splitlines(), 1):
        if not line.strip():
            continue
        match = LINE.match(line)
        assert match, f"Layout line {number} is not 'path  description': {line!r}"
        depth, odd = divmod(len(match["indent"]), 2)
        assert not odd and depth <= len(parents), f"Layout line {number} is not indented under a folder: {line!r}"
        del parents[depth:]
        path = "".join(parents) + match["path"]
        paths.append(path)
        if path.endswith("/"):
            parents.append(match["path"])
    return paths


@pytest.fixture(scope="module")
def paths() -> list[str]:
    return named_paths(layout_block((ROOT / "README.md").read_text(encoding="utf-8")))


def test_every_named_path_exists(paths: list[str]) -> None:
    missing = [path for path in paths
               if not ((ROOT / path).is_dir() if path.endswith("/") else (ROOT / path).is_file())]
    assert not missing, f"README.md's Layout names paths that do not exist: {missing}"


def test_every_package_and_top_level_folder_is_named(paths: list[str]) -> None:
    packages = sorted(f"{init.parent.relative_to(ROOT).as_posix()}/" for root in PACKAGE_ROOTS
                      for init in (ROOT / root).rglob("__init__.py") if "__pycache__" not in init.parts)
    wanted = [f"{folder}/" for folder in TOP_LEVEL] + packages
    unnamed = [folder for folder in wanted if folder not in paths]
    assert not unnamed, f"README.md's Layout does not name these folders: {unnamed}"


def test_the_parser_reads_nesting() -> None:
    block = "rag/      the library\n  text/   words\n    deep/\n  cli.py  commands\napi/\n"
    assert named_paths(block) == ["rag/", "rag/text/", "rag/text/deep/", "rag/cli.py", "api/"]
