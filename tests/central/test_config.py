"""One documented precedence: flags > environment > file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.central.config import load_config
from stockade.core.errors import ConfigError


def test_precedence_flags_over_env_over_file(tmp_path: Path) -> None:
    f = tmp_path / "central.yaml"
    f.write_text("port: 9000\nbind: 0.0.0.0\nlog_level: debug\ndb-pool-max: 4\n")
    env = {"STOCKADE_PORT": "9100", "STOCKADE_LOG_LEVEL": "warning"}
    cfg = load_config({"port": 9200, "log_level": None}, environ=env, config_file=f)
    assert cfg.port == 9200  # flag
    assert cfg.log_level == "warning"  # env beats file
    assert cfg.bind == "0.0.0.0"  # file beats default
    assert cfg.db_pool_max == 4
    assert cfg.tls is True  # default


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("tls: false\n")
    assert load_config({}, environ={"STOCKADE_CONFIG": str(f)}).tls is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("colour: red\n", "unknown setting 'colour'"),
        ("port: [1\n", "not valid YAML"),
        ("- a\n- b\n", "must be a mapping"),
        ("port: lots\n", "setting 'port' has an invalid value"),
        ("port: 70000\n", "out of range"),
    ],
)
def test_bad_configuration_is_named(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_config({}, environ={}, config_file=f)


def test_bad_environment_value_is_named() -> None:
    with pytest.raises(ConfigError, match="tls"):
        load_config({}, environ={"STOCKADE_TLS": "maybe"})
