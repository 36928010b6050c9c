"""The ``nippo`` command line.

A bad setting ends any verb with one line naming the variable and exit status
2; each verb asks only for the settings it uses. ``serve`` is given the web
app's factory by the entry point (``web.cli``): the engine in ``bot`` does not
know the HTTP layer that sits above it.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import datetime, timezone

from bot.config import ConfigError, Settings
from bot.mattermost import MattermostError
from bot.sources import SourceMisconfigured

log = logging.getLogger("nippo")

EXIT_CONFIG = 2


def main(argv: list[str] | None = None, *, app_factory=None) -> int:
    """Run one verb; ``app_factory(services=...)`` builds the WSGI app ``serve`` runs."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.app_factory = app_factory
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_CONFIG
    _configure_logging()
    try:
        return args.handler(args) or 0
    except ConfigError as error:
        print(f"nippo: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as error:
        print(f"nippo: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except SourceMisconfigured as error:
        print(f"nippo: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except MattermostError as error:
        reason = f"HTTP {error.status}" if error.status else "no answer"
        print(f"nippo: NIPPO_MATTERMOST_URL: Mattermost refused or did not answer {error.operation or 'a call'} "
              f"({reason}{', ' + error.error_id if error.error_id else ''})", file=sys.stderr)
        return EXIT_CONFIG


class StartupError(Exception):
    """Something found at start-up that must be fixed before nippo can run."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nippo", description="Daily-report reminders for Mattermost.")
    verbs = parser.add_subparsers(metavar="VERB")

    serve = verbs.add_parser("serve", help="HTTP service and scheduler thread")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--threads", type=int, default=8, help=argparse.SUPPRESS)
    serve.set_defaults(handler=_serve)

    remind = verbs.add_parser("remind", help="one scheduler tick as if the clock read --at")
    remind.add_argument("--at", type=_iso_datetime, default=None, metavar="ISO-DATETIME")
    remind.add_argument("--dry-run", action="store_true")
    remind.set_defaults(handler=_remind)

    db = verbs.add_parser("db", help="database maintenance")
    db_verbs = db.add_subparsers(metavar="ACTION")
    upgrade = db_verbs.add_parser("upgrade", help="apply migrations")
    upgrade.set_defaults(handler=_db_upgrade)

    register = verbs.add_parser("register-commands", help="create or update the five slash commands")
    register.add_argument("--team", required=True)
    register.add_argument("--url", default=None, metavar="PUBLIC_URL")
    register.add_argument("--token", default=None)
    register.set_defaults(handler=_register_commands)

    persona = verbs.add_parser("persona", help="list or check personas")
    persona_verbs = persona.add_subparsers(metavar="ACTION")
    persona_list = persona_verbs.add_parser("list")
    persona_list.set_defaults(handler=_persona_list)
    persona_check = persona_verbs.add_parser("check")
    persona_check.add_argument("file")
    persona_check.set_defaults(handler=_persona_check)
    return parser


def _iso_datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date-time: {value!r} (for example 2026-12-01T09:05+09:00)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # The driver logs every HTTP error at ERROR on a misnamed logger; nippo reports its own.
    logging.getLogger("mattermostdriver").setLevel(logging.CRITICAL)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _load_personas(settings: Settings):
    from persona import PersonaError, load_registry

    try:
        registry = load_registry(settings.persona_dir)
    except PersonaError as error:
        raise StartupError(str(error)) from None
    try:
        registry.get(settings.persona)
    except KeyError:
        raise ConfigError("NIPPO_PERSONA", f"unknown persona {settings.persona!r} (known: {', '.join(registry.names())})") from None
    return registry


def _open_database(settings: Settings, *, migrated: bool = True):
    from db.migrate import current_revision, head_revision
    from db.session import Database

    database = Database(settings.database_url)
    if migrated:
        try:
            current = current_revision(database)
        except Exception as error:  # the driver's own message says host/port/file
            raise StartupError(f"NIPPO_DATABASE_URL: cannot open the database ({type(error).__name__})") from None
        if current != head_revision():
            raise StartupError("the database schema is not up to date: run `nippo db upgrade` first")
    return database


def _services(settings: Settings, **kwargs):
    from bot.services import build_services

    personas = _load_personas(settings)
    database = _open_database(settings)
    services = build_services(settings, database=database, personas=personas, **kwargs)
    services.source.startup_check()
    return services


def _serve(args) -> int:
    settings = Settings.from_env().require("bot_token", "command_tokens", "secret_key")
    services = _services(settings)
    if settings.console_mode:
        log.warning("console mode: posts are printed here, any command token is accepted and every caller may do everything")
    log.info("nippo on %s (%s), scheduler %s", settings.database_kind, "console mode" if settings.console_mode else settings.mattermost_url,
             "on" if settings.scheduler else "off")

    import waitress

    if args.app_factory is None:
        raise StartupError("serve needs the web app: run the `nippo` command (web.cli)")
    app = args.app_factory(services=services)
    # waitress buffers each body before the app sees it: anything longer than
    # the app ever takes is refused while it arrives (waitress refuses a body
    # of max_request_body_size bytes or more).
    server = waitress.create_server(app, host=args.host, port=args.port, threads=args.threads, ident="nippo",
                                    max_request_body_size=app.config["LARGEST_REQUEST_BODY"] + 1)
    scheduler = None
    if settings.scheduler:
        from bot.scheduler import SchedulerThread
        from bot.tick import make_tick

        scheduler = SchedulerThread(make_tick(services))
        scheduler.start()

    def _stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("listening on http://%s:%s", args.host, server.effective_port)
    try:
        server.run()
    except SystemExit:
        pass
    finally:
        log.info("stopping")
        if scheduler is not None:
            scheduler.stop()
        server.close()
        services.database.dispose()
    return 0


def _remind(args) -> int:
    # The tick signs the buttons it sends: with another key than `serve` has, every click would be refused.
    settings = Settings.from_env().require("bot_token", "secret_key")
    services = _services(settings)
    from bot.tick import run_tick

    now = args.at or datetime.now(timezone.utc)
    for line in run_tick(services, now, dry_run=args.dry_run):
        print(line)
    return 0


def _db_upgrade(args) -> int:
    from db.migrate import current_revision, upgrade

    settings = Settings.from_env()
    database = _open_database(settings, migrated=False)
    try:
        upgrade(database)
    except Exception as error:
        raise StartupError(f"NIPPO_DATABASE_URL: migration failed ({type(error).__name__}: {str(error).splitlines()[0][:200]})") from None
    print(f"database at revision {current_revision(database)}")
    return 0


def _register_commands(args) -> int:
    from bot.register import register_commands

    settings = Settings.from_env()
    if not settings.mattermost_url:
        raise ConfigError("NIPPO_MATTERMOST_URL", "is required by register-commands")
    token = args.token or settings.bot_token
    if not token:
        raise ConfigError("NIPPO_BOT_TOKEN", "is required by register-commands (or pass --token)")
    url = (args.url or settings.public_url).rstrip("/")
    for line in register_commands(settings.mattermost_url, token, args.team, url):
        print(line)
    return 0


def _persona_list(args) -> int:
    settings = Settings.from_env()
    registry = _load_personas(settings)
    for name, languages, source in registry.describe():
        print(f"{name}\t{','.join(languages)}\t{source}")
    return 0


def _persona_check(args) -> int:
    from persona import check_file

    problems = check_file(args.file)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"{args.file}: ok")
    return 0
