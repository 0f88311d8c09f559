"""Model providers, chosen in one place.

- `OPENAI_API_KEY` set: OpenAI chat model and OpenAI embeddings.
- `WWHD_LLM_BASE_URL` set: any OpenAI-compatible chat server (vLLM, Ollama, llama.cpp);
  embeddings stay the bundled e5 unless `WWHD_EMBEDDINGS_BASE_URL` names a server for them.
- neither: no chat model; the answer node quotes the knowledge base (the embedded default).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel

from wwhd.core.settings import Settings, secret_value
from wwhd.tools.embeddings import E5_DIMENSIONS, E5_MODEL_NAME, E5Embeddings, shared_e5

DEFAULT_OPENAI_CHAT_MODEL = "gpt-4.1-mini"
DEFAULT_OPENAI_EMBEDDING_MODEL = "text-embedding-3-small"
EXTRACTIVE = "extractive"


@dataclass(frozen=True)
class ProviderInfo:
    """Which chat and embedding models this process uses, for /health and logs."""

    kind: str  # "openai", "openai-compatible" or "extractive"
    chat_model: str | None
    base_url: str | None
    embedding_model: str


def chat_provider(settings: Settings) -> ProviderInfo:
    """Describe the chat provider the environment selects."""
    embedding_model = embedding_model_name(settings)
    if settings.llm_base_url:
        return ProviderInfo(
            "openai-compatible", settings.chat_model or "default", settings.llm_base_url,
            embedding_model,
        )
    if settings.openai_api_key:
        return ProviderInfo(
            "openai", settings.chat_model or DEFAULT_OPENAI_CHAT_MODEL, None, embedding_model
        )
    return ProviderInfo(EXTRACTIVE, None, None, embedding_model)


def make_chat_model(settings: Settings, model: str | None = None) -> BaseChatModel | None:
    """The chat model for this environment, or None for the extractive default.

    `model` overrides the configured model name (the per-assistant configurable field).
    """
    provider = chat_provider(settings)
    if provider.kind == EXTRACTIVE:
        return None
    from langchain_openai import ChatOpenAI

    compatible = provider.kind == "openai-compatible"
    return ChatOpenAI(
        model=model or provider.chat_model,
        base_url=provider.base_url,
        api_key=(settings.llm_api_key or "not-needed") if compatible else settings.openai_api_key,
        temperature=0,
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        # langchain-openai sends `max_completion_tokens`, which llama.cpp and some other
        # compatible servers ignore (a reply then runs to the end of the context window).
        max_tokens=None if compatible else settings.llm_max_tokens,
        extra_body={"max_tokens": settings.llm_max_tokens} if compatible else None,
    )


def embedding_model_name(settings: Settings) -> str:
    """Name of the dense embedding model the collection is built with."""
    if settings.embedding_model:
        return settings.embedding_model
    if settings.openai_api_key and not settings.llm_base_url:
        return DEFAULT_OPENAI_EMBEDDING_MODEL
    return E5_MODEL_NAME


def get_dense_embeddings(settings: Settings) -> Embeddings:
    """The dense embedding model (one instance per process and model)."""
    return _dense_embeddings(
        embedding_model_name(settings), settings.embeddings_base_url,
        secret_value(settings.openai_api_key), secret_value(settings.llm_api_key),
    )


@functools.lru_cache(maxsize=4)
def _dense_embeddings(
    model: str, base_url: str | None, openai_key: str | None, llm_key: str | None
) -> Embeddings:
    if model == E5_MODEL_NAME:
        return shared_e5()
    from langchain_openai import OpenAIEmbeddings

    # Against a local server tiktoken would try to download its encoding; skip that check.
    return OpenAIEmbeddings(
        model=model,
        base_url=base_url,
        api_key=(llm_key or "not-needed") if base_url else openai_key,
        check_embedding_ctx_length=base_url is None,
    )


def embedding_dimensions(embeddings: Embeddings) -> int:
    """Vector size of an embedding model (asks the model once when it is not known)."""
    if isinstance(embeddings, E5Embeddings):
        return E5_DIMENSIONS
    return len(embeddings.embed_query("dimension probe"))
