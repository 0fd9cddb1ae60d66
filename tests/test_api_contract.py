"""The committed contract equals what the code generates: openapi.json and the frontend's types.

``scripts/gen-api.sh`` regenerates both; these tests fail on any drift, so a field added to a
wire model without regenerating (or a hand edit of a generated file) cannot land.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic import BaseModel

from iog_jupyter.core import wire
from iog_jupyter.handlers.routes import ROUTES
from iog_jupyter.openapi import document, document_text

ROOT = Path(__file__).resolve().parents[1]
OPENAPI = ROOT / "openapi.json"
SCHEMA_TS = ROOT / "labextension" / "src" / "api" / "schema.d.ts"
GENERATOR = ROOT / "labextension" / "node_modules" / "openapi-typescript" / "bin" / "cli.js"


def test_committed_openapi_is_what_the_models_generate():
    assert OPENAPI.read_text() == document_text(), "run scripts/gen-api.sh and commit the result"


def test_committed_typescript_is_what_openapi_typescript_generates(tmp_path):
    node = shutil.which("node")
    if node is None or not GENERATOR.exists():
        pytest.fail("node and labextension/node_modules are needed (scripts/test.sh installs them)")
    out = tmp_path / "schema.d.ts"
    flags = ["--empty-objects-unknown", "--default-non-nullable=false"]  # as scripts/gen-api.sh
    command = [node, str(GENERATOR), str(OPENAPI), "-o", str(out), *flags]
    subprocess.run(command, check=True, timeout=120, capture_output=True)
    assert out.read_text() == SCHEMA_TS.read_text(), "run scripts/gen-api.sh and commit the result"


@pytest.mark.parametrize(
    ("shape", "field"),
    [
        ("Status", "subscribers"),
        ("RayInfo", "address_source"),
        ("RayInfo", "token_source"),
        ("SessionRecord", "attributed_by"),
        ("SessionRecord", "last_activity_ms"),
        ("SessionRecord", "local_kernel"),
        ("LogPage", "submission_id"),
    ],
)
def test_fields_the_server_sends_are_in_the_generated_types(shape, field):
    text = SCHEMA_TS.read_text()
    start = text.index(f"        {shape}: {{")
    end = text.index("\n        };", start)
    assert f" {field}: " in text[start:end]


def test_every_answer_field_is_required_so_clients_need_no_guesswork():
    """A field with a default is still always sent, so the document marks it required."""
    schemas = document()["components"]["schemas"]
    for name in ("JobRecord", "SessionRecord", "ActorRecord", "ClusterSnapshot", "Status"):
        schema = schemas[name]
        assert sorted(schema["required"]) == sorted(schema["properties"]), name


def test_every_wire_model_is_in_the_document():
    """No model in core.wire is left out of the contract (queries become parameters)."""
    schemas = document()["components"]["schemas"]
    queries = {r_op.query for route in ROUTES for r_op in route.ops.values() if r_op.query}
    models = {
        name
        for name, value in vars(wire).items()
        if isinstance(value, type) and issubclass(value, BaseModel) and value is not wire.WireModel
    }
    missing = models - set(schemas) - {q.__name__ for q in queries}
    assert not missing


def test_routes_carry_auth_and_document_websocket_messages():
    paths = json.loads(OPENAPI.read_text())["paths"]
    for path, item in paths.items():
        for method, op in item.items():
            assert op["x-iog-auth"]["resource"].startswith("iog:"), (path, method)
            assert op["x-iog-auth"]["action"] == ("read" if method == "get" else "write")
    tail = paths["/jobs/{submission_id}/logs/tail"]["get"]
    refs = {m["$ref"].rsplit("/", 1)[1] for m in tail["x-iog-messages"]}
    assert refs == {"LogMessage", "JobStatusMessage", "ErrorMessage"}


def _refusal(model, **query: str) -> str:
    from iog_jupyter.core.errors import ValidationError
    from iog_jupyter.handlers.contract import parse_query

    with pytest.raises(ValidationError) as info:
        parse_query(model, {k: [v.encode()] for k, v in query.items()})
    return info.value.message


def test_query_refusals_name_the_parameter_and_what_to_send():
    assert _refusal(wire.JobListQuery, limti="5") == (
        "Unknown query parameter 'limti'; this route accepts: status, limit, cursor."
    )
    assert _refusal(None, x="1") == "Unknown query parameter 'x'; this route accepts: none."
    assert _refusal(wire.JobListQuery, limit="ten") == (
        "Query parameter 'limit' must be an integer, not 'ten'."
    )
    assert (
        _refusal(wire.JobListQuery, limit="0")
        == "Query parameter 'limit' must be at least 1, not 0."
    )
    assert _refusal(wire.ActorListQuery, limit="501") == (
        "Query parameter 'limit' must be from 1 to 500, not 501."
    )
    assert _refusal(wire.ActorListQuery, detached="maybe") == (
        "Query parameter 'detached' must be true or false, not 'maybe'."
    )
    assert "'cursor'" in _refusal(wire.JobListQuery, cursor="c" * 600)
    # A whole sentence with the bound, never one cut off at "between 0".
    assert _refusal(wire.LogsQuery, offset="-1") == (
        "Query parameter 'offset' must be at least 0, not -1."
    )


def test_queries_take_jupyters_own_parameters_and_treat_empty_as_absent():
    from iog_jupyter.handlers.contract import parse_query

    args = {"token": [b"t"], "_xsrf": [b"x"], "offset": [b"7"]}
    query = parse_query(wire.LogsQuery, {**args, "limit_bytes": [b"", b"9"]})
    assert (query.offset, query.limit_bytes) == (7, 9)
    assert parse_query(wire.LogsQuery, {"offset": [b""]}).offset == 0
    assert parse_query(None, {"token": [b"t"]}) is None
    assert "'limit'" in _refusal(wire.LogsQuery, limit="")  # unknown even when empty
