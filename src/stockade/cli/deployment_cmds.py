"""``stockade deployment``: workload checks."""

from stockade.cli.check_cmds import deployment_group

command = deployment_group
