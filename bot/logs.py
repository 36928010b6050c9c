"""Log lines for every logger of the process (nippo's, waitress's, alembic's…).

``text`` is for a terminal; ``json`` writes one JSON object a line for a log
collector. Both carry the id of the HTTP request a line was written for
(``request_id``, set by the web layer in ``REQUEST_ID``) and the run a
scheduler line is about (``run_id``, passed as ``extra``).

What a line says is up to the code that logs it: nippo never logs a token,
a secret, report text or a request body, and the web layer logs endpoint
names, never paths or query strings.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from contextvars import ContextVar
from datetime import datetime, timezone

REQUEST_ID: ContextVar[str | None] = ContextVar("nippo_request_id", default=None)

# Fields a line may carry beyond the message, when the code that logs gives them (``extra=``).
EXTRA_FIELDS = ("request_id", "run_id", "subscription_id", "method", "endpoint", "status", "duration_ms")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _RequestIdFilter(logging.Filter):
    """Stamps each record with the request it was written for, whichever logger wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        tags = [f"{name}={getattr(record, name)}" for name in ("request_id", "run_id")
                if getattr(record, name, None) is not None]
        if not tags:
            return line
        # The tags go on the first line: a traceback below stays readable.
        first, newline, rest = line.partition("\n")
        return f"{first} [{' '.join(tags)}]{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the known extras, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_handler(log_format: str = "text", stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    return handler


def configure_logging(log_format: str = "text", stream=None) -> None:
    """One handler on the root logger, so every library's lines come out alike."""
    handler = make_handler(log_format, stream)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    # The driver logs every HTTP error at ERROR on a misnamed logger; nippo reports its own.
    logging.getLogger("mattermostdriver").setLevel(logging.CRITICAL)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # An exception nobody caught is still one line in the chosen format.
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught_in_thread(args) -> None:
    if not issubclass(args.exc_type, SystemExit):  # as the default hook: a thread may end that way
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def _log_uncaught(exc_type, exc_value, traceback) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc_value, traceback)
        return
    logging.getLogger("nippo").critical("uncaught exception", exc_info=(exc_type, exc_value, traceback))
