"""The one blueprint of the web pages, shared by the modules that add routes to it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__, url_prefix="/web", template_folder="templates",
               static_folder="static", static_url_path="/static")
