"""The JSON Schema of the workflow language, for editors (YAML language servers) to autocomplete
and flag mistakes while a process owner types. Generated from the same pydantic models the
loader validates with, so it cannot drift; ``schema/workflow.schema.json`` ships a copy."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from svcflow.spec.models import WorkflowSpec

__all__ = [
    "SCHEMA_ID",
    "file_json_schema_text",
    "workflow_json_schema",
    "workflow_json_schema_text",
]

SCHEMA_ID = "https://svcflow.dev/schema/workflow-v1.json"


def workflow_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a workflow file."""
    schema = WorkflowSpec.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "svcflow workflow (v1)",
        **{key: value for key, value in schema.items() if key != "title"},
    }


def workflow_json_schema_text() -> str:
    return json.dumps(workflow_json_schema(), indent=2, sort_keys=True) + "\n"


def file_json_schema_text(model: type[BaseModel], kind: str) -> str:
    """The JSON Schema of another file language (``calendar``, ``rules``) from its model, with
    the same ``$id`` scheme as the workflow schema (``.../schema/{kind}-v1.json``)."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID.replace("workflow-v1", f"{kind}-v1"),
        "title": f"svcflow {kind} file (v1)",
        **{key: value for key, value in schema.items() if key != "title"},
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
