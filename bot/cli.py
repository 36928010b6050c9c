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
from pathlib import Path

from bot.config import ConfigError, Settings, read_log_format
from bot.logs import flush_logs
from bot.mattermost import MattermostError
from bot.memory import keep_large_blocks_mapped
from bot.remind import NoSuchChannel
from bot.sources import SourceMisconfigured
from bot.startup import StartupError, check_listen, listen_problem, open_database, persona_problem

log = logging.getLogger("nippo")

EXIT_CONFIG = 2


def main(argv: list[str] | None = None, *, app_factory=None) -> int:
    """Run one verb; ``app_factory(services=...)`` builds the WSGI app ``serve`` runs."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.app_factory = app_factory
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return EXIT_CONFIG
    try:
        _configure_logging()
        return args.handler(args) or 0
    except (ConfigError, StartupError, SourceMisconfigured, NoSuchChannel) as error:
        _refuse(str(error))
        return EXIT_CONFIG
    except MattermostError as error:
        reason = f"HTTP {error.status}" if error.status else "no answer"
        _refuse(f"NIPPO_MATTERMOST_URL: Mattermost refused or did not answer {error.operation or 'a call'} "
                f"({reason}{', ' + error.error_id if error.error_id else ''})")
        return EXIT_CONFIG


def _refuse(reason: str) -> None:
    """The one line a refused start says. The log writer thread shares standard
    error: its lines go out first, so the two never run together."""
    flush_logs()
    print(f"nippo: {reason}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nippo", description="Daily-report reminders for Mattermost.")
    verbs = parser.add_subparsers(metavar="VERB")

    serve = verbs.add_parser(
        "serve", help="HTTP service and scheduler thread",
        description="Apply pending database migrations, then serve Mattermost's calls, the push API and the "
                    "health checks, with the scheduler thread sending the reminders (NIPPO_SCHEDULER=off: none).")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on; 0.0.0.0 for every interface, as in a container (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8080, help="TCP port to listen on (default: 8080)")
    serve.add_argument("--threads", type=int, default=8, help=argparse.SUPPRESS)
    serve.set_defaults(handler=_serve)

    remind = verbs.add_parser(
        "remind", help="one scheduler tick as if the clock read --at",
        description="Run one scheduler tick, as the scheduler thread of `nippo serve` does each minute, and say "
                    "for each subscription what it did or why nothing was due.")
    remind.add_argument("--at", type=_iso_datetime, default=None, metavar="ISO-DATETIME",
                        help="the tick's time, e.g. 2026-12-01T09:05+09:00; without a UTC offset it is read in "
                             "NIPPO_TIMEZONE (default: now)")
    remind.add_argument("--dry-run", action="store_true",
                        help="write and send nothing; print every message the tick would send, in full "
                             "(default: off: the tick claims, sends and records)")
    remind.add_argument("--channel", default=None, metavar="NAME",
                        help="only this channel's subscription (its name, or channel id); the others are left "
                             "alone (default: every subscription)")
    remind.set_defaults(handler=_remind)

    db = verbs.add_parser("db", help="database maintenance")
    db_verbs = db.add_subparsers(metavar="ACTION")
    upgrade = db_verbs.add_parser("upgrade", help="apply migrations (nippo serve also does it at start)")
    upgrade.set_defaults(handler=_db_upgrade)
    db.set_defaults(handler=_usage_of(db))

    register = verbs.add_parser("register-commands", help="create or update the five slash commands")
    register.add_argument("--team", required=True)
    register.add_argument("--url", default=None, metavar="PUBLIC_URL")
    register.add_argument("--token", default=None)
    register.add_argument("--force", action="store_true",
                          help="also take over a trigger that points at another integration")
    register.set_defaults(handler=_register_commands)

    persona = verbs.add_parser("persona", help="list, check or start personas")
    persona_verbs = persona.add_subparsers(metavar="ACTION")
    persona_list = persona_verbs.add_parser("list", help="the personas nippo would load (with NIPPO_PERSONA_DIR)")
    persona_list.set_defaults(handler=_persona_list)
    persona_check = persona_verbs.add_parser("check", help="check a persona file; exit status 1 if it is refused")
    persona_check.add_argument("file")
    persona_check.set_defaults(handler=_persona_check)
    persona_new = persona_verbs.add_parser(
        "new", help="write a complete persona file to start from",
        description="Write NAME.toml: every message of every language, copied from --from, for you to rewrite.")
    persona_new.add_argument("name", metavar="NAME")
    persona_new.add_argument("--from", dest="base", default="plain", metavar="PERSONA",
                             help="the persona whose texts the file starts with (default: plain)")
    persona_new.add_argument("--output", default=None, metavar="FILE",
                             help="where to write it; - for standard output (default: NAME.toml here)")
    persona_new.set_defaults(handler=_persona_new)
    persona.set_defaults(handler=_usage_of(persona))
    return parser


def _usage_of(parser: argparse.ArgumentParser):
    """A verb given without its action: that verb's own usage, exit status 2."""

    def show(_args) -> int:
        parser.print_help(sys.stderr)
        return EXIT_CONFIG

    return show


