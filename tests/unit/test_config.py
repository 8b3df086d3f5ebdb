"""Config validation: one path for every key, defaults filled once, one clear message per problem."""

from pathlib import Path

import pytest
import yaml

from ahrec.config import load_config, load_settings, validate_config
from ahrec.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_shipped_config_is_valid_and_complete():
    config = load_config(REPO / "config.yaml")
    assert config["corpus"]["type"] == "demo"
    assert config["corpus"]["folder"] == "results/demo_corpus"
    assert config["scene"]["n_frames"] == 16
    assert config["face"]["n_frames"] == 30
    # a kind entry comes back with every option of its kind filled in
    assert config["face"]["detector"] == {
        "kind": "mtcnn",
        "confidence": 0.9,
        "min_face_size": 20,
        "factor": 0.709,
        "batch_size": 16,
    }
    assert config["embeddings"]["scene"]["motion"] == {
        "kind": "motion_stats",
        "flow_size": 112,
        "histogram_bins": 8,
    }
    assert config["unimodal"]["face_mlp"]["patience"] == 20  # the MLP's own default
    assert config["unimodal"]["face_mlp"]["scheduler"] == "none"  # the trainer's default


def test_every_preset_is_a_valid_whole_configuration():
    presets = sorted((REPO / "presets").glob("*.yaml"))
    assert len(presets) >= 2
    for path in presets:
        raw = yaml.safe_load(path.read_text())
        assert raw.get("preset"), f"{path} must say `preset:` (it replaces config.yaml)"
        settings = load_settings(raw)
        assert settings.runs and settings.unimodal, path


def test_the_test_configuration_extends_config_yaml_with_its_differences():
    from tests.e2e.workflow import whole_config

    raw = yaml.safe_load((REPO / ".test" / "config.yaml").read_text())
    assert not raw.get("preset")  # the Snakefile reads config.yaml under it
    base = load_settings(load_config(REPO / "config.yaml"))
    test = load_settings(whole_config(REPO / ".test" / "config.yaml"))
    assert test.runs.keys() == base.runs.keys()  # the same runs, on a tiny corpus
    assert test.corpus.participants == 8 and test.config["fusion"]["seeds"] == [42, 2025]
    # each section it names changes something config.yaml says
    for section, value in raw.items():
        if isinstance(value, dict):
            for key in value:
                assert base.config[section].get(key) != test.config[section][key], (section, key)


def test_the_papers_runs_are_one_table_over_one_model_per_modality():
    config = load_config(REPO / "presets" / "paper.yaml")
    runs = config["fusion"]["runs"]
    table = [name for name in runs if name == "fusion" or name.startswith("ablation_")]
    assert len(table) == 11 and "fusion_proto" in runs
    assert runs["fusion"]["models"] == [
        "face_mlp",
        "scene_videomae",
        "audio_mamba",
        "text_distilroberta",
    ]
    assert runs["fusion_proto"]["prototypes"] and not runs["fusion"].get("prototypes")
    assert runs["ablation_scene_audio"]["models"] == ["scene_videomae", "audio_mamba"]
    assert runs["ablation_scene_audio"]["seeds"] == [42]
    assert runs["ablation_scene_audio"]["label"] == "Ablation: scene + audio"
    # a run of the configuration's own is merged over the table's run of its name
    changed = {
        "embeddings": config["embeddings"],
        "unimodal": config["unimodal"],
        "fusion": {
            "paper_runs": config["fusion"]["paper_runs"],
            "runs": {"fusion": {"label": "mine", "seeds": [7]}},
        },
    }
    merged = validate_config(changed)["fusion"]["runs"]
    assert merged["fusion"]["label"] == "mine" and merged["fusion"]["seeds"] == [7]
    assert merged["fusion"]["models"] == runs["fusion"]["models"]
    assert list(merged)[:3] == ["fusion", "fusion_proto", "ablation_face_audio"]


