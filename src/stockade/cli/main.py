"""The ``stockade`` command: one entry point for every service and every user task.

Subcommand groups live in their own modules and are listed in ``_COMMAND_MODULES``; each
module exposes a ``click`` command or group named ``command``. A module is imported only
when its command runs, so ``stockade --help`` stays fast and a broken optional dependency of
one component cannot break the others.

Exit codes: 0 success, 1 a checked condition failed (e.g. a policy that enforces), 2 usage
error, 3 could not evaluate / could not reach a service. Every StockadeError becomes one line
on stderr and its exit code; no traceback reaches the user.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from stockade import __version__
from stockade.core.errors import StockadeError
from stockade.core.redact import redact

# name -> (module, help). Add one line per command group.
_COMMAND_MODULES: dict[str, tuple[str, str]] = {
    "central": ("stockade.cli.central_cmds", "Run and operate Central."),
    "deployment": ("stockade.cli.deployment_cmds", "Check workload manifests against policies."),
    "image": ("stockade.cli.image_cmds", "Check (and scan) container images."),
    "policy": ("stockade.cli.policy_cmds", "Import, export and lint policies."),
    "scanner": ("stockade.cli.scanner_cmds", "Index images; update vulnerability data."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMAND_MODULES.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = module.command
        if command.help is None:
            command.help = entry[1]
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in sorted(_COMMAND_MODULES.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stockade")
def cli() -> None:
    """Stockade: Kubernetes security platform."""


def main(argv: list[str] | None = None) -> Any:
    try:
        return cli.main(args=argv, prog_name="stockade", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except StockadeError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # last resort: one line, never a traceback
        if os.environ.get("STOCKADE_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {redact(str(exc))} "
            "(set STOCKADE_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(70)


if __name__ == "__main__":
    sys.exit(main())
