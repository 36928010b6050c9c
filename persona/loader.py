"""Loading the built-in personas and a folder of extra ones into a registry.

Everything is checked when the registry is built, so a broken persona file
stops start-up with the file, key and reason instead of failing a reminder.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

from persona.check import BUILTIN_DIR, FALLBACK, FILE, ParsedFile, Problem, parse_file
from persona.render import Persona

COMMON_FILE = BUILTIN_DIR / "_common.toml"
BUILTIN = "built-in"

log = logging.getLogger(__name__)


class PersonaError(Exception):
    """One or more persona files were refused; str() lists "FILE: KEY: REASON" lines."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class PersonaRegistry:
    def __init__(self, personas: dict[str, Persona]):
        self._personas = dict(sorted(personas.items()))

    def get(self, name: str, fallback: str | None = None) -> Persona:
        """The persona called ``name``; KeyError if there is none.

        With ``fallback``, an unknown name (say, a file removed since the
        subscription chose it) gets that persona instead, with a warning.
        """
        persona = self._personas.get(name.lower()) if isinstance(name, str) else None
        if persona is not None:
            return persona
        if fallback is not None and fallback in self._personas:
            log.warning("unknown persona %r, using %r", name, fallback)
            return self._personas[fallback]
        raise KeyError(f"unknown persona {name!r} (known: {', '.join(self._personas)})")

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._personas

    def names(self) -> list[str]:
        return list(self._personas)

    def describe(self) -> list[tuple[str, tuple[str, ...], str]]:
        """(name, languages, source file or 'built-in') for each persona."""
        return [(persona.name, persona.languages, persona.source) for persona in self._personas.values()]


def load_registry(extra_dir: str | os.PathLike[str] | None = None) -> PersonaRegistry:
    """The built-in personas plus every ``*.toml`` in ``extra_dir``; PersonaError if any is refused.

    A file written before some messages existed still loads: those come from
    the plain persona, and one warning line per file names them."""
    problems: list[Problem] = []
    common, common_problems = parse_file(COMMON_FILE)
    problems += common_problems

    files: list[tuple[Path, str]] = [(path, BUILTIN) for path in _persona_files(BUILTIN_DIR)]
    if extra_dir is not None:
        folder = Path(extra_dir)
        if not folder.is_dir():
            raise PersonaError([Problem(str(folder), FILE, "is not a folder")])
        files += [(path, str(path)) for path in _persona_files(folder)]

    parsed: list[tuple[ParsedFile, str]] = []
    for path, source in files:
        content, file_problems = parse_file(path, strict=source == BUILTIN)
        problems += [problem for problem in file_problems if not problem.warning]
        if content is not None:
            parsed.append((content, source))

    personas: dict[str, Persona] = {}
    sources: dict[str, str] = {}
    for content, source in parsed:
        if content.name in personas:
            problems.append(Problem(content.path, "name", f"{content.name!r} is already defined by {sources[content.name]}"))
            continue
        sources[content.name] = content.path
        personas[content.name] = Persona(
            name=content.name,
            display_name=content.display_name,
            icon_url=content.icon_url,
            source=source,
            texts=content.texts,
            common=common.texts if common is not None else {},
        )
    if problems:
        raise PersonaError(problems)
    for content, source in parsed:
        if source != BUILTIN:
            personas[content.name] = _completed(personas[content.name], content, personas)
    return PersonaRegistry(personas)


def _completed(persona: Persona, content: ParsedFile, personas: dict[str, Persona]) -> Persona:
    """A file's persona with the messages it does not give: all of them from the
    built-in it extends, or those added to nippo since it was written from plain."""
    if content.extends is not None:
        base = personas[content.extends].texts
        texts = {language: {**base.get(language, {}), **content.texts.get(language, {})}
                 for language in dict.fromkeys([*base, *content.texts])}
        return replace(persona, texts=texts)
    if not content.later_missing:
        return persona
    fallback = personas[FALLBACK].texts
    texts = {language: dict(messages) for language, messages in content.texts.items()}
    for language, keys in content.later_missing.items():
        texts[language].update({key: fallback[language][key] for key in keys})
    named = ", ".join(f"{language}.{key}" for language, keys in content.later_missing.items() for key in keys)
    log.warning("persona %s (%s) lacks messages added to nippo since it was written; the %s texts stand in: %s",
                content.name, content.path, FALLBACK, named)
    return replace(persona, texts=texts)


def _persona_files(folder: Path) -> list[Path]:
    # Files starting with "_" hold common texts, not personas.
    return sorted(path for path in folder.glob("*.toml") if not path.name.startswith(("_", ".")))