def test_the_papers_runs_need_a_declared_model_per_modality():
    with pytest.raises(ConfigError) as caught:
        validate_config(
            {
                "unimodal": {"f": {"modality": "face", "kind": "mlp", "embedding": "x"}},
                "fusion": {"paper_runs": {"face": "f", "scene": "f", "audio": "a", "text": "f"}},
            }
        )
    message = str(caught.value)
    assert "fusion.paper_runs.scene: 'f' is a face model, not a scene one" in message
    assert "fusion.paper_runs.audio: no unimodal model named 'a'" in message
    with pytest.raises(ConfigError, match=r"fusion.paper_runs: name a unimodal model for each"):
        validate_config({"fusion": {"paper_runs": {"face": "f"}}})
    with pytest.raises(ConfigError, match=r"fusion.paper_runs: 'smell' is not one of"):
        validate_config({"fusion": {"paper_runs": {"smell": "f"}}})


def test_empty_config_gets_every_default():
    config = validate_config({})
    assert config["shards"] == 4
    assert config["media"]["audio_sample_rate"] == 16000
    assert config["corpus"]["split_participants"] == {"train": 14, "val": 5, "test": 5}
    assert config["fusion"]["runs"] == {}  # no fusion.paper_runs: no run
    assert config["transcripts"]["asr"] == {"kind": "pocketsphinx", "language": "en"}
    assert config["embeddings"] == {"scene": {}, "face": {}, "audio": {}, "text": {}}


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


def test_options_depend_on_the_kind():
    with pytest.raises(ConfigError, match="corpus.root: required"):
        validate_config({"corpus": {"type": "bah"}})
    with pytest.raises(
        ConfigError, match="corpus: split_participants: .* must add up to participants"
    ):
        validate_config({"corpus": {"type": "demo", "participants": 10}})
    with pytest.raises(ConfigError, match="corpus: unknown option 'participants'"):
        validate_config({"corpus": {"type": "bah", "root": "x", "participants": 10}})
    # the demo's settings sit under corpus:, and a top-level demo: says so
    with pytest.raises(
        ConfigError, match="demo: the demo corpus's settings are options of its format"
    ):
        validate_config({"demo": {"participants": 30}})
    with pytest.raises(ConfigError, match=r"face.detector.checkpoint: required \(a local .pt file"):
        validate_config({"face": {"detector": {"kind": "yolo"}}})
    # a haar option is not a yolo option: the message lists yolo's own
    with pytest.raises(ConfigError) as caught:
        validate_config(
            {"face": {"detector": {"kind": "yolo", "checkpoint": "y.pt", "cascade": "x.xml"}}}
        )
    assert "face.detector: unknown option 'cascade'; valid options: batch_size, checkpoint" in str(
        caught.value
    )
    with pytest.raises(
        ConfigError, match=r"transcripts.asr.kind: 'wisper' .* \(did you mean 'whisper'\?\)"
    ):
        validate_config({"transcripts": {"asr": {"kind": "wisper"}}})
    with pytest.raises(ConfigError, match="transcripts.asr.model: required"):
        validate_config({"transcripts": {"asr": {"kind": "whisper"}}})
    with pytest.raises(ConfigError, match="pocketsphinx ships an English model only"):
        validate_config({"transcripts": {"asr": {"kind": "pocketsphinx", "language": "de"}}})
    with pytest.raises(ConfigError, match="not a path"):
        validate_config({"face": {"detector": {"kind": "haar", "cascade": "/etc/passwd"}}})


def test_encoder_options_are_checked():
    bad = {"embeddings": {"text": {"m": {"kind": "transformer", "pooling": "max", "modle": "x"}}}}
    with pytest.raises(ConfigError) as caught:
        validate_config(bad)
    message = str(caught.value)
    assert "embeddings.text.m: unknown option 'modle'" in message
    assert "did you mean 'model'" in message
    assert "embeddings.text.m.pooling: must be one of mean, cls, got 'max'" in message
    with pytest.raises(
        ConfigError,
        match="'wav2vec2' is not a known encoder kind here; one of motion_stats, videomae",
    ):
        validate_config({"embeddings": {"scene": {"x": {"kind": "wav2vec2"}}}})


