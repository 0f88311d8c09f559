"""Secrets from AWS Secrets Manager, read once at start-up into the process environment.

Set `WWHD_SECRETS_ID` to a secret's name or ARN whose value is a JSON object such as
`{"OPENAI_API_KEY": "sk-...", "JWT_SECRET": "..."}`. Values already in the environment win (so an
ECS task definition's `secrets` or a local override take precedence). A secret that cannot be read,
is not a JSON object, or leaves `JWT_SECRET` unset (unless `WWHD_JWT_JWKS_URL` protects the API
with an identity provider's keys) is a start-up error: a server configured to be protected must
never come up open.

The region is the ARN's when the id is an ARN, else boto3's (`AWS_REGION`); the endpoint is boto3's
(`AWS_ENDPOINT_URL` is honoured).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, MutableMapping
from typing import Any

from wwhd.core.errors import ConfigurationError

log = logging.getLogger(__name__)

SECRETS_ID_VAR = "WWHD_SECRETS_ID"
REQUIRED_KEYS = ("JWT_SECRET",)
# Only these names may come from the secret: a secret must not be able to rewrite PATH & co.
ALLOWED_KEYS = ("OPENAI_API_KEY", "JWT_SECRET", "WWHD_LLM_API_KEY", "WWHD_QDRANT_API_KEY")


def load_secrets_into_environ(
    environ: MutableMapping[str, str] | None = None,
    client_factory: Callable[[str | None], Any] | None = None,
) -> list[str]:
    """Copy the secret's values into `environ` (default `os.environ`) where not already set.

    Does nothing when `WWHD_SECRETS_ID` is unset. Returns the names it set. Raises
    ConfigurationError, naming the secret and what to check, when the secret cannot be used.
    `client_factory(region)` builds the Secrets Manager client (tests and callers may inject one).
    """
    env = os.environ if environ is None else environ
    secret_id = (env.get(SECRETS_ID_VAR) or "").strip()
    if not secret_id:
        return []
    # Read even when the environment already has every value: a wrong WWHD_SECRETS_ID should
    # fail the first start-up, not the day someone removes an override.
    missing = [name for name in ALLOWED_KEYS if not (env.get(name) or "").strip()]
    values = read_secret(secret_id, client_factory or _client)
    unknown = sorted(set(values) - set(ALLOWED_KEYS))
    if unknown:
        log.warning("secrets: %s also holds %s; ignored", secret_id, ", ".join(unknown))
    loaded = []
    for name in missing:
        value = values.get(name)
        if isinstance(value, str) and value.strip():
            env[name] = value.strip()
            loaded.append(name)
    # With an identity provider (JWKS) the API is protected without a JWT_SECRET.
    required = () if (env.get("WWHD_JWT_JWKS_URL") or "").strip() else REQUIRED_KEYS
    absent = [name for name in required if not (env.get(name) or "").strip()]
    if absent:
        raise ConfigurationError(
            f"the secret {secret_id!r} ({SECRETS_ID_VAR}) has no {', '.join(absent)} and the "
            f"environment does not set it: add it to the secret's JSON, e.g. "
            f'{{"JWT_SECRET": "<a long random string>", "OPENAI_API_KEY": "sk-..."}} '
            "(or set WWHD_JWT_JWKS_URL to accept an identity provider's tokens instead)."
        )
    if "OPENAI_API_KEY" not in values and not env.get("OPENAI_API_KEY"):
        log.warning(
            "secrets: %s has no OPENAI_API_KEY; the server uses WWHD_LLM_BASE_URL or the "
            "extractive answerer", secret_id,
        )
    # Names only: secret values never reach the logs.
    log.info("secrets: loaded %s from %s", ", ".join(loaded) or "nothing new", secret_id)
    return loaded


def read_secret(secret_id: str, client_factory: Callable[[str | None], Any]) -> dict[str, Any]:
    """The secret's JSON object; ConfigurationError saying what to check if that fails."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    where = f"the secret {secret_id!r} ({SECRETS_ID_VAR})"
    try:
        client = client_factory(region_of(secret_id))
        response = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        hint = {
            "ResourceNotFoundException": "it does not exist in this account and region: check "
            "the name or ARN, and AWS_REGION",
            "AccessDeniedException": "the role lacks secretsmanager:GetSecretValue on it (and "
            "kms:Decrypt if it uses a customer key)",
            "DecryptionFailure": "its KMS key cannot be used: grant kms:Decrypt on the key",
            "InvalidRequestException": "it is scheduled for deletion or has no current value",
        }.get(code, "see the error above")
        raise ConfigurationError(f"cannot read {where}: {code}: {hint}.") from exc
    except NoCredentialsError as exc:
        raise ConfigurationError(
            f"cannot read {where}: no AWS credentials. Run with a task role, or set "
            "AWS_PROFILE; or unset WWHD_SECRETS_ID and set the values in the environment."
        ) from exc
    except NoRegionError as exc:
        raise ConfigurationError(
            f"cannot read {where}: no AWS region. Set AWS_REGION or use the secret's full ARN."
        ) from exc
    except BotoCoreError as exc:
        raise ConfigurationError(
            f"cannot read {where}: {exc}. Check the network (a VPC endpoint or NAT for "
            "Secrets Manager) or AWS_ENDPOINT_URL."
        ) from exc
    text = response.get("SecretString")
    if text is None:
        raise ConfigurationError(
            f"{where} is a binary secret: store a JSON object as its secret string instead."
        )
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"{where} is not JSON: store an object such as "
            '{"OPENAI_API_KEY": "sk-...", "JWT_SECRET": "..."}.'
        ) from exc
    if not isinstance(values, dict):
        raise ConfigurationError(f"{where} must be a JSON object of NAME: value pairs.")
    return values


def region_of(secret_id: str) -> str | None:
    """The region named in a secret ARN (None for a plain name: boto3's default applies)."""
    parts = secret_id.split(":")
    if secret_id.startswith("arn:") and len(parts) > 3 and parts[3]:
        return parts[3]
    return None


def _client(region: str | None) -> Any:
    import boto3
    from botocore.config import Config

    # Few quick retries: start-up must fail in seconds, not hang, when AWS is unreachable.
    config = Config(
        retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10
    )
    return boto3.client("secretsmanager", region_name=region, config=config)
