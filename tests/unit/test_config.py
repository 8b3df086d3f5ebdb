"""Config validation: defaults filled, one clear message per bad key."""

from pathlib import Path

import pytest

from ahrec.config import load_config, lookup, validate_config
from ahrec.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_shipped_config_is_valid_and_complete():
    config = load_config(REPO / "config.yaml")
    assert config["corpus"]["type"] == "demo"
    assert config["scene"]["n_frames"] == 16
    assert config["face"]["n_frames"] == 30
    assert config["face"]["detector"]["kind"] == "haar"
    assert set(config["embeddings"]) == {"scene", "face", "audio", "text"}


def test_empty_config_gets_every_default():
    config = validate_config({})
    assert config["shards"] == 4
    assert config["media"]["audio_sample_rate"] == 16000
    assert config["demo"]["split_participants"] == {"train": 14, "val": 5, "test": 5}
    assert config["embeddings"]["text"]["tfidf"]["kind"] == "tfidf"


def test_unknown_key_is_named_with_a_suggestion():
    with pytest.raises(ConfigError) as caught:
        validate_config({"face": {"n_frame": 30}})
    message = str(caught.value)
    assert "face: unknown key 'n_frame'" in message
    assert "did you mean 'n_frames'" in message


def test_wrong_type_and_impossible_value_each_reported():
    with pytest.raises(ConfigError) as caught:
        validate_config({"shards": "four", "scene": {"n_frames": 0}, "device": "tpu"})
    message = str(caught.value)
    assert "shards: 'four' is not of type 'integer'" in message
    assert "scene.n_frames: 0 is less than the minimum of 1" in message
    assert "device: 'tpu' is not one of" in message


def test_cross_field_checks():
    with pytest.raises(ConfigError, match="corpus.root: required"):
        validate_config({"corpus": {"type": "bah"}})
    with pytest.raises(ConfigError, match="must add up to demo.participants"):
        validate_config({"demo": {"participants": 10}})
    with pytest.raises(ConfigError, match="face.detector.checkpoint: required"):
        validate_config({"face": {"detector": {"kind": "yolo"}}})


def test_encoder_options_are_checked():
    bad = {"embeddings": {"text": {"m": {"kind": "transformer", "pooling": "max", "modle": "x"}}}}
    with pytest.raises(ConfigError) as caught:
        validate_config(bad)
    message = str(caught.value)
    assert "embeddings.text.m: unknown option 'modle'" in message
    assert "did you mean 'model'" in message
    assert "embeddings.text.m.pooling: must be 'mean' or 'cls'" in message
    with pytest.raises(ConfigError, match="is not a scene encoder"):
        validate_config({"embeddings": {"scene": {"x": {"kind": "wav2vec2"}}}})


def test_yaml_is_loaded_safely(tmp_path):
    evil = tmp_path / "config.yaml"
    evil.write_text("shards: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(evil)


def test_lookup_names_missing_key():
    assert lookup({"a": {"b": 1}}, "a/b") == 1
    with pytest.raises(ConfigError, match="'a.c' is missing"):
        lookup({"a": {"b": 1}}, "a/c")
