"""What start-up finds wrong, said in one line that names the cause.

Every message here ends in ``StartupError`` (``bot.cli`` prints it and exits
with status 2): which setting, and what exactly — an unreachable host, a
missing database, a missing folder — never a driver's traceback. A database
URL is shown without its password; a SQLite file by its absolute path.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger("nippo")


class StartupError(Exception):
    """Something found at start-up that must be fixed before nippo can run."""


def open_database(settings, *, migrate: bool = False, require_migrated: bool = True):
    """The database, reachable and (with ``migrate``) brought to the newest
    schema under the migration lock, so a fresh file or an empty database just works."""
    from db.revision import current_revision, head_revision
    from db.session import Database

    _check_sqlite_folder(settings.database_url)
    database = Database(settings.database_url)
    try:
        current = current_revision(database)
    except Exception as error:
        raise StartupError(database_problem(settings.database_url, error)) from None
    head = head_revision()
    if current == head:
        return database
    if migrate:
        from db.migrate import upgrade  # Alembic, loaded only when there is a migration to run (db.revision)

        try:
            upgrade(database)
        except Exception as error:
            raise StartupError(f"NIPPO_DATABASE_URL: migrating {shown_url(settings.database_url)} failed "
                               f"({_first_line(error)})") from None
        log.info("database migrated from revision %s to %s", current or "(empty)", head)
    elif require_migrated:
        raise StartupError(f"NIPPO_DATABASE_URL: the schema of {shown_url(settings.database_url)} is not up to date "
                           f"(revision {current or 'none'}, this nippo needs {head}): run `nippo db upgrade`, "
                           f"or start `nippo serve`, which applies it")
    return database


def shown_url(url: str) -> str:
    """The URL as it may be printed: no password, a SQLite file by its absolute path."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {sqlite_path(url)}"
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        return ":memory:"
    return str(Path(database).resolve())


def _check_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or sqlite_path(url) == ":memory:":
        return
    path = Path(sqlite_path(url))
    if not path.parent.is_dir():
        raise StartupError(f"NIPPO_DATABASE_URL: the folder {path.parent} does not exist "
                           f"(for the SQLite file {path}): create it, or name another file")
    if not path.exists() and not os.access(path.parent, os.W_OK | os.X_OK):
        raise StartupError(f"NIPPO_DATABASE_URL: cannot create the SQLite file {path}: "
                           f"the folder {path.parent} is not writable")


def database_problem(url: str, error: Exception) -> str:
    """One line: which database, and why it could not be opened."""
    parsed = make_url(url)
    message = _first_line(getattr(error, "orig", None) or error)
    where = shown_url(url)
    if parsed.get_backend_name() == "sqlite":
        if "not a database" in message or "malformed" in message:
            return f"NIPPO_DATABASE_URL: {sqlite_path(url)} is not a SQLite database"
        return f"NIPPO_DATABASE_URL: cannot open the {where} ({message})"
    host = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    lowered = message.lower()
    if "could not translate host name" in lowered or "name or service not known" in lowered:
        why = f"unknown host {parsed.host}"
    elif "connection refused" in lowered:
        why = f"nothing answers at {host} (connection refused: is PostgreSQL running there?)"
    elif "timeout" in lowered or "timed out" in lowered:
        why = f"no answer from {host} (timed out)"
    elif "database" in lowered and "does not exist" in lowered:
        why = f"the database {parsed.database} does not exist on {host} (create it: createdb {parsed.database})"
    elif ("role" in lowered and "does not exist" in lowered) or "authentication failed" in lowered:
        why = f"the server at {host} refused the login of user {parsed.username or '(none)'}"
    else:
        why = message
    return f"NIPPO_DATABASE_URL: cannot open the database {where}: {why}"


def persona_problem(error, persona_dir: str | None) -> str:
    """A refused persona folder in one line: the variable, the first problem,
    and how to see the rest."""
    problems = list(error.problems)
    first = problems[0]
    files = list(dict.fromkeys(problem.file for problem in problems))
    variable = "NIPPO_PERSONA_DIR" if persona_dir and _inside(first.file, persona_dir) else "persona"
    line = f"{variable}: {first.file} is refused: {first.key}: {first.reason}"
    more = sum(1 for problem in problems if problem.file == first.file) - 1
    if more:
        line += f" (and {more} more problem{'s' if more > 1 else ''}: `nippo persona check {first.file}` lists them)"
    if len(files) > 1:
        line += f"; {len(files) - 1} more file{'s' if len(files) > 2 else ''} refused"
    return line


def check_listen(host: str, port: int) -> None:
    """Fail before touching the database if ``serve`` could not listen at
    ``host:port``; binds the way the server will (SO_REUSEADDR), then lets go."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError, ValueError) as error:
        raise StartupError(listen_problem(host, port, ValueError(str(error)))) from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise StartupError(listen_problem(host, port, error)) from None


def listen_problem(host: str, port: int, error: Exception) -> str:
    if isinstance(error, OSError) and error.errno == errno.EADDRINUSE:
        return f"--port {port}: {host}:{port} is already in use (another nippo, or another server?)"
    if isinstance(error, OSError) and error.errno == errno.EACCES:
        return f"--port {port}: not allowed to listen on port {port} (ports below 1024 need root)"
    if isinstance(error, OSError) and error.errno == errno.EADDRNOTAVAIL:
        return f"--host {host}: not an address of this machine"
    if isinstance(error, ValueError):
        return f"--host {host}: not a host name or address to listen on"
    return f"--host {host}: cannot listen there ({_first_line(error)})"


def _inside(file: str, folder: str) -> bool:
    try:
        return Path(file).resolve().is_relative_to(Path(folder).resolve())
    except OSError:
        return False


def _first_line(error: object) -> str:
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    # psycopg2 puts "connection to server at ... failed:" before the reason.
    return line.split("failed: ", 1)[-1].replace("FATAL:  ", "").strip()[:300]
