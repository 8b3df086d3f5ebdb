"""Make the workflow's library importable from rule scripts.

Snakemake puts this folder on ``sys.path`` when it runs a script, in every
environment (the default one, per-rule conda envs, cluster nodes), so the
scripts import this module first and then ``ahrec`` from ``lib/``, with no
installation step and no environment variable.
"""

import os
import sys

LIB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib")
if LIB not in sys.path:
    sys.path.insert(0, LIB)
