"""Schemathesis: requests generated from the OpenAPI schema (valid and invalid) never get a server error.

Runs in-process over the ASGI app (a private copy of the index, since the fuzzer also adds, deletes and
rebuilds) with the API key, so the write endpoints are exercised too, not only refused.
"""

from __future__ import annotations

import collections
import itertools

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Unsatisfiable
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from logo_similarity.api import create_app
from logo_similarity.api.service import SearchService
from tests.api.conftest import KEY, copy_index


@pytest.fixture(scope="module")
def fuzz_schema(api_settings, built_index, tmp_path_factory):
    service = SearchService(api_settings, copy_index(built_index, tmp_path_factory.mktemp("fuzz")))
    service.load()
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(api_settings, service=service))


def test_no_server_errors(fuzz_schema):
    """Every operation, 30 generated cases each (positive and negative data), checked for 5xx responses."""
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert len(operations) >= 12
    calls = []
    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):
        # a rebuild is a whole process (seconds): a few suffice, the endpoint has no parameters to vary
        examples = 3 if operation.path == "/index/rebuild" else 30

        @hypothesis_settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                             phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            response = case.call(headers={"X-API-Key": KEY})
            calls.append((operation.label, mode.value, response.status_code))
            case.validate_response(response, checks=[not_a_server_error])

        try:
            check()
        except Unsatisfiable:  # no invalid input exists for an operation without parameters (e.g. /health)
            assert mode is GenerationMode.NEGATIVE
    statuses = collections.Counter(status for _, _, status in calls)
    print(f"schemathesis: {len(calls)} calls over {len(operations)} operations, statuses {dict(sorted(statuses.items()))}")
    assert len(calls) >= 11 * 2 * 10 and max(statuses) < 500
    assert statuses[200] + statuses[202] >= 10  # accepted requests too, not only refused ones
