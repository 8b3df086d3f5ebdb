"""The encoder benchmark covers every neural encoder of the kind table."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from ahrec.embeddings.kinds import ENCODERS, parse_encoder

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import encoders  # noqa: E402


def test_the_benchmark_lists_the_kind_tables_neural_encoders() -> None:
    assert list(encoders.ENCODERS) == [n for n, row in ENCODERS.rows.items() if row.neural]


def test_each_listed_encoder_has_a_valid_configuration(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"num_hidden_layers": 2}))
    models = defaultdict(lambda: tmp_path)  # every architecture's model: one local folder
    for name in encoders.ENCODERS:
        spec, problems = parse_encoder(
            encoders.MODALITY[name], name, encoders.encoder_config(name, models)
        )
        assert not problems and spec is not None and spec.row.name == name, (name, problems)
