"""Secrets Manager at start-up (wwhd/secrets.py) against moto's server over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from wwhd.core.errors import ConfigurationError
from wwhd.server.secrets import load_secrets_into_environ, region_of

from aws_loopback import (
    REGION,
    apply_aws_environment,
    aws_environment,
    free_port,
)

REPO = Path(__file__).resolve().parents[2]
SECRET = {"OPENAI_API_KEY": "sk-test-not-real", "JWT_SECRET": "jwt-from-secrets-manager"}


def create_secret(name: str, value: str | dict, region: str = REGION) -> str:
    """A secret in moto; returns its ARN."""
    client = boto3.client("secretsmanager", region_name=region)
    text = value if isinstance(value, str) else json.dumps(value)
    return client.create_secret(Name=name, SecretString=text)["ARN"]


def test_nothing_happens_without_a_secret_id():
    def no_client(region):
        raise AssertionError("Secrets Manager must not be called without WWHD_SECRETS_ID")

    env = {"JWT_SECRET": "kept"}
    assert load_secrets_into_environ(env, client_factory=no_client) == []
    assert env == {"JWT_SECRET": "kept"}


def test_secret_values_are_loaded_into_the_environment(aws):
    create_secret("wwhd/prod", {**SECRET, "PATH": "/evil", "OTHER": "x"})
    env = {"WWHD_SECRETS_ID": "wwhd/prod", "PATH": "/usr/bin"}

    loaded = load_secrets_into_environ(env)

    assert loaded == ["OPENAI_API_KEY", "JWT_SECRET"]
    assert env["OPENAI_API_KEY"] == SECRET["OPENAI_API_KEY"]
    assert env["JWT_SECRET"] == SECRET["JWT_SECRET"]
    # Only the known names: a secret cannot rewrite the rest of the environment.
    assert env["PATH"] == "/usr/bin" and "OTHER" not in env


def test_environment_values_win(aws):
    create_secret("wwhd/prod", SECRET)
    env = {"WWHD_SECRETS_ID": "wwhd/prod", "JWT_SECRET": "set-by-the-operator"}

    assert load_secrets_into_environ(env) == ["OPENAI_API_KEY"]
    assert env["JWT_SECRET"] == "set-by-the-operator"


def test_an_arn_is_read_in_its_own_region(aws):
    arn = create_secret("wwhd/eu", SECRET, region="eu-west-1")
    assert region_of(arn) == "eu-west-1"
    env = {"WWHD_SECRETS_ID": arn}  # the default region (us-east-1) does not hold it

    assert load_secrets_into_environ(env) == ["OPENAI_API_KEY", "JWT_SECRET"]


def test_openai_key_is_optional_but_jwt_secret_is_not(aws):
    create_secret("wwhd/no-openai", {"JWT_SECRET": "j"})
    env = {"WWHD_SECRETS_ID": "wwhd/no-openai"}
    assert load_secrets_into_environ(env) == ["JWT_SECRET"]

    create_secret("wwhd/no-jwt", {"OPENAI_API_KEY": "sk"})
    with pytest.raises(ConfigurationError, match="has no JWT_SECRET"):
        load_secrets_into_environ({"WWHD_SECRETS_ID": "wwhd/no-jwt"})
    # An identity provider's keys protect the API without a JWT_SECRET.
    with_idp = {"WWHD_SECRETS_ID": "wwhd/no-jwt", "WWHD_JWT_JWKS_URL": "https://idp/jwks"}
    assert load_secrets_into_environ(with_idp) == ["OPENAI_API_KEY"]
    assert "JWT_SECRET" not in with_idp


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (None, "ResourceNotFoundException: it does not exist"),
        ("not json", "is not JSON"),
        ('["a list"]', "must be a JSON object"),
    ],
)
def test_a_missing_or_unusable_secret_is_a_startup_error(aws, stored, message):
    if stored is not None:
        create_secret("wwhd/broken", stored)
    env = {"WWHD_SECRETS_ID": "wwhd/broken"}

    with pytest.raises(ConfigurationError, match=message) as raised:
        load_secrets_into_environ(env)

    assert "wwhd/broken" in str(raised.value)
    assert "JWT_SECRET" not in env


def test_a_binary_secret_is_refused(aws):
    boto3.client("secretsmanager").create_secret(Name="wwhd/bin", SecretBinary=b"\x00\x01")
    with pytest.raises(ConfigurationError, match="binary secret"):
        load_secrets_into_environ({"WWHD_SECRETS_ID": "wwhd/bin"})


def test_an_unreachable_secrets_manager_fails_fast(aws, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match="cannot read the secret 'wwhd/prod'"):
        load_secrets_into_environ({"WWHD_SECRETS_ID": "wwhd/prod"})
    assert time.monotonic() - started < 20


def test_server_refuses_to_start_when_the_secret_is_missing(aws, tmp_path):
    """`wwhd serve --production` exits with the reason instead of serving an open API."""
    env = {
        name: value for name, value in os.environ.items()
        if name not in ("JWT_SECRET", "OPENAI_API_KEY", "QDRANT_URL", "LANGSMITH_API_KEY")
    }
    port = free_port()
    apply_aws_environment(env, aws_environment(aws, tmp_path))
    env.update(APP_ENV="production", WWHD_SECRETS_ID="wwhd/absent",
               WWHD_DATA_DIR=str(tmp_path / "data"))

    result = subprocess.run(
        [sys.executable, "-m", "wwhd.cli", "serve", "--production", "--no-ingest",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )

    assert result.returncode == 2, result.stderr
    assert "configuration error" in result.stderr
    assert "wwhd/absent" in result.stderr and "ResourceNotFoundException" in result.stderr
    assert not (tmp_path / "data").exists()  # it stopped before touching any state
