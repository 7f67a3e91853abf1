"""The ``rag`` command group. The library's own commands register on it; the applications built on the library
(the eval harness, the HTTP API) add theirs through the ``rag.commands`` entry points, loaded only when one of their
commands runs or help is shown, so that ``rag`` never imports them (the layers of DESIGN.md)."""

from __future__ import annotations

import logging
import os
from importlib.metadata import EntryPoint, entry_points

import click

from rag.config import LogSettings
from rag.logs import configure_logging
from rag.tracing import configure_tracing

ENTRY_POINT_GROUP = "rag.commands"


class CommandGroup(click.Group):
    """A click group that also offers the commands named by the ``rag.commands`` entry points."""

    def _plugins(self) -> dict[str, EntryPoint]:
        return {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)
                if point.name not in self.commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is not None:
            return command
        point = self._plugins().get(cmd_name)
        if point is None:
            return None
        loaded = point.load()
        if not isinstance(loaded, click.Command):
            raise click.ClickException(f"entry point {point.value!r} of {ENTRY_POINT_GROUP} is not a click command")
        return loaded


@click.group(cls=CommandGroup)
@click.version_option(package_name="rag")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def main(verbose: int) -> None:
    """Cited, guideline-first answers from a local corpus of guidelines and studies."""
    level = logging.WARNING - 10 * min(verbose, 2)
    configure_logging(LogSettings(format="json" if os.environ.get("RAG_LOG__FORMAT") == "json" else "text"), level)
    configure_tracing()
