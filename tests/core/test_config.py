"""Settings: sensible defaults, a secret made once, and one clear line for a bad value."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from aftersales.core.config import Settings
from aftersales.core.errors import ConfigError
from aftersales.core.security import decrypt_credentials, encrypt_credentials


def test_defaults_live_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"AFTERSALES_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite://{tmp_path / 'aftersales.sqlite3'}"
    assert settings.embedded_redis
    assert settings.timezone == "Asia/Shanghai"


def test_the_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    first = Settings.from_env({"AFTERSALES_DATA_DIR": str(tmp_path)})
    second = Settings.from_env({"AFTERSALES_DATA_DIR": str(tmp_path)})
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("AFTERSALES_TIMEZONE", "Mars/Olympus", "time zone"),
        ("DATABASE_URL", "mysql://db/x", "DATABASE_URL"),
        ("REDIS_URL", "http://localhost", "REDIS_URL"),
        ("REDIS_URL", "redis://localhost:notaport", "port"),
        ("AFTERSALES_SECRET_KEY", "short", "32 characters"),
    ],
)
def test_bad_values_are_config_errors(tmp_path: Path, name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        Settings.from_env({"AFTERSALES_DATA_DIR": str(tmp_path), name: value})


def test_cli_reports_a_bad_value_in_one_line_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "AFTERSALES_DATA_DIR": str(tmp_path), "AFTERSALES_TIMEZONE": "Nowhere"}
    result = subprocess.run(
        [sys.executable, "-m", "aftersales", "migrate"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "AFTERSALES_TIMEZONE" in result.stderr
    assert "Traceback" not in result.stderr


def test_credentials_round_trip_and_are_not_readable_at_rest() -> None:
    key = "k" * 40
    blob = encrypt_credentials(key, {"app_secret": "s3cr3t-value"})
    assert "s3cr3t" not in blob
    assert decrypt_credentials(key, blob) == {"app_secret": "s3cr3t-value"}
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        decrypt_credentials("x" * 40, blob)