def test_yaml_is_loaded_safely(tmp_path):
    evil = tmp_path / "config.yaml"
    evil.write_text("shards: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="refused: .*python/object/apply.*never loaded"):
        load_config(evil)


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
            "m": {"modality": "face", "kind": "temporal", "embedding": "hog"},
        },
        "fusion": {
            "runs": {
                "r": {"models": ["f", "missing"], "params": {"d": 100, "heads": 3}},
                "two_scene": {"models": ["s", "s"]},
            },
            "submission": "nope",
        },
        "search": {"x": {"run": "unknown", "space": {"k": {"low": 8, "high": 4}}}},
    }
    with pytest.raises(ConfigError) as caught:
        validate_config(bad)
    message = str(caught.value)
    for expected in (
        "unimodal.f.embedding: no encoder named 'nope' under embeddings.face",
        "unimodal.a.encoder: must be one of mamba, transformer",
        "unimodal.t: kind text_finetune works on text, not scene",
        "unimodal.s.lr: expected a number",
        "unimodal.m.embedding: 'hog' holds no sequences",
        "fusion.runs.r.models: no unimodal model named 'missing'",
        "fusion.runs.r.params: d (100) must be divisible by heads (3)",
        "fusion.runs.two_scene.models: at most one model per modality",
        "fusion.submission: no fusion run named 'nope'",
        "search.x.space.k: low (8) is above high (4)",
    ):
        assert expected in message, expected


def test_yaml_exponent_without_dot_is_a_number():
    config = load_config(REPO / "config.yaml")
    config["unimodal"]["face_mlp"]["lr"] = "1e-3"  # YAML 1.1 reads 1e-3 as a string
    assert load_settings(config).unimodal["face_mlp"].options.lr == 0.001


def test_search_space_defaults_to_the_authors_and_can_be_narrowed():
    config = load_config(REPO / "config.yaml")
    search = load_settings(config).searches["proto"]
    names = [d.name for d in search.space]
    assert names[:3] == ["optimizer", "d", "dropout"] and "lambda_div" in names
    config["search"]["proto"]["space"] = {
        "k": {"low": 4, "high": 16, "step": 2},
        "lambda_div": None,
    }
    narrowed = load_settings(config).searches["proto"]
    k = next(d for d in narrowed.space if d.name == "k")
    assert (k.low, k.high, k.step, k.integer, k.prototypes_only) == (4, 16, 2, True, True)
    assert "lambda_div" not in [d.name for d in narrowed.space]
    assert [d.name for d in narrowed.dimensions(prototypes=False)][-1] == "grad_clip"


def test_the_default_search_space_is_the_authors():
    """Even K, stepped ranges holding the paper's selected values, multivariate TPE."""
    import optuna

    from ahrec.fusion.params import FusionParams
    from ahrec.fusion.search import suggest, tpe_sampler

    search = load_settings(load_config(REPO / "presets" / "paper.yaml")).searches["proto"]
    dims = {d.name: d for d in search.space}
    assert search.multivariate
    assert (dims["k"].low, dims["k"].high, dims["k"].step, dims["k"].integer) == (4, 16, 2, True)
    assert (dims["lambda_div"].high, dims["lambda_div"].step) == (0.2625, 0.0175)  # 7/4 x theirs
    selected = FusionParams()
    for name in ("dropout", "label_smoothing", "grad_clip", "k", "tau", "lambda_proto"):
        steps = (getattr(selected, name) - dims[name].low) / dims[name].step
        assert abs(steps - round(steps)) < 1e-9, name
    study = optuna.create_study(direction="maximize", sampler=tpe_sampler(0, True))
    for _ in range(12):
        trial = study.ask()
        values = suggest(trial, search.space)
        assert values["k"] % 2 == 0 and values["dropout"] == round(values["dropout"], 2)
        study.tell(trial, float(values["tau"]))
    demo = load_settings(load_config(REPO / "config.yaml")).searches["proto"]
    assert not demo.multivariate  # the demo keeps its univariate, continuous search
    assert next(d for d in demo.space if d.name == "k").step is None


def test_a_range_is_stepped_or_log_not_both():
    config = load_config(REPO / "config.yaml")
    config["search"]["proto"]["space"] = {
        "lr": {"low": 1e-4, "high": 1e-3, "log": True, "step": 1e-4}
    }
    with pytest.raises(ConfigError, match="either stepped or log-uniform"):
        load_settings(config)
