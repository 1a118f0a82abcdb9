"""``stockade image``: image checks; scan/sbom subcommands attach to this group."""

from stockade.cli.check_cmds import image_group
from stockade.cli.scan_cmds import sbom, scan

image_group.add_command(scan)
image_group.add_command(sbom)

command = image_group
