"""Settings: one typed class, validated with messages that name the variable; secrets hidden."""

import pytest

from wwhd.core.errors import ConfigurationError
from wwhd.core.settings import Settings, load_settings
from wwhd.graphs.context import Context


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return set_


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("WWHD_TOP_K", "many", "valid integer"),
        ("WWHD_TOP_K", "50", "less than or equal to 20"),
        ("WWHD_RETENTION_INTERVAL_S", "-1", "greater than or equal to 0"),
        ("WWHD_THREAD_TTL_DAYS", "soon", "valid number"),
        ("APP_ENV", "staging", "'development' or 'production'"),
        ("PORT", "70000", "less than or equal to 65535"),
    ],
)
def test_an_invalid_variable_is_named_with_its_value_and_the_reason(env, name, value, says):
    env(**{name: value})
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    message = str(error.value)
    shown = value.lower() if name == "APP_ENV" else value  # APP_ENV is read case-insensitively
    assert f"{name}='{shown}'" in message, message
    assert says in message


def test_secrets_never_appear_in_a_repr_a_dump_or_an_error(env):
    env(OPENAI_API_KEY="sk-visible-1", JWT_SECRET="jwt-visible-2", WWHD_LLM_API_KEY="llm-3",
        WWHD_QDRANT_API_KEY="qd-4", WWHD_JUDGE_API_KEY="judge-5")
    settings = load_settings()
    shown = repr(settings) + str(settings) + str(settings.model_dump())
    for secret in ("sk-visible-1", "jwt-visible-2", "llm-3", "qd-4", "judge-5"):
        assert secret not in shown
    assert settings.jwt_secret.get_secret_value() == "jwt-visible-2"
    env(WWHD_TOP_K="x", JWT_SECRET="jwt-visible-2")
    with pytest.raises(ConfigurationError) as error:
        load_settings()
    assert "jwt-visible-2" not in str(error.value)


def test_empty_values_are_unset_and_paths_follow_the_data_folder(env, tmp_path):
    env(QDRANT_URL="", WWHD_DATA_DIR=str(tmp_path), APP_ENV=" Production ")
    settings = load_settings()
    assert settings.qdrant_url is None
    assert settings.sqlite_path == tmp_path / "checkpoints.sqlite"
    assert settings.qdrant_location == f"embedded:{tmp_path / 'qdrant-edge'}"
    assert settings.is_production
    env(SQLITE_PATH=str(tmp_path / "elsewhere.db"))
    assert load_settings().sqlite_path == tmp_path / "elsewhere.db"


def test_run_context_takes_its_defaults_from_the_settings_and_per_run_values_win(env):
    env(WWHD_TOP_K="7", WWHD_MAX_QUOTES="2", WWHD_CHAT_MODEL="some-model")
    context = Context()
    assert (context.top_k, context.max_quotes, context.chat_model) == (7, 2, "some-model")
    assert Context(top_k=3).top_k == 3
    with pytest.raises(ValueError, match="cannot be set over the API"):
        Context(dependencies={"knowledge_base": "x"})


def test_every_variable_in_the_readme_table_is_a_setting():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    named = {part.strip("` ") for row in rows for part in row.split("|")[1].split(",")}
    aliases = {choice for field in Settings.model_fields.values()
               for choice in field.validation_alias.choices}
    assert named and named <= aliases, named - aliases


def test_studio_sees_the_configurable_fields_but_not_the_dependencies():
    from wwhd.graphs.wwhd import graph

    schema = graph.get_context_jsonschema()
    assert {"chat_model", "top_k", "max_quotes", "max_message_chars"} <= set(schema["properties"])
    assert "dependencies" not in schema["properties"]
