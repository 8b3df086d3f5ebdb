#!/bin/bash
# MTCNN's weights (the default face detector, lib/ahrec/faces/mtcnn.py) ship inside the
# facenet-pytorch wheel. Its declared requirements (torch<2.3, numpy<2, pillow<10.3)
# conflict with this env's pins and none of its code is run, so it is installed
# without them; a conda env file cannot say --no-deps, hence this script, which
# Snakemake runs once after creating envs/vision.yaml.
# Pin: requirements-nodeps.txt.
set -euo pipefail
python -m pip install --no-deps --no-cache-dir facenet-pytorch==2.6.0
python - <<'PY'
import importlib.machinery, pathlib, sys
spec = importlib.machinery.PathFinder.find_spec("facenet_pytorch")
data = pathlib.Path(next(iter(spec.submodule_search_locations))) / "data"
missing = [n for n in ("pnet.pt", "rnet.pt", "onet.pt") if not (data / n).is_file()]
sys.exit(f"facenet-pytorch: MTCNN weights missing: {missing}" if missing else 0)
PY
