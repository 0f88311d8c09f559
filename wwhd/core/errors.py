"""Errors every layer raises or catches. Each message says what is wrong and what to do."""

from __future__ import annotations


class ConfigurationError(RuntimeError):
    """A setting is missing or invalid; the message names the variable and what to do."""


class StoreUnavailable(RuntimeError):
    """The vector store cannot be reached or opened; the message says what to do."""


class EmbeddingMismatch(RuntimeError):
    """The collection was built with another embedding model or vector size."""


class UnsupportedUpstream(RuntimeError):
    """An installed upstream package is outside the version range this code was checked with."""


class ServiceUnavailable(RuntimeError):
    """A service the server needs (PostgreSQL, Redis in cluster mode) cannot be reached; the
    message says which and what to do."""
