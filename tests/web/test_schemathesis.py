"""Property-based run over the OpenAPI schema (schemathesis): whatever a client sends, valid or
not, the API answers without a 5xx and as its schema documents (status, content type, body).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks
from schemathesis.core.result import Ok

from .conftest import Api

MAX_EXAMPLES = 15  # per operation and mode: 27 operations x 2 modes take about 15 s
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


def test_api_answers_every_generated_request_without_server_errors(any_api: Api) -> None:
    api = any_api
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", api.client.app)
    headers = api.auth("admin")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"operation not in the schema's shape: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case[Any]) -> None:
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE  # no input, so no invalid input either
            except (Exception, BaseExceptionGroup) as exc:  # one run reports every operation
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert operations >= 27
    assert not failures, "\n\n".join(failures)
