"""Schema validation of SBOM documents: CycloneDX with the schemas cyclonedx-python-lib ships
(its strict JSON validator), SPDX 2.3 with the JSON schema lib4sbom ships (a PyPI package,
used as test data) plus spdx-tools' own semantic validation of the parsed document."""

from __future__ import annotations

import importlib.resources
import json
import tempfile
from pathlib import Path

import jsonschema
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document


def spdx_schema() -> dict:
    text = importlib.resources.files("lib4sbom").joinpath("schemas/spdx/2.3-schema.json")
    return json.loads(text.read_text(encoding="utf-8"))


def assert_valid_cyclonedx(data: bytes) -> dict:
    document = json.loads(data)
    assert document["specVersion"] == "1.6"
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(data.decode("utf-8"))
    assert errors is None, errors
    return document


def assert_valid_spdx(data: bytes) -> dict:
    document = json.loads(data)
    assert document["spdxVersion"] == "SPDX-2.3"
    jsonschema.validate(document, spdx_schema())
    with tempfile.TemporaryDirectory(prefix="slimmer-test-") as directory:
        path = Path(directory) / "sbom.spdx.json"
        path.write_bytes(data)
        messages = validate_full_spdx_document(parse_file(str(path)))
    assert messages == [], [m.validation_message for m in messages[:5]]
    return document
