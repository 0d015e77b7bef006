"""Importing this module before numpy keeps the numeric libraries to one thread each
(OpenMP, OpenBLAS, MKL, numexpr), unless the environment already says otherwise.

An OrgSim process runs one simulation at a time on one core and does no large linear
algebra, so those libraries' thread pools only compete with the other workers for the
cores: OpenBLAS alone starts a thread per core at import, which spins for about 0.1 s of
CPU before it sleeps, in every process. The sweep's fork server imports this module
first (``WORKER_PRELOAD``), so every worker it forks is single-threaded, and the
``orgsim`` command imports it before numpy loads. Importing it later changes nothing for
libraries already loaded."""

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
PINNED = tuple(name for name in THREAD_VARIABLES if name not in os.environ)
"""The variables this import set (those the environment did not)."""

for _name in PINNED:
    os.environ[_name] = "1"
