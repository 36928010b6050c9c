"""Check requests against Mattermost's own OpenAPI bundle.

The bundle's path is ``NIPPO_MATTERMOST_OPENAPI`` (the README says where
to get the file). Without the file, the tests that check requests against it are
skipped with ``SKIP_REASON`` and the stand-in does not validate. It is parsed
once per process, with libyaml when available, and the parsed form is
cached as JSON under the temp directory keyed by the file's sha256, so later
test runs skip the YAML parse (0.4 s) for a JSON load (20 ms).

What is checked: the operation exists (method + path), query and path
parameters, and the request body against its schema. Relaxed, and why:

* **Security** is removed from the spec: the stand-in answers a missing or
  wrong token with a real 401, which is behaviour to test, not a shape
  mismatch.
* ``PUT /api/v4/posts/{post_id}/patch`` declares ``props`` as a *string*;
  the server decodes a JSON object (``model.PostPatch.Props`` is a
  ``*StringInterface``), and sending a string would be the bug. The copy
  checked here says ``object``.
* ``POST /hooks/commands/{id}`` (``response_url``) is not part of API v4
  and is not in the bundle; it is not checked. Its body is a snake_case
  ``CommandResponse`` — the bundle's PascalCase ``CommandResponse`` schema
  is a known defect of the bundle and is never used here.
* The bundle's JSON ``TooManyRequests`` response concerns responses,
  which are not checked.
* ``pending_post_id`` is missing from the ``POST /posts`` body schema; the
  schema allows extra properties, so it passes as it should.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml

ENV_VAR = "NIPPO_MATTERMOST_OPENAPI"
_CACHE_VERSION = "1"
SKIP_REASON = (f"Mattermost's OpenAPI document was not found: set {ENV_VAR} to the path of "
               "mattermost-openapi-v4.yaml (see the README)")


def spec_path() -> Path | None:
    """Where the bundle is, or None when it is absent."""
    setting = os.environ.get(ENV_VAR)
    if not setting:
        return None
    path = Path(setting)
    return path if path.is_file() else None


def _load_yaml(path: Path) -> dict:
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    # JSON, not pickle: the temp directory is shared, and loading a JSON file
    # someone else planted there cannot run code. A bad cache is re-parsed.
    cache = Path(tempfile.gettempdir()) / f"nippo-openapi-{digest[:24]}-v{_CACHE_VERSION}.json"
    try:
        return json.loads(cache.read_bytes())
    except (OSError, ValueError):
        pass
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = yaml.load(raw, Loader=loader)
    try:
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=cache.name)
        with os.fdopen(fd, "w") as f:
            json.dump(spec, f)
        os.replace(tmp, cache)
    except (OSError, TypeError, ValueError):
        pass
    return spec


def relax(spec: dict) -> dict:
    """The bundle with the relaxations listed in the module docstring."""
    spec = copy.deepcopy(spec)
    spec["servers"] = [{"url": "/"}]
    spec.pop("security", None)
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)
    patch = spec["paths"]["/api/v4/posts/{post_id}/patch"]["put"]
    schema = patch["requestBody"]["content"]["application/json"]["schema"]
    schema["properties"]["props"] = {"type": "object", "description": schema["properties"]["props"].get("description", "")}
    return spec


class RequestChecker:
    """Validates one request at a time (openapi-core is not known to be thread-safe)."""

    def __init__(self, spec: dict) -> None:
        from openapi_core import OpenAPI
        from openapi_core.configurations import Config

        self._api = OpenAPI.from_dict(relax(spec), config=Config(spec_validator_cls=None))
        self._lock = threading.Lock()

    def problems(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
        content_type: str,
    ) -> list[str]:
        request = _Request(method, path, list(query), headers, body, content_type)
        with self._lock:
            return [_describe(e) for e in self._api.iter_apicall_request_errors(request)]


@lru_cache(maxsize=None)
def _checker_for(path: str) -> RequestChecker:
    return RequestChecker(_load_yaml(Path(path)))


def default_checker() -> RequestChecker | None:
    """The process-wide checker for the bundle, or None if the bundle is absent."""
    path = spec_path()
    return _checker_for(str(path)) if path else None


class _Request:
    """openapi-core's Request protocol over what the stand-in read off the wire."""

    host_url = "http://127.0.0.1"

    def __init__(self, method: str, path: str, query: list, headers: dict, body: bytes, content_type: str) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        self.method = method.lower()
        self.path = path
        self.body = body or None
        self.content_type = content_type or "application/octet-stream"
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query), header=Headers(headers), cookie=ImmutableMultiDict()
        )


def _describe(error: Exception) -> str:
    text = str(error)
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        details = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in schema_errors)
        return f"{text.split(':')[0]}: {details}"
    if cause is not None and str(cause) not in text:
        return f"{text}: {cause}"
    return text


def check_json(method: str, path: str, body: Any, query: Iterable[tuple[str, str]] = ()) -> list[str]:
    """Problems with a JSON request, for tests that want to check a payload directly."""
    checker = default_checker()
    if checker is None:
        raise RuntimeError("the Mattermost OpenAPI bundle is not available")
    data = json.dumps(body).encode() if body is not None else b""
    return checker.problems(method, path, query, {}, data, "application/json")
