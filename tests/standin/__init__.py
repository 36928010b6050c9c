"""A Mattermost stand-in for nippo's tests: a real HTTP server, Mattermost's rules.

See ``server.MattermostStandIn``; the pytest fixtures are in ``fixtures``.
"""

from tests.standin.interactions import flask_outgoing, http_outgoing
from tests.standin.server import MattermostStandIn, OffsetClock
from tests.standin.state import ApiError

__all__ = ["ApiError", "MattermostStandIn", "OffsetClock", "flask_outgoing", "http_outgoing"]
