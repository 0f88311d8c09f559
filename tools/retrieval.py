"""Retrieval exposed as LangChain tools, which the graphs call (and a model may call)."""

from __future__ import annotations

from typing import Literal

from langchain_core.tools import tool

from tools.store import Source, open_knowledge_base
from wwhd.settings import load_settings

Tradition = Literal["tcm", "shaolin"]


def search_passages(
    query: str,
    k: int = 4,
    tradition: str | None = None,
    category: str | None = None,
) -> list[Source]:
    """Hybrid search over the knowledge base this process is configured for."""
    return open_knowledge_base(load_settings()).search(
        query, k=k, tradition=tradition, category=category
    )


def format_passages(sources: list[Source]) -> str:
    """Numbered passages as a model reads them: `[n] Title - Section` then the text."""
    return "\n\n".join(
        f"[{n}] {source['title']} - {source['section']}\n{source['text']}"
        for n, source in enumerate(sources, start=1)
    )


@tool(response_format="content_and_artifact")
def search_knowledge_base(
    query: str,
    tradition: Tradition | None = None,
    category: str | None = None,
    k: int = 4,
) -> tuple[str, list[Source]]:
    """Search the W.W.H.D. knowledge base of Traditional Chinese Medicine and Shaolin documents.

    Args:
        query: what to look for, as a self-contained question or keywords.
        tradition: "tcm" or "shaolin" to search only that tradition.
        category: optionally one of theory, diagnosis, pattern, herb, formula, acupoint, safety,
            shaolin-history, shaolin-practice, chan.
        k: how many passages to return (1-20).
    """
    sources = search_passages(query, k=max(1, min(k, 20)), tradition=tradition, category=category)
    return format_passages(sources) or "No passages found.", sources

