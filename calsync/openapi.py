"""What the OpenAPI document says about errors, which drf-spectacular leaves out.

drf-spectacular documents the success answers a view declares; the answers DRF itself gives to
bad input, missing credentials, unknown ids, wrong methods, content types or too many requests
are real parts of the contract, and a client (or the schemathesis fuzz in the test suite) must
find them documented. ``document_error_responses`` adds them to every operation that does not
declare its own.
"""

from __future__ import annotations

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# A DRF validation error: field name → messages, or a list of messages for the whole input.
VALIDATION = {
    "anyOf": [
        {"type": "object", "additionalProperties": True},
        {"type": "array", "items": {"type": "string"}},
    ]
}
ERRORS = {
    "400": ("Invalid input; the body says what is wrong, per field.", "ValidationError"),
    "401": ("No or wrong credentials.", "ErrorDetail"),
    "403": ("Not allowed for this user, or a missing CSRF token.", "ErrorDetail"),
    "404": ("No such object, or not visible to this user.", "ErrorDetail"),
    "405": ("The operation does not take this method.", "ErrorDetail"),
    "406": ("No acceptable representation.", "ErrorDetail"),
    "409": ("Conflicts with the current state (in use, already running, already taken).", "ErrorDetail"),
    "415": ("The body's content type is not accepted.", "ErrorDetail"),
    "429": ("Too many requests; retry after the Retry-After header's seconds.", "ErrorDetail"),
}
# Answered by gunicorn before calsync sees the request (its limit on the request line), so in
# gunicorn's HTML: documented all the same, since a client gets it.
SERVER_ERRORS = {"414": "The URL is too long (more than 4094 bytes in the request line); the web server answers."}
METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}


def document_error_responses(result: dict, generator: object, request: object, public: bool) -> dict:
    """drf-spectacular postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorDetail", DETAIL)
    schemas.setdefault("ValidationError", VALIDATION)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, (description, schema) in ERRORS.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
                    },
                )
            for code, description in SERVER_ERRORS.items():
                responses.setdefault(code, {"description": description, "content": {"text/html": {"schema": {}}}})
    return result