def _port(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {value!r} (0 to 65535)")
    return int(value)


def _iso_datetime(value: str) -> datetime:
    """Aware if the value has a UTC offset; naive ones are read in NIPPO_TIMEZONE by ``remind``."""
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date-time: {value!r} (for example 2026-12-01T09:05+09:00)") from None


def _configure_logging() -> None:
    from bot.logs import configure_logging

    configure_logging(read_log_format())


def _load_personas(settings: Settings):
    from persona import PersonaError, load_registry

    try:
        registry = load_registry(settings.persona_dir)
    except PersonaError as error:
        raise StartupError(persona_problem(error, settings.persona_dir)) from None
    try:
        registry.get(settings.persona)
    except KeyError:
        raise ConfigError("NIPPO_PERSONA", f"unknown persona {settings.persona!r} (known: {', '.join(registry.names())})") from None
    return registry


def _services(settings: Settings, *, migrate: bool = False, **kwargs):
    from bot.services import build_services

    personas = _load_personas(settings)
    database = open_database(settings, migrate=migrate)
    services = build_services(settings, database=database, personas=personas, **kwargs)
    services.source.startup_check()
    return services


def _serve(args) -> int:
    settings = Settings.from_env().require("bot_token", "command_tokens", "secret_key")
    check_listen(args.host, args.port)  # before the database is touched: a failed start changes nothing
    keep_large_blocks_mapped()  # before a morning's big blocks: see bot.memory
    services = _services(settings, migrate=True)

    import waitress

    if args.app_factory is None:
        raise StartupError("serve needs the web app: run the `nippo` command (web.cli)")
    app = args.app_factory(services=services)
    try:
        # waitress buffers each body before the app sees it: anything longer than
        # the app ever takes is refused while it arrives (waitress refuses a body
        # of max_request_body_size bytes or more).
        server = waitress.create_server(app, host=args.host, port=args.port, threads=args.threads, ident="nippo",
                                        max_request_body_size=app.config["LARGEST_REQUEST_BODY"] + 1)
    except (OSError, ValueError) as error:
        services.database.dispose()
        raise StartupError(listen_problem(args.host, args.port, error)) from None
    # Said once nothing can fail any more: a failed start is one line.
    if settings.console_mode:
        tokens = "the configured command tokens" if settings.command_tokens else "any command token"
        log.warning("console mode: posts are printed here, %s is accepted and every caller may do everything", tokens)
    log.info("nippo on %s (%s), scheduler %s", settings.database_kind, "console mode" if settings.console_mode else settings.mattermost_url,
             "on" if settings.scheduler else "off")
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
    from bot.remind import channel_subscription, remind, tick_instant

    if settings.console_mode:
        log.warning("console mode: posts are printed here, not sent to Mattermost (NIPPO_MATTERMOST_URL is unset)")
    only = channel_subscription(services, args.channel) if args.channel is not None else None
    now, instant = tick_instant(args.at, settings.timezone, datetime.now(timezone.utc))
    print(instant + (" — dry run: nothing is written or sent" if args.dry_run else ""), flush=True)
    for line in remind(services, now, dry_run=args.dry_run, only=only):
        print(line)
    return 0


def _db_upgrade(args) -> int:
    from db.revision import current_revision

    settings = Settings.from_env()
    database = open_database(settings, migrate=True)
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
    for line in register_commands(settings.mattermost_url, token, args.team, url, force=args.force):
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
    refused = [p for p in problems if not p.warning]
    for problem in problems:
        print(problem)
    if refused:
        return 1
    print(f"{args.file}: ok" + (f" ({len(problems)} warning{'s' if len(problems) > 1 else ''})" if problems else ""))
    return 0


def _persona_new(args) -> int:
    from persona import new_persona_file
    from persona.check import PERSONA_NAME

    if not PERSONA_NAME.fullmatch(args.name):
        raise StartupError(f"persona new: {args.name!r} is no persona name (lowercase letters, digits, '-' or '_', "
                           "starting with a letter, at most 32 characters)")
    registry = _load_personas(Settings.from_env())
    if args.base not in registry:
        raise StartupError(f"persona new --from: unknown persona {args.base!r} (known: {', '.join(registry.names())})")
    text = new_persona_file(args.name, registry.get(args.base), registry.get("plain"))
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    target = Path(args.output or f"{args.name}.toml")
    try:
        with open(target, "x", encoding="utf-8") as handle:  # never overwrite someone's persona
            handle.write(text)
    except FileExistsError:
        raise StartupError(f"persona new: {target} exists already; give another --output") from None
    except OSError as error:
        raise StartupError(f"persona new: cannot write {target} ({error.strerror or error})") from None
    print(f"{target}: written from {args.base}; edit it, then `nippo persona check {target}`")
    return 0
