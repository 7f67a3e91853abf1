"""Regular expressions against adversarial inputs: every pattern the code compiles, attacked where backtracking hurts.

Python's ``re`` backtracks, holds the GIL during a match and cannot be interrupted, so one slow match on a request
stops the whole worker. ``collect_patterns`` finds every compiled pattern reachable from the modules of ``rag``,
``api`` and ``evals`` (module globals, class attributes, and the containers and objects they hold).
``adversarial_inputs`` reads a pattern's parse tree and, for every repetition in it, builds the strings that make a
backtracking engine slow: long runs of what the repetition matches (a "pump"), after what the pattern needs before
it (the "prefix"), ending in a character that makes the match fail, and the pump alone (a search then retries the
run from every position: the quadratic case of ``\\s+$``). ``run_attacks`` times them in a child process that is
killed when one match overruns its budget (a match cannot be interrupted otherwise).

``python -m tests.helpers.redos [--size N] [--budget S]`` prints the timing of every pattern's worst input.
"""

from __future__ import annotations

import importlib
import multiprocessing
import pkgutil
import re
import sys
import time
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

PACKAGES = ("rag", "api", "evals")
#: Patterns built on first use (no work at import time), by the function that builds them.
LAZY = ("rag.generate.prompting._kept_as_is",)
#: Characters tried where a pattern accepts a class of them (the first one a class accepts is its default).
UNIVERSE = (" ", "a", "A", "1", ".", "\t", "\n", ",", "-", "#", "*", "<", "[", "(", ")", "]", "_", "'", '"', ":",
            ";", "/", "é", "?", "!", "%", "=", "x", "s", "—", "\u200b", "\x00")
FAILS = ("\x00", "!", "")
MAX_PUMPS = 4


