"""Developer tools shared by the tests and the benchmarks: tiny models, filled-in manifests.

The benchmarks time the workflow's own code on tiny (or paper-sized) models of
the paper's architectures, and the tests build the same tiny models and the
same manifests; a benchmark is not a test, so what both need lives here, in
the library, rather than under ``tests/``. It is the top layer: it may import
anything in ``ahrec`` and nothing in ``ahrec`` imports it (the workflow never
runs it; ``tests/unit/test_layers.py`` checks both).
"""
