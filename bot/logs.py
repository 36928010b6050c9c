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

import atexit
import json
import logging
import queue
import re
import sys
import threading
import time
from contextvars import ContextVar
from datetime import datetime, timezone
from logging.handlers import QueueHandler

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


# A path that is itself a secret: the one-time sign-in link of the web pages.
_SECRET_PATH = re.compile(r"(/web/login/)[^\s/?#\"']+")


class _SecretPathFilter(logging.Filter):
    """Libraries log paths (waitress: "Client disconnected while serving
    /web/login/…"; Flask: "Exception on /web/login/… [GET]"): a sign-in link's
    token never reaches a line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/web/login/" in message:
            record.msg, record.args = _SECRET_PATH.sub(r"\1…", message), None
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


def _formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def make_handler(log_format: str = "text", stream=None) -> logging.Handler:
    """A handler that writes each line at once, in the thread that logs it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_formatter(log_format))
    handler.addFilter(_RequestIdFilter())
    handler.addFilter(_SecretPathFilter())
    return handler


class _LineWriter(threading.Thread):
    """Writes the finished lines, many at a time: after the first line of a
    batch it waits ``BATCH_SECONDS`` for more, so a busy server pays one
    write, and one wake-up of this thread, per batch rather than per line.
    At most ``MAX_QUEUED`` lines wait: past that (standard error not read)
    lines are dropped and counted, never stalling a request."""

    BATCH_SECONDS = 0.02
    MAX_QUEUED = 10_000
    _STOP = object()

    def __init__(self, stream, formatter: logging.Formatter):
        super().__init__(name="nippo-log-writer", daemon=True)
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.dropped = 0
        self._stream = stream
        self._formatter = formatter

    def run(self) -> None:
        while True:
            batch = [self.queue.get()]
            time.sleep(self.BATCH_SECONDS)
            while True:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            stop = self._STOP in batch
            self._write([line for line in batch if line is not self._STOP] + self._dropped_line())
            if stop:
                return

    def _dropped_line(self) -> list[str]:
        dropped, self.dropped = self.dropped, 0
        if not dropped:
            return []
        record = logging.LogRecord("nippo", logging.WARNING, "", 0,
                                   "%d log lines dropped: standard error did not keep up", (dropped,), None)
        return [self._formatter.format(record)]

    def _write(self, lines: list[str]) -> None:
        if not lines:
            return
        try:
            self._stream.write("".join(line + "\n" for line in lines))
            self._stream.flush()
        except (OSError, ValueError):  # standard error closed: nowhere left to say so
            pass

    def stop(self) -> None:
        """Write what is queued, then end."""
        self.queue.put(self._STOP)
        self.join(5)


class _LineQueueHandler(QueueHandler):
    """Formats in the thread that logs (the request id is read there) and
    hands the finished line to the writer thread."""

    def __init__(self, writer: _LineWriter):
        super().__init__(writer.queue)
        self.writer = writer

    def createLock(self) -> None:
        self.lock = None  # the queue is thread-safe: request threads need not queue on a lock too

    def prepare(self, record: logging.LogRecord) -> str:
        return self.format(record)

    def enqueue(self, line: str) -> None:
        if self.queue.qsize() >= self.writer.MAX_QUEUED:
            self.writer.dropped += 1
        else:
            self.queue.put_nowait(line)


def make_queued_handler(log_format: str = "text", stream=None) -> "_LineQueueHandler":
    """A handler whose lines a writer thread writes (``handler.writer``; start it, stop it to flush)."""
    formatter = _formatter(log_format)
    handler = _LineQueueHandler(_LineWriter(stream or sys.stderr, formatter))
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    handler.addFilter(_SecretPathFilter())
    return handler


def configure_logging(log_format: str = "text", stream=None) -> None:
    """One handler on the root logger, so every library's lines come out alike.

    Lines are written by a thread of their own, in batches: a write in each
    request thread would give up the GIL there and then wait to get it back
    behind the busy threads, or stall the request outright while whatever
    reads standard error is slow.
    """
    global _writer
    flush_logs()
    handler = make_queued_handler(log_format, stream)
    _writer = handler.writer
    _writer.start()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # No line shows the caller's file, thread or process: skip looking them up for every record.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging.captureWarnings(True)
    # The driver logs every HTTP error at ERROR on a misnamed logger; nippo reports its own.
    logging.getLogger("mattermostdriver").setLevel(logging.CRITICAL)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # An exception nobody caught is still one line in the chosen format.
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def flush_logs() -> None:
    """Write out every line logged so far (at exit, or before reading the output)."""
    global _writer
    if _writer is not None:
        _writer.stop()
        _writer = None


_writer: _LineWriter | None = None
atexit.register(flush_logs)


def _log_uncaught_in_thread(args) -> None:
    if not issubclass(args.exc_type, SystemExit):  # as the default hook: a thread may end that way
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def _log_uncaught(exc_type, exc_value, traceback) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc_value, traceback)
        return
    logging.getLogger("nippo").critical("uncaught exception", exc_info=(exc_type, exc_value, traceback))
