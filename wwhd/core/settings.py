"""Process-wide settings: every environment variable the project reads, typed, in one class.

Names fixed by the infrastructure design (`QDRANT_URL`, `SQLITE_PATH`, `OPENAI_API_KEY`,
`JWT_SECRET`, `APP_ENV`) are read as they are; everything the project adds is `WWHD_`-prefixed.
The README's configuration table lists every field here. Empty values count as unset. Secrets
are `SecretStr`: they never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from wwhd.core.errors import ConfigurationError

Environment = Literal["development", "production"]
# A comma-separated variable ("a, b"), read as it is written rather than as JSON.
NameList = Annotated[tuple[str, ...] | None, NoDecode]


def _env(name: str, *more: str) -> dict:
    # `alias` makes the variable's name the one errors report; populate_by_name keeps the
    # Python name usable in code and tests.
    return {"validation_alias": AliasChoices(name, *more)}


class Settings(BaseSettings):
    """Everything the server, the CLI, the graphs and the evals read from the environment."""

    model_config = SettingsConfigDict(
        env_ignore_empty=True, populate_by_name=True, frozen=True, extra="ignore",
        case_sensitive=False,
    )

    app_env: Environment = Field("development", **_env("APP_ENV"))
    data_dir: Path = Field(Path("data"), **_env("WWHD_DATA_DIR"))
    corpus_dir: Path = Field(Path("corpus"), **_env("WWHD_CORPUS_DIR"))
    # Vector store
    qdrant_url: str | None = Field(None, **_env("QDRANT_URL"))
    qdrant_api_key: SecretStr | None = Field(None, **_env("WWHD_QDRANT_API_KEY"))
    collection: str = Field("wwhd_kb", min_length=1, **_env("WWHD_COLLECTION"))
    sqlite_path_override: Path | None = Field(None, **_env("SQLITE_PATH"))
    # Models
    openai_api_key: SecretStr | None = Field(None, **_env("OPENAI_API_KEY"))
    llm_base_url: str | None = Field(None, **_env("WWHD_LLM_BASE_URL"))
    llm_api_key: SecretStr | None = Field(None, **_env("WWHD_LLM_API_KEY"))
    chat_model: str | None = Field(None, **_env("WWHD_CHAT_MODEL"))
    embedding_model: str | None = Field(None, **_env("WWHD_EMBEDDING_MODEL"))
    embeddings_base_url: str | None = Field(None, **_env("WWHD_EMBEDDINGS_BASE_URL"))
    llm_timeout_s: float = Field(60.0, gt=0, **_env("WWHD_LLM_TIMEOUT"))
    llm_max_retries: int = Field(2, ge=0, le=10, **_env("WWHD_LLM_MAX_RETRIES"))
    llm_max_tokens: int = Field(700, ge=16, **_env("WWHD_LLM_MAX_TOKENS"))
    model_probe_ttl_s: float = Field(60.0, ge=0, **_env("WWHD_MODEL_PROBE_TTL_S"))
    # Per-run defaults (graphs/context.py takes these as its defaults)
    top_k: int = Field(4, ge=1, le=20, **_env("WWHD_TOP_K"))
    max_quotes: int = Field(6, ge=1, le=20, **_env("WWHD_MAX_QUOTES"))
    max_message_chars: int = Field(8000, ge=1, **_env("WWHD_MAX_MESSAGE_CHARS"))
    sources_in_text: bool = Field(False, **_env("WWHD_SOURCES_IN_TEXT"))
    # Auth
    jwt_secret: SecretStr | None = Field(None, **_env("JWT_SECRET"))
    jwt_audience: str | None = Field(None, **_env("WWHD_JWT_AUDIENCE"))
    jwt_issuer: str | None = Field(None, **_env("WWHD_JWT_ISSUER"))
    jwt_jwks_url: str | None = Field(None, pattern=r"^https?://", **_env("WWHD_JWT_JWKS_URL"))
    jwt_jwks_cache_s: float = Field(300.0, gt=0, **_env("WWHD_JWT_JWKS_CACHE_S"))
    jwt_jwks_cooldown_s: float = Field(30.0, ge=0, **_env("WWHD_JWT_JWKS_COOLDOWN_S"))
    # Browsers (CORS); None: the default for APP_ENV (wwhd/server/cors.py). Not named
    # cors_allow_origins: with populate_by_name a field's own name is read from the environment
    # too, and CORS_ALLOW_ORIGINS is langgraph-api's variable.
    cors_origins: NameList = Field(None, **_env("WWHD_CORS_ALLOW_ORIGINS"))
    cors_request_headers: NameList = Field(None, **_env("WWHD_CORS_ALLOW_HEADERS"))
    cors_response_headers: NameList = Field(None, **_env("WWHD_CORS_EXPOSE_HEADERS"))
    # Retention
    retention_interval_s: float = Field(3600.0, ge=0, **_env("WWHD_RETENTION_INTERVAL_S"))
    prune_after_s: float = Field(86400.0, ge=0, **_env("WWHD_PRUNE_AFTER_S"))
    thread_ttl_days: float = Field(0.0, ge=0, **_env("WWHD_THREAD_TTL_DAYS"))
    # AWS
    secrets_id: str | None = Field(None, **_env("WWHD_SECRETS_ID"))
    s3_endpoint_url: str | None = Field(None, **_env("WWHD_S3_ENDPOINT_URL"))
    # deploy/entrypoint.sh ingests from here before serving (validated here all the same)
    ingest_uri: str | None = Field(None, pattern=r"^s3://[^/]+", **_env("WWHD_INGEST_URI"))
    # Server process
    host: str = Field("127.0.0.1", **_env("HOST"))
    port: int = Field(2024, ge=0, le=65535, **_env("PORT"))  # 0: any free port
    n_jobs_per_worker: int | None = Field(None, ge=1, **_env("N_JOBS_PER_WORKER"))
    # Cluster mode: both set, `wwhd serve` runs Aegra on PostgreSQL and Redis (wwhd/server/
    # cluster.py); the names are Aegra's own. Secrets: a URL may carry a password.
    database_url: SecretStr | None = Field(None, **_env("DATABASE_URL"))
    redis_url: SecretStr | None = Field(None, **_env("REDIS_URL"))
    # Evals: the LLM-as-judge
    judge_base_url: str | None = Field(None, **_env("WWHD_JUDGE_BASE_URL"))
    judge_model: str | None = Field(None, **_env("WWHD_JUDGE_MODEL"))
    judge_api_key: SecretStr | None = Field(None, **_env("WWHD_JUDGE_API_KEY"))

    @field_validator("app_env", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("cors_origins", "cors_request_headers", "cors_response_headers",
                     mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        # A browser's Origin header is scheme://host[:port], never with a path: an entry such
        # as "https://app.example/" would match nothing, silently.
        for origin in value or ():
            if origin != "*" and not re.fullmatch(r"https?://[^/\s]+", origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port] with no path or "
                    "trailing slash (e.g. https://app.example.com), or * for any"
                )
        return value

    @model_validator(mode="after")
    def _jwks_needs_issuer_and_audience(self) -> Settings:
        # An identity provider signs tokens for every application it serves (and some, such as
        # Entra ID's common keys, for every tenant): its keys alone say nothing about whether a
        # token was meant for this server. `iss` and `aud` do.
        if self.jwt_jwks_url and not (self.jwt_issuer and self.jwt_audience):
            missing = [name for name, value in (("WWHD_JWT_ISSUER", self.jwt_issuer),
                                                ("WWHD_JWT_AUDIENCE", self.jwt_audience))
                       if not value]
            raise ValueError(
                f"WWHD_JWT_JWKS_URL is set but {' and '.join(missing)} "
                f"{'are' if len(missing) > 1 else 'is'} not: set WWHD_JWT_ISSUER to the "
                "identity provider's issuer (the tokens' 'iss') and WWHD_JWT_AUDIENCE to this "
                "API's audience (their 'aud'), or tokens the same provider issued for other "
                "applications would be accepted"
            )
        return self

    @model_validator(mode="after")
    def _cluster_needs_both(self) -> Settings:
        if (self.database_url is None) != (self.redis_url is None):
            given, missing = (("DATABASE_URL", "REDIS_URL") if self.database_url is not None
                              else ("REDIS_URL", "DATABASE_URL"))
            raise ValueError(
                f"{given} is set but {missing} is not: cluster mode needs both (PostgreSQL for "
                "threads, runs and checkpoints; Redis for run dispatch and streams). Set "
                f"{missing}, or unset {given} for the single-process server"
            )
        return self

    @field_validator("data_dir", "corpus_dir", "sqlite_path_override")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @property
    def sqlite_path(self) -> Path:
        """The SQLite checkpoint file (`SQLITE_PATH`, else under the data folder)."""
        return self.sqlite_path_override or self.data_dir / "checkpoints.sqlite"

    @property
    def edge_store_path(self) -> Path:
        """Folder of the embedded store, qdrant-edge (used only when `QDRANT_URL` is unset)."""
        return self.data_dir / "qdrant-edge"

    @property
    def qdrant_path(self) -> Path:
        """Folder of the earlier embedded store (qdrant-client local mode): read once, to
        migrate its collection into `edge_store_path`."""
        return self.data_dir / "qdrant"

    @property
    def qdrant_location(self) -> str:
        """Human-readable location of the vector store, for logs and errors."""
        return self.qdrant_url or f"embedded:{self.edge_store_path}"

    @property
    def cluster_mode(self) -> bool:
        """Whether the server runs as one replica of a cluster (`DATABASE_URL` and `REDIS_URL`
        set): threads, runs and checkpoints in PostgreSQL, not in this process and SQLite."""
        return self.database_url is not None and self.redis_url is not None

    @property
    def is_production(self) -> bool:
        """Whether `APP_ENV` is production."""
        return self.app_env == "production"

    @property
    def auth_enabled(self) -> bool:
        """Whether API routes need a token (`JWT_SECRET` or `WWHD_JWT_JWKS_URL` is set)."""
        return self.jwt_secret is not None or self.jwt_jwks_url is not None


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings from the environment (call again after changing it).

    Raises ConfigurationError naming each variable that is invalid and why.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "settings"
            given = error.get("input")
            shown = "" if _is_secret(name) or isinstance(given, dict) else f"={given!r}"
            problems.append(f"{name}{shown}: {error['msg']}")
        raise ConfigurationError(
            "invalid configuration: " + "; ".join(problems)
            + ". Fix the environment variable(s) named (see the README's configuration table)."
        ) from None


@functools.cache
def process_settings() -> Settings:
    """The settings read once for this process: the server's view (its environment is fixed
    once it starts; reading and validating costs about a millisecond, too much per request)."""
    return load_settings()


def _is_secret(name: str) -> bool:
    return any(word in name.upper() for word in ("KEY", "SECRET", "TOKEN"))


def secret_value(secret: SecretStr | None) -> str | None:
    """The plain value of an optional secret (only where it is handed to a client library)."""
    return secret.get_secret_value() if secret is not None else None
