"""Schemathesis against the app's own OpenAPI schema: every operation, authenticated,
bounded examples. Properties: no 5xx ever, every response matches the documented schema,
status code and content type."""

from __future__ import annotations

import atexit
import io
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import schemathesis  # noqa: E402 - a dev dependency: missing means a broken install, not a skip
from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis import checks as st_checks  # noqa: E402

from tests.reliability.conftest import make_api, make_settings  # noqa: E402
from tests.service.hostile.corpus import model_files, write_zip  # noqa: E402

EXAMPLES_PER_OPERATION = 30
STATS: Counter[str] = Counter()
CHECKS = [st_checks.not_a_server_error, st_checks.status_code_conformance,
          st_checks.content_type_conformance, st_checks.response_schema_conformance]


def _app(tmp: Path):  # noqa: ANN202
    from tests.service.hostile.arch_models import build_arch_model

    api = make_api(make_settings(tmp, rate_limit_per_minute=100_000, max_concurrent_audits=1000))
    key = api.key("fuzzer")
    h = {"Authorization": f"Bearer {key}"}
    model_dir = build_arch_model(tmp / "bert", "bert")
    with open(write_zip(tmp / "m.zip", model_files(model_dir)), "rb") as fh:
        model = api.client.post("/v1/models", files={"file": ("m.zip", fh)}, headers=h).json()
    ds = api.client.post("/v1/datasets", files={"file": ("d.csv", io.BytesIO(b"sentence,label\ngood,1\nbad,0\n"))},
                         headers=h).json()
    api.client.post("/v1/audits", json={"model_id": model["id"], "dataset_id": ds["id"]}, headers=h)
    return api, h


# schemathesis parametrizes at import time, so the app is built then; its files go at exit.
_TMP = Path(tempfile.mkdtemp(prefix="attaudit-fuzz-"))
atexit.register(shutil.rmtree, _TMP, True)
API, AUTH = _app(_TMP)
schema = schemathesis.openapi.from_asgi("/openapi.json", API.client.app)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_api_fuzz(case) -> None:  # noqa: ANN001
    response = case.call(headers=AUTH)
    STATS["cases"] += 1
    if case.path == "/v1/health" and response.status_code == 503:
        # by design: no worker runs beside the fuzzed API, and health says so (a documented 503)
        assert response.json()["workers"]["alive"] == 0
        STATS["health 503 without a worker"] += 1
        return
    STATS[f"{response.status_code // 100}xx"] += 1
    if response.status_code >= 500:
        STATS["5xx"] += 1
    case.validate_response(response, checks=CHECKS)


def test_fuzz_figures(reliability) -> None:
    """Runs after the fuzz cases (file order): records what they did."""
    assert STATS["cases"] > 0, "no fuzz case ran"
    ops = len(list(schema.get_all_operations()))
    reliability.figure("fuzz", "operations fuzzed", ops)
    reliability.figure("fuzz", "cases run", STATS["cases"])
    reliability.figure("fuzz", "responses by class", ", ".join(f"{k}: {v}" for k, v in sorted(STATS.items()) if k.endswith("xx")))
    reliability.figure("fuzz", "5xx responses", STATS["5xx"])
    reliability.figure("fuzz", "checks per response", ", ".join(c.__name__ for c in CHECKS))
    assert STATS["5xx"] == 0
