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


def test_models_sections_are_validated():
    base = load_config(REPO / "config.yaml")
    bad = {
        **{k: v for k, v in base.items() if k not in ("unimodal", "fusion", "search")},
        "unimodal": {
            "f": {"modality": "face", "kind": "mlp", "embedding": "nope"},
            "a": {
                "modality": "audio",
                "kind": "temporal",
                "embedding": "egemaps",
                "encoder": "lstm",
            },
            "t": {"modality": "scene", "kind": "text_finetune"},
            "s": {"modality": "scene", "kind": "linear", "embedding": "motion", "lr": "fast"},
        },
        "fusion": {
            "runs": {
                "r": {"models": ["f", "missing"], "params": {"d": 100, "heads": 3}},
                "two_scene": {"models": ["s", "s"]},
            },
            "submission": "nope",
        },
        "search": {"x": {"run": "unknown"}},
    }
    with pytest.raises(ConfigError) as caught:
        validate_config(bad)
    message = str(caught.value)
    for expected in (
        "unimodal.f.embedding: no encoder named 'nope' under embeddings.face",
        "unimodal.a.encoder: must be one of mamba, transformer",
        "unimodal.t: kind text_finetune works on text, not scene",
        "unimodal.s.lr: expected a number",
        "fusion.runs.r.models: no unimodal model named 'missing'",
        "fusion.runs.two_scene.models: at most one model per modality",
        "fusion.submission: no fusion run named 'nope'",
        "search.x.run: no fusion run named 'unknown'",
    ):
        assert expected in message, expected


def test_yaml_exponent_without_dot_is_a_number():
    config = load_config(REPO / "config.yaml")
    config["unimodal"]["face_mlp"]["lr"] = "1e-3"  # YAML 1.1 reads 1e-3 as a string
    from ahrec.models.specs import unimodal_spec

    assert unimodal_spec(validate_config(config), "face_mlp").options.lr == 0.001
