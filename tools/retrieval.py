"""Retrieval exposed as a LangChain tool bound to one knowledge base (the graphs call it; a model
may call it too)."""

from __future__ import annotations

from typing import Literal

from langchain_core.tools import BaseTool, StructuredTool

from wwhd.core.types import Source
from wwhd.tools.knowledge import KnowledgeBase

Tradition = Literal["tcm", "shaolin"]
SEARCH_TOOL = "search_knowledge_base"


def format_passages(sources: list[Source]) -> str:
    """Numbered passages as a model reads them: `[n] Title - Section` then the text."""
    return "\n\n".join(
        f"[{n}] {source['title']} - {source['section']}\n{source['text']}"
        for n, source in enumerate(sources, start=1)
    )


def knowledge_base_tool(kb: KnowledgeBase) -> BaseTool:
    """The `search_knowledge_base` tool over `kb`: text for a model, passages as the artifact."""

    def search_knowledge_base(
        query: str,
        tradition: Tradition | None = None,
        category: str | None = None,
        k: int = 4,
    ) -> tuple[str, list[Source]]:
        """Search the W.W.H.D. knowledge base of Traditional Chinese Medicine and Shaolin
        documents.

        Args:
            query: what to look for, as a self-contained question or keywords.
            tradition: "tcm" or "shaolin" to search only that tradition.
            category: optionally one of theory, diagnosis, pattern, herb, formula, acupoint,
                safety, shaolin-history, shaolin-practice, chan.
            k: how many passages to return (1-20).
        """
        sources = kb.search(query, k=max(1, min(k, 20)), tradition=tradition, category=category)
        return format_passages(sources) or "No passages found.", sources

    return StructuredTool.from_function(
        search_knowledge_base, name=SEARCH_TOOL, response_format="content_and_artifact",
        parse_docstring=True,
    )
