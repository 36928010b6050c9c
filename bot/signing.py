"""Signed values that pass through Mattermost or the user's client and come back:
button contexts and dialog state (docs/buttons-and-dialogs.md).

The signature is HMAC-SHA256 over the canonical JSON of the fields, keyed by
NIPPO_SECRET_KEY, and is checked in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SIGNATURE_FIELD = "sig"


def _digest(key: bytes, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


class Signer:
    def __init__(self, secret_key: str):
        if not secret_key:
            raise ValueError("a signer needs a key")
        self._key = secret_key.encode()

    def sign(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The fields plus their signature. Values must be JSON strings or ints
        below 2**53: Mattermost round-trips numbers through float64."""
        if SIGNATURE_FIELD in fields:
            raise ValueError("fields may not carry a signature already")
        return {**fields, SIGNATURE_FIELD: _digest(self._key, fields)}

    def verify(self, signed: Any) -> dict[str, Any] | None:
        """The fields if the signature matches, else None."""
        if not isinstance(signed, dict):
            return None
        signature = signed.get(SIGNATURE_FIELD)
        if not isinstance(signature, str):
            return None
        fields = {k: v for k, v in signed.items() if k != SIGNATURE_FIELD}
        try:
            expected = _digest(self._key, fields)
        except (TypeError, ValueError, RecursionError):
            return None
        return fields if hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")) else None

    def sign_text(self, fields: dict[str, Any]) -> str:
        """A signed value as one string, for dialog ``state``."""
        return json.dumps(self.sign(fields), sort_keys=True, separators=(",", ":"))

    def verify_text(self, text: Any) -> dict[str, Any] | None:
        if not isinstance(text, str) or len(text) > 4096:
            return None
        try:
            return self.verify(json.loads(text))
        except (ValueError, RecursionError):  # nested too deeply for the parser: no state of ours
            return None
