"""The ``nippo`` command: the CLI of ``bot`` with the web app plugged in for
``nippo serve``. This is the one place that knows both."""

from __future__ import annotations

import sys

from bot import cli
from web.app import create_app


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, app_factory=create_app)


if __name__ == "__main__":
    sys.exit(main())
