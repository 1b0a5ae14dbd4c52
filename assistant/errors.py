"""Errors whose message tells a staff member what went wrong and how to fix it."""


class AssistantError(Exception):
    """Base class: the message is shown to the user as is."""


class ConfigError(AssistantError):
    """A setting is missing, malformed or names something that is not installed."""


class IngestError(AssistantError):
    """A release file cannot be read; the message is a one-line reason."""


class IndexMismatchError(AssistantError):
    """The index was built with another embedder or schema and must be rebuilt."""


class StoreError(AssistantError):
    """The vector store cannot be reached or is in a bad state."""


class UploadError(AssistantError):
    """An upload cannot be taken as a whole (too many files, nothing sent)."""


class QuestionError(AssistantError):
    """A question cannot be asked as given (empty, too long)."""


class ModelSetupError(AssistantError):
    """The local LLM cannot be assembled: a part package is missing or corrupted."""


class AnswerModeError(AssistantError):
    """A question asks for an answer mode this assistant does not offer."""
