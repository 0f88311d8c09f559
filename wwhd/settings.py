"""Process-wide settings, read from the environment in one place.

Names fixed by the infrastructure design (`QDRANT_URL`, `SQLITE_PATH`, `OPENAI_API_KEY`,
`JWT_SECRET`, `APP_ENV`) are read as they are; everything the project adds is `WWHD_`-prefixed.
The README's configuration table lists every variable read here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

ENVIRONMENTS = ("development", "production")
Number = TypeVar("Number", int, float)


class ConfigurationError(RuntimeError):
    """A setting is missing or invalid; the message says which and what to do."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _env_number(name: str, default: Number) -> Number:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return type(default)(raw)
    except ValueError as exc:
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise ConfigurationError(f"{name}={raw!r} is not {kind}") from exc


@dataclass(frozen=True)
class Settings:
    """Everything the server, the CLI and the graphs read from the environment."""

    app_env: str
    data_dir: Path
    corpus_dir: Path
    qdrant_url: str | None
    qdrant_api_key: str | None
    collection: str
    sqlite_path: Path
    openai_api_key: str | None
    llm_base_url: str | None
    llm_api_key: str | None
    chat_model: str | None
    embedding_model: str | None
    embeddings_base_url: str | None
    llm_timeout_s: float
    llm_max_retries: int
    llm_max_tokens: int
    jwt_secret: str | None
    top_k: int

    @property
    def qdrant_path(self) -> Path:
        """Folder of the embedded Qdrant (used only when `QDRANT_URL` is unset)."""
        return self.data_dir / "qdrant"

    @property
    def qdrant_location(self) -> str:
        """Human-readable location of the vector store, for logs and errors."""
        return self.qdrant_url or f"embedded:{self.qdrant_path}"

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"


def load_settings() -> Settings:
    """Read the settings from the environment (call again after changing it)."""
    app_env = (_env("APP_ENV", "development") or "development").lower()
    if app_env not in ENVIRONMENTS:
        raise ConfigurationError(
            f"APP_ENV={app_env!r} is not one of {', '.join(ENVIRONMENTS)}"
        )
    data_dir = Path(_env("WWHD_DATA_DIR", "data") or "data").expanduser()
    top_k = _env_number("WWHD_TOP_K", 4)
    if not 1 <= top_k <= 20:
        raise ConfigurationError(f"WWHD_TOP_K={top_k} must be between 1 and 20")
    return Settings(
        app_env=app_env,
        data_dir=data_dir,
        corpus_dir=Path(_env("WWHD_CORPUS_DIR", "corpus") or "corpus").expanduser(),
        qdrant_url=_env("QDRANT_URL"),
        qdrant_api_key=_env("WWHD_QDRANT_API_KEY"),
        collection=_env("WWHD_COLLECTION", "wwhd_kb") or "wwhd_kb",
        sqlite_path=Path(_env("SQLITE_PATH") or data_dir / "checkpoints.sqlite").expanduser(),
        openai_api_key=_env("OPENAI_API_KEY"),
        llm_base_url=_env("WWHD_LLM_BASE_URL"),
        llm_api_key=_env("WWHD_LLM_API_KEY"),
        chat_model=_env("WWHD_CHAT_MODEL"),
        embedding_model=_env("WWHD_EMBEDDING_MODEL"),
        embeddings_base_url=_env("WWHD_EMBEDDINGS_BASE_URL"),
        llm_timeout_s=_env_number("WWHD_LLM_TIMEOUT", 60.0),
        llm_max_retries=_env_number("WWHD_LLM_MAX_RETRIES", 2),
        llm_max_tokens=_env_number("WWHD_LLM_MAX_TOKENS", 700),
        jwt_secret=_env("JWT_SECRET"),
        top_k=top_k,
    )
