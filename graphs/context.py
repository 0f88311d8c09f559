"""Per-run configuration: one typed dataclass that LangGraph Studio renders as a form.

A field left at its default takes the server's setting (the environment variable named in its
description, read and validated by `wwhd.core.settings`), so an assistant can override it per run
while the server's environment sets the baseline. `dependencies` is not configuration: it is how
the nodes get their knowledge base and models (see `wwhd.graphs.dependencies`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from pydantic.json_schema import SkipJsonSchema

from wwhd.core.settings import load_settings

if TYPE_CHECKING:
    from wwhd.graphs.dependencies import Dependencies


@dataclass(kw_only=True)
class Context:
    """Configurable fields of the W.W.H.D. graphs."""

    chat_model: str = field(
        default="",
        metadata={
            "description": "Chat model name for the configured provider (OpenAI or the "
            "OpenAI-compatible server at WWHD_LLM_BASE_URL). Empty: the provider's default "
            "(env WWHD_CHAT_MODEL). 'extractive': never call a model; quote the knowledge base."
        },
    )
    top_k: int = field(
        default=4,
        metadata={
            "description": "How many passages to retrieve for an answer (env WWHD_TOP_K).",
            "json_schema_extra": {"minimum": 1, "maximum": 20},
        },
    )
    max_quotes: int = field(
        default=6,
        metadata={
            "description": "Most quotes (sentences, or a list with its lead-in) the extractive "
            "(no-model) answer uses, within its length budget (env WWHD_MAX_QUOTES)."
        },
    )
    max_message_chars: int = field(
        default=8000,
        metadata={
            "description": "Longest user message accepted, in characters; longer ones get a "
            "request to shorten (env WWHD_MAX_MESSAGE_CHARS)."
        },
    )
    sources_in_text: bool = field(
        default=False,
        metadata={
            "description": "Also list the cited passages as a Markdown 'Sources' list at the end "
            "of the answer text, for chat UIs that show only the text (env "
            "WWHD_SOURCES_IN_TEXT). Every answer message carries its sources in its metadata "
            "either way."
        },
    )

    dependencies: SkipJsonSchema[Any] = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        settings = load_settings()
        for f in fields(self):
            if f.name == "dependencies" or getattr(self, f.name) != f.default:
                continue
            configured = getattr(settings, f.name, None)
            if configured is not None:
                setattr(self, f.name, configured)
        if self.dependencies is not None and not _is_dependencies(self.dependencies):
            # Over the API the context is JSON: objects can only be handed in, in process.
            raise ValueError("context.dependencies cannot be set over the API; leave it out")

    @property
    def deps(self) -> Dependencies:
        """The run's dependencies: those handed in, else the process's default."""
        from wwhd.graphs.dependencies import default_dependencies

        return self.dependencies or default_dependencies()


def _is_dependencies(value: object) -> bool:
    from wwhd.graphs.dependencies import Dependencies

    return isinstance(value, Dependencies)
