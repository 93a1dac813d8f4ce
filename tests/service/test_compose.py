"""docker-compose.yml and the Dockerfile checked statically (no Docker engine runs here)."""

from __future__ import annotations

from pathlib import Path

import yaml

from attaudit.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _cli_accepts(argv: list[str]) -> None:
    """argparse exits on an unknown command or option: parse must succeed."""
    args = build_parser().parse_args(argv)
    assert getattr(args, "func", None) is not None, argv


def test_services_healthchecks_and_volumes() -> None:
    c = _compose()
    services = c["services"]
    assert {"api", "worker", "redis", "postgres", "flower", "migrate"} <= set(services)
    for name in ("api", "worker", "redis", "postgres", "flower"):
        hc = services[name]["healthcheck"]
        assert hc["test"][0] in ("CMD", "CMD-SHELL") and len(hc["test"]) >= 2, name
    assert {"pgdata", "artifacts"} <= set(c["volumes"])
    assert any(v.startswith("pgdata:") for v in services["postgres"]["volumes"])
    for name in ("api", "worker", "migrate"):
        assert any(v.startswith("artifacts:") for v in services[name]["volumes"]), name


def test_worker_reserves_one_gpu_and_scales() -> None:
    worker = _compose()["services"]["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N works


def test_migrations_run_before_the_api_and_workers() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"] == ["attaudit", "db", "upgrade"]
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_attaudit_command_exists_in_the_cli() -> None:
    used = 0
    for svc in _compose()["services"].values():
        cmd = svc.get("command")
        if isinstance(cmd, list) and cmd and cmd[0] == "attaudit":
            _cli_accepts(cmd[1:])
            used += 1
    assert used == 3  # migrate, api, worker
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd_line = next(line for line in dockerfile.splitlines() if line.startswith("CMD"))
    import json

    _cli_accepts(json.loads(cmd_line[3:].strip())[1:])


def test_environment_uses_the_documented_settings() -> None:
    from infra.settings import Settings

    fields = {f"ATTAUDIT_{k.upper()}" for k in Settings.model_fields}
    services = _compose()["services"]
    for name in ("api", "worker", "migrate"):
        env = services[name]["environment"]
        assert {"ATTAUDIT_DATABASE_URL", "ATTAUDIT_BROKER_URL", "ATTAUDIT_STORAGE_DIR"} <= set(env)
        assert set(k for k in env if k.startswith("ATTAUDIT_")) <= fields, name
        assert env["ATTAUDIT_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["ATTAUDIT_BROKER_URL"].startswith("redis://redis:")
    docs = (ROOT / "docs" / "service.md").read_text()
    for var in fields:
        assert var in docs, f"{var} is not documented in docs/service.md"


def test_healthcheck_module_and_pinned_requirements_exist() -> None:
    worker_hc = _compose()["services"]["worker"]["healthcheck"]["test"]
    assert worker_hc[1:] == ["python", "-m", "workers.healthcheck"]
    import workers.healthcheck  # noqa: F401 - importable (no torch)

    lock = (ROOT / "docker" / "requirements.lock").read_text().splitlines()
    pins = [line for line in lock if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins)
    names = {line.split("==")[0].lower() for line in pins}
    assert {"torch", "transformers", "celery", "fastapi", "sqlalchemy", "nltk"} <= names
    assert "nltk.downloader" in (ROOT / "Dockerfile").read_text()
