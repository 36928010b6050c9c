"""The one exception every Mattermost call raises.

Callers decide between "retry later" and "give up and tell the leaders" from
``transient`` / ``permanent`` and, for a send whose outcome matters, from
``landed``:

* ``landed is False`` — the request certainly never reached Mattermost
  (connection refused, DNS failure, connect timeout): sending again is safe.
* ``landed is None`` — unknown (read timeout, connection dropped after the
  request went out): the post may exist; look for it before sending again.
* ``landed is True`` — Mattermost answered; ``status`` says how.

Messages never carry the token or a request body.
"""

from __future__ import annotations


class MattermostError(Exception):
    """A Mattermost call that did not succeed."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_id: str | None = None,
        retry_after: float | None = None,
        landed: bool | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_id = error_id
        self.retry_after = retry_after
        self.landed = True if status is not None else landed
        self.operation = operation

    @property
    def transient(self) -> bool:
        """True for failures that can pass: no answer, 429 or 5xx."""
        if self.status is None:
            # An error raised locally with landed=True (e.g. the console's
            # "no dialog") had an answer of sorts: retrying cannot help.
            return self.landed is not True
        return self.status == 429 or self.status >= 500

    @property
    def permanent(self) -> bool:
        return not self.transient

    def __str__(self) -> str:
        parts = []
        if self.operation:
            parts.append(self.operation)
        parts.append(str(self.status) if self.status is not None else "no answer")
        if self.error_id:
            parts.append(self.error_id)
        return f"{' '.join(parts)}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"MattermostError(status={self.status!r}, error_id={self.error_id!r}, "
            f"landed={self.landed!r}, retry_after={self.retry_after!r}, "
            f"message={self.message!r})"
        )
