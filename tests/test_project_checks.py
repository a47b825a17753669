"""The project's own hygiene: deploy checks with production settings, migrations in sync."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_check_is_clean_with_production_settings(tmp_path: Path) -> None:
    production = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "beholder.example.org",
        "BEHOLDER_VAR_DIR": str(tmp_path),
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_deploy_check_flags_the_development_key(tmp_path: Path) -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={"DEBUG": "false", "ALLOWED_HOSTS": "x.org", "BEHOLDER_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_migrations_match_the_models(tmp_path: Path) -> None:
    result = manage(
        "makemigrations", "--check", "--dry-run", env={"BEHOLDER_VAR_DIR": str(tmp_path)}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
