"""``nippo persona new``: a complete persona file to start from.

Every voice message in every language, copied from an existing persona (a
language it lacks comes from the plain persona), each under a comment saying
what it is for and which placeholders it may use. The result passes
``nippo persona check`` as written. Common texts (usage, help, labels) are
listed at the end, commented out: a persona may override them, but a copy
would freeze them and miss what later versions add to the usage.
"""

from __future__ import annotations

import json

from persona.keys import COMMON_KEYS, KEYS, LANGUAGES, VOICE_KEYS
from persona.render import Persona


def new_persona_file(name: str, base: Persona, plain: Persona) -> str:
    lines = [
        f"# The persona {name}, started from {base.name}. Rewrite the texts in its voice, keep the placeholders",
        "# each one needs, then: nippo persona check THIS_FILE. Keys and placeholders: persona/keys.py;",
        "# how to write a persona: persona/README.md.",
        "",
        f"name = {_string(name)}",
        f"display_name = {_string(name.replace('-', ' ').replace('_', ' ').title())}",
    ]
    if base.icon_url:
        lines.append(f"icon_url = {_string(base.icon_url)}")
    else:
        lines.append('# icon_url = "https://example.com/icon.png"')
    for language in LANGUAGES:
        source = base if language in base.texts else plain
        lines += ["", f"[{language}]"]
        for key in sorted(VOICE_KEYS):
            spec = KEYS[key]
            allowed = " ".join(f"{{{p}}}" for p in sorted(spec.placeholders)) or "none"
            needed = " ".join(f"{{{p}}}" for p in sorted(spec.required))
            lines.append(f"# {spec.doc} Placeholders: {allowed}" + (f"; needs {needed}." if needed else "."))
            variants = source.texts[language][key]
            lines.append(f"{_string(key)} = [" + ", ".join(_string(v) for v in variants) + "]")
    lines += ["", "# Common texts a persona may override, in [en] and [ja] like the keys above "
                  "(the built-in ones are persona/builtin/_common.toml):"]
    lines += [f"#   {key}" for key in sorted(COMMON_KEYS)]
    return "\n".join(lines) + "\n"


def _string(text: str) -> str:
    # A JSON string is a TOML basic string: the same escapes (\", \\, \n, \uXXXX).
    return json.dumps(text, ensure_ascii=False)
