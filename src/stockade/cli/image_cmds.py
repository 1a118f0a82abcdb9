"""``stockade image``: image checks; scan/sbom subcommands attach to this group."""

from stockade.cli.check_cmds import image_group

command = image_group
