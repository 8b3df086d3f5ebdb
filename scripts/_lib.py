"""Make the library beside this workflow importable from rule scripts, and only that one.

Snakemake puts this folder on ``sys.path`` when it runs a script, in every
environment (the default one, per-rule conda envs, cluster nodes), so the
scripts import this module first and then ``ahrec`` from ``lib/``, with no
installation step and no environment variable.

``lib/`` goes to the front of ``sys.path`` even when it is already listed
further back: a virtual environment with an editable install of *another*
checkout puts that checkout's ``lib/`` earlier, and a workflow must never run
a library other than the one beside its own Snakefile.
"""

import os
import sys

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")
while LIB in sys.path:
    sys.path.remove(LIB)
sys.path.insert(0, LIB)
loaded = sys.modules.get("ahrec")
if loaded is not None and not os.path.abspath(loaded.__file__).startswith(LIB + os.sep):
    raise ImportError(f"ahrec was imported from {loaded.__file__}, not from this workflow's {LIB}")
