"""schemathesis against the live server, from the OpenAPI document the models generate: no
5xx, no response outside the document (status, content type, schema), no stack trace.

Not run: `negative_data_rejection`, which wants a 4xx for an invalid body. Like elixir-omg
this API answers a bad parameter with HTTP 200, `success: false` and `operation:bad_request`
(checked in test_errors.py), a status the document declares for every route."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "response_headers_conformance,unsupported_method,allow_header_conformance,no_stack_trace")
HERE = Path(__file__).parent


def test_schemathesis_finds_nothing(api, tmp_path):
    st = Path(sys.executable).with_name("st")
    env = dict(os.environ, SCHEMATHESIS_HOOKS="st_checks", PYTHONPATH=f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    run = subprocess.run(
        [str(st), "run", f"{api.url}/openapi.json", "--checks", CHECKS, "--max-examples", "8", "--seed", "7",
         "--workers", "1", "--phases", "examples,coverage,fuzzing", "--no-color", "--generation-database", "none",
         "--report-dir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout
    routes = len(api.client.get(f"{api.url}/openapi.json").json()["paths"])
    assert routes >= 30 and f"Tested: {routes}" in run.stdout  # every route of the document was exercised
