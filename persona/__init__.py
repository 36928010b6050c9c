"""Every word nippo says: personas, their message catalogue, and mention-safe rendering."""

from persona.check import Problem, check_file
from persona.keys import KEYS, LANGUAGES, MESSAGE_KEYS, REQUIRED_PLACEHOLDERS
from persona.loader import PersonaError, PersonaRegistry, load_registry
from persona.render import Persona, inert, join, mention, name, quote
from persona.template import new_persona_file

__all__ = [
    "KEYS",
    "LANGUAGES",
    "MESSAGE_KEYS",
    "REQUIRED_PLACEHOLDERS",
    "Persona",
    "PersonaError",
    "PersonaRegistry",
    "Problem",
    "check_file",
    "inert",
    "join",
    "load_registry",
    "mention",
    "name",
    "new_persona_file",
    "quote",
]
