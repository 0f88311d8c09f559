"""Per-run configuration: one typed dataclass that LangGraph Studio renders as a form.

Every field falls back to an environment variable (named in its description), then to a default,
so an assistant can override it per run while the server's environment sets the baseline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields


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
        default=4,
        metadata={
            "description": "Sentences the extractive (no-model) answer quotes "
            "(env WWHD_MAX_QUOTES)."
        },
    )
    max_message_chars: int = field(
        default=8000,
        metadata={
            "description": "Longest user message accepted, in characters; longer ones get a "
            "request to shorten (env WWHD_MAX_MESSAGE_CHARS)."
        },
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) != f.default:
                continue
            raw = os.environ.get(f"WWHD_{f.name.upper()}")
            if raw:
                setattr(self, f.name, type(f.default)(raw))
