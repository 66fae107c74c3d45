from pathlib import Path

import pytest
import yaml

from logo_similarity.config import Settings, load_settings
from logo_similarity.config.settings import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_default_yaml_mirrors_the_typed_defaults():
    assert yaml.safe_load((REPO / "config" / "default.yaml").read_text()) == Settings().model_dump(mode="json")


def test_precedence_defaults_yaml_env_overrides(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("model:\n  pooling: avg\n  threads: 3\nsearch:\n  k: 50\n")
    env = {"LOGO_SIM__MODEL__THREADS": "4", "LOGO_SIM__SEARCH__K": "60"}
    s = load_settings(cfg, overrides={"search": {"k": 70}}, environ=env)
    assert s.model.pooling == "avg"  # from yaml
    assert s.model.threads == 4  # env beats yaml
    assert s.search.k == 70  # explicit beats env
    assert s.model.input_size == 224  # default


def test_config_file_from_env(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("search:\n  k: 5\n")
    assert load_settings(environ={"LOGO_SIM_CONFIG": str(cfg)}).search.k == 5


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"search": {"k": 0}}, "greater than or equal"),
        ({"model": {"pooling": "max"}}, "pooling"),
        ({"model": {"unknown": 1}}, "Extra inputs"),
    ],
)
def test_invalid_values_are_config_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(overrides=overrides, environ={})


def test_unreadable_yaml(tmp_path):
    (tmp_path / "bad.yaml").write_text("model: [unclosed")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "bad.yaml", environ={})
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(tmp_path / "list.yaml", environ={})
