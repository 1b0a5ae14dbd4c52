"""Cited question answering over Kemenko PMK press releases."""

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.types import Answer, Chunk, Citation, Hit, Person, Release

__all__ = ["Answer", "AssistantError", "Chunk", "Citation", "Hit", "Person", "Release", "Settings"]