@dataclass(frozen=True)
class Attack:
    """One adversarial input: ``prefix + pump * n + suffix`` (n chosen to reach the wanted size)."""

    prefix: str
    pump: str
    suffix: str

    def build(self, size: int) -> str:
        """The input, about ``size`` characters long."""
        count = max(1, (size - len(self.prefix) - len(self.suffix)) // max(1, len(self.pump)))
        return self.prefix + self.pump * count + self.suffix

    def describe(self) -> str:
        """The input in a few characters: ``'<' + ' ' * n + '\\x00'``."""
        parts = [repr(self.prefix)] if self.prefix else []
        parts.append(f"{self.pump!r} * n")
        if self.suffix:
            parts.append(repr(self.suffix))
        return " + ".join(parts)


# -- finding the patterns ------------------------------------------------------------------------------------------
def iter_modules(packages: Iterable[str] = PACKAGES) -> Iterator[str]:
    """The names of every module of these packages."""
    for name in packages:
        package = importlib.import_module(name)
        yield name
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if not info.name.endswith(".__main__"):  # running it would run the command line
                yield info.name


def collect_patterns(packages: Iterable[str] = PACKAGES) -> dict[str, re.Pattern[str]]:
    """Every compiled ``str`` pattern reachable from these packages' modules, by a name saying where it lives."""
    found: dict[str, re.Pattern[str]] = {}
    seen_patterns: set[tuple[str, int]] = set()
    for module_name in iter_modules(packages):
        module = importlib.import_module(module_name)
        visited: set[int] = set()
        for attribute, value in list(vars(module).items()):
            if isinstance(value, types.ModuleType) or (
                    isinstance(value, (type, types.FunctionType)) and value.__module__ != module_name):
                continue  # imported from elsewhere: found in its own module
            for where, pattern in _walk(value, f"{module_name}.{attribute}", visited, depth=0):
                key = (pattern.pattern, pattern.flags)
                if isinstance(pattern.pattern, str) and key not in seen_patterns:
                    seen_patterns.add(key)
                    found[where] = pattern
    for builder in LAZY:
        module_name, _, function = builder.rpartition(".")
        found[f"{builder}()"] = getattr(importlib.import_module(module_name), function)()
    return found


def _walk(value: Any, where: str, visited: set[int], depth: int) -> Iterator[tuple[str, re.Pattern[Any]]]:
    if isinstance(value, re.Pattern):
        yield where, value
        return
    if depth > 4 or id(value) in visited or isinstance(value, (str, bytes, int, float, bool, type(None))):
        return
    visited.add(id(value))
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{where}[{key!r}]", visited, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for index, item in enumerate(value):
            yield from _walk(item, f"{where}[{index}]", visited, depth + 1)
    elif isinstance(value, type):
        if str(value.__module__).split(".")[0] in PACKAGES:  # our classes only
            for key, item in list(vars(value).items()):
                yield from _walk(item, f"{where}.{key}", visited, depth + 1)
    elif str(type(value).__module__).split(".")[0] in PACKAGES and not callable(value):
        names = list(getattr(value, "__dict__", {})) + list(getattr(type(value), "__slots__", ()))
        for key in names:
            if hasattr(value, key):
                yield from _walk(getattr(value, key), f"{where}.{key}", visited, depth + 1)


# -- building the attacks ------------------------------------------------------------------------------------------
def adversarial_inputs(pattern: re.Pattern[str]) -> list[Attack]:
    """The attacks on every repetition of ``pattern`` (deduplicated), plus runs of each universe character."""
    tree = sre_parse.parse(pattern.pattern, pattern.flags)
    builder = _Builder(pattern.flags)
    builder.visit(list(tree), "")
    attacks = dict.fromkeys(builder.attacks)
    for char in UNIVERSE[:12]:
        attacks.setdefault(Attack("", char, "\x00"))
    return list(attacks)


class _Builder:
    def __init__(self, flags: int) -> None:
        self.ignore_case = bool(flags & re.IGNORECASE)
        self.attacks: list[Attack] = []

    def visit(self, items: list[tuple[Any, Any]], prefix: str) -> str:
        """Visit a sequence after ``prefix``; returns the prefix extended by a sample of the sequence."""
        for op, av in items:
            prefix = self.visit_item(op, av, prefix)
        return prefix

    def visit_item(self, op: Any, av: Any, prefix: str) -> str:
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, body = av
            body = list(body)
            if high is sre.MAXREPEAT or high >= 2:
                for pump in self.pumps(body):
                    for suffix in FAILS:
                        self.attacks.append(Attack(prefix[-40:], pump, suffix))
                        self.attacks.append(Attack("", pump, suffix))
                    self.attacks.append(Attack("", prefix[-40:] + pump, "\x00"))
            self.visit(body, prefix)
            return prefix + self.sample(body) * max(low, 0 if high == 0 else 1)
        if op is sre.SUBPATTERN:
            return self.visit(list(av[-1]), prefix)
        if op is sre.ATOMIC_GROUP:
            return self.visit(list(av), prefix)
        if op is sre.BRANCH:
            for branch in av[1]:
                self.visit(list(branch), prefix)
            return prefix + self.sample(list(av[1][0]))
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            self.visit(list(av[1]), prefix)
            return prefix
        if op is sre.GROUPREF_EXISTS:
            self.visit(list(av[1]), prefix)
            return prefix + self.sample(list(av[1]))
        return prefix + self.sample([(op, av)])

    def pumps(self, body: list[tuple[Any, Any]]) -> list[str]:
        """Samples of one repetition of ``body``, varying the character at its first position."""
        first_choices = self.first_chars(body) or [""]
        samples = []
        for char in first_choices[:MAX_PUMPS]:
            sample = self.sample(body, first=char)
            if sample:
                samples.append(sample)
        return list(dict.fromkeys(samples))

    def first_chars(self, items: list[tuple[Any, Any]]) -> list[str]:
        for op, av in items:
            if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
                continue
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                return self.first_chars(list(av[2]))
            if op is sre.SUBPATTERN:
                return self.first_chars(list(av[-1]))
            if op is sre.ATOMIC_GROUP:
                return self.first_chars(list(av))
            if op is sre.BRANCH:
                return list(dict.fromkeys(c for branch in av[1] for c in self.first_chars(list(branch))[:2]))
            return self.chars(op, av)
        return []

    def sample(self, items: list[tuple[Any, Any]], first: str | None = None) -> str:
        """A short string the sequence matches (first branches, minimal repetitions, at least one)."""
        out: list[str] = []
        for op, av in items:
            if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
                continue
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                low, high, body = av
                count = max(low, 0 if high == 0 else 1)
                if count:
                    piece = self.sample(list(body), first if not out else None)
                    out.append(piece + self.sample(list(body)) * min(count - 1, 8))
                continue
            if op is sre.SUBPATTERN:
                out.append(self.sample(list(av[-1]), first if not out else None))
            elif op is sre.ATOMIC_GROUP:
                out.append(self.sample(list(av), first if not out else None))
            elif op is sre.BRANCH:
                chosen = list(av[1][0])
                if first is not None and not out:
                    chosen = next((list(b) for b in av[1] if first in self.first_chars(list(b))), chosen)
                out.append(self.sample(chosen, first if not out else None))
            elif op is sre.GROUPREF_EXISTS:
                out.append(self.sample(list(av[1])))
            elif op is sre.GROUPREF:
                out.append("a")
            else:
                options = self.chars(op, av)
                pick = first if (first is not None and not out and first in options) else (options[0] if options
                                                                                             else "")
                out.append(pick)
        return "".join(out)

    def chars(self, op: Any, av: Any) -> list[str]:
        """Universe characters one character-matching node accepts, in universe order (its literal first)."""
        if op is sre.LITERAL:
            char = chr(av)
            return [char]
        accepted = [c for c in UNIVERSE if self.accepts(op, av, c)]
        return accepted

    def accepts(self, op: Any, av: Any, char: str) -> bool:
        if op is sre.LITERAL:
            return self._same(chr(av), char)
        if op is sre.NOT_LITERAL:
            return not self._same(chr(av), char)
        if op is sre.ANY:
            return char != "\n"
        if op is sre.IN:
            negate = bool(av) and av[0][0] is sre.NEGATE
            items = av[1:] if negate else av
            hit = any(self._in_item(o, a, char) for o, a in items)
            return hit != negate
        if op is sre.CATEGORY:
            return self._category(av, char)
        return False

    def _in_item(self, op: Any, av: Any, char: str) -> bool:
        if op is sre.LITERAL:
            return self._same(chr(av), char)
        if op is sre.RANGE:
            low, high = av
            return low <= ord(char) <= high or (self.ignore_case and (low <= ord(char.lower()) <= high or
                                                                      low <= ord(char.upper()) <= high))
        if op is sre.CATEGORY:
            return self._category(av, char)
        return False

    def _same(self, a: str, b: str) -> bool:
        return a == b or (self.ignore_case and a.lower() == b.lower())

    @staticmethod
    def _category(category: Any, char: str) -> bool:
        tests = {
            sre.CATEGORY_DIGIT: lambda c: bool(re.match(r"\d", c)),
            sre.CATEGORY_NOT_DIGIT: lambda c: not re.match(r"\d", c),
            sre.CATEGORY_SPACE: lambda c: bool(re.match(r"\s", c)),
            sre.CATEGORY_NOT_SPACE: lambda c: not re.match(r"\s", c),
            sre.CATEGORY_WORD: lambda c: bool(re.match(r"\w", c)),
            sre.CATEGORY_NOT_WORD: lambda c: not re.match(r"\w", c),
        }
        test = tests.get(category)
        return bool(test and test(char))


# -- timing them, in a child process that can be killed ------------------------------------------------------------
@dataclass
class Timing:
    """The slowest attack on one pattern: its input, the size and the seconds (``None``: overran the budget)."""

    name: str
    attack: Attack
    size: int
    seconds: float | None


def _exercise(pattern: re.Pattern[str], text: str) -> None:
    """What the code does with patterns: a match at the start, and every match (what search, findall, sub and split
    do, and at least as slow as each of them)."""
    pattern.match(text)
    for _ in pattern.finditer(text):
        pass


PatternSpec = tuple[str, str, int]
"""A pattern to time, as it can cross to the child process: its name, its source and its flags."""


def pattern_specs(patterns: dict[str, re.Pattern[str]] | None = None) -> list[PatternSpec]:
    """The specs of these patterns (default: every pattern of the packages)."""
    found = collect_patterns() if patterns is None else patterns
    return [(name, pattern.pattern, pattern.flags) for name, pattern in found.items()]


def _child(connection: Connection, specs: list[PatternSpec], screen_size: int, size: int, top: int) -> None:
    for name, source, flags in specs:
        pattern = re.compile(source, flags)
        screened: list[tuple[float, Attack]] = []
        for attack in adversarial_inputs(pattern):
            connection.send(("start", name, attack, screen_size))
            text = attack.build(screen_size)
            started = time.perf_counter()
            _exercise(pattern, text)
            screened.append((time.perf_counter() - started, attack))
            connection.send(("screened", name, attack, screen_size))
        worst = [attack for _, attack in sorted(screened, key=lambda s: s[0], reverse=True)[:top]]
        slowest, slowest_attack = 0.0, worst[0]
        for attack in worst:
            text = attack.build(size)
            connection.send(("start", name, attack, size))
            started = time.perf_counter()
            _exercise(pattern, text)
            seconds = time.perf_counter() - started
            if seconds >= slowest:
                slowest, slowest_attack = seconds, attack
        connection.send(("done", name, slowest_attack, slowest))
    connection.send(("finished", None, None, None))


def run_attacks(specs: list[PatternSpec] | None = None, *, size: int = 1_000_000, screen_size: int = 5_000,
                budget_s: float = 10.0, top: int = 2) -> list[Timing]:
    """Time every pattern (default: all of the packages'): screen its attacks at ``screen_size`` characters, then
    run its ``top`` slowest at ``size``. A match running longer than ``budget_s`` is stopped by killing the child
    process (nothing else can stop it); its timing is ``None`` and the run goes on with the next pattern."""
    remaining = list(specs if specs is not None else pattern_specs())
    results: list[Timing] = []
    context = multiprocessing.get_context("spawn")
    while remaining:
        parent, child_end = context.Pipe()
        process = context.Process(target=_child, args=(child_end, remaining, screen_size, size, top), daemon=True)
        process.start()
        child_end.close()
        current: tuple[str, Attack, int] | None = None
        try:
            while True:
                if not parent.poll(budget_s if current is not None else 120):
                    if current is None:
                        raise RuntimeError("the regex timing process stopped answering")
                    name, attack, at_size = current
                    results.append(Timing(name, attack, at_size, None))
                    remaining = remaining[[spec[0] for spec in remaining].index(name) + 1:]
                    break
                kind, name, attack, value = parent.recv()
                if kind == "start":
                    current = (name, attack, value)
                elif kind == "screened":
                    current = None
                elif kind == "done":
                    results.append(Timing(name, attack, size, value))
                    remaining = [spec for spec in remaining if spec[0] != name]
                    current = None
                else:  # finished
                    remaining = []
                    break
        finally:
            process.kill()
            process.join()
    return results


def _calls(connection: Connection, target: str, calls: list[tuple[str, tuple[Any, ...]]]) -> None:
    module_name, _, name = target.rpartition(".")
    function = getattr(importlib.import_module(module_name), name)
    for text, extra in calls:
        started = time.perf_counter()
        function(text, *extra)
        connection.send(time.perf_counter() - started)


def time_calls(target: str, calls: list[tuple[str, tuple[Any, ...]]], budget_s: float = 10.0) -> list[float | None]:
    """Seconds that each call ``target(text, *extra)`` (a dotted name) takes, one after the other in one child
    process (one process start and one import of the target for them all, ~0.5 s of CPU each); None for a call
    past ``budget_s``, whose child is killed (the calls after it are not run: None too)."""
    context = multiprocessing.get_context("spawn")
    parent, child_end = context.Pipe()
    process = context.Process(target=_calls, args=(child_end, target, calls), daemon=True)
    process.start()
    child_end.close()
    seconds: list[float | None] = []
    try:
        for _ in calls:  # +30: the child's imports (before the first call)
            seconds.append(float(parent.recv()) if parent.poll(budget_s + 30) else None)
            if seconds[-1] is None:
                break
    except EOFError:
        raise RuntimeError(f"{target} failed in the child process") from None
    finally:
        process.kill()
        process.join()
    return seconds + [None] * (len(calls) - len(seconds))


def main(argv: list[str]) -> int:
    """Print the slowest input of every pattern and its time."""
    size = int(argv[argv.index("--size") + 1]) if "--size" in argv else 1_000_000
    budget = float(argv[argv.index("--budget") + 1]) if "--budget" in argv else 10.0
    for timing in sorted(run_attacks(size=size, budget_s=budget), key=lambda t: -(t.seconds or 1e9)):
        shown = f"{timing.seconds:8.3f} s" if timing.seconds is not None else f"> {budget:g} s (stopped)"
        print(f"{shown}  {timing.name}  [{timing.attack.describe()} at {timing.size:,} chars]")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
