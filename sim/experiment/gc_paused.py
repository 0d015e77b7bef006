"""Importing this module pauses Python's cyclic garbage collector, for a process about to
import its libraries and then fork.

The sweep's fork server imports it before the libraries (``WORKER_PRELOAD``). Their imports
create some 300,000 objects and would set off three full collections, each walking every
object loaded so far to find the few unreachable ones (about 1,300 in all): about 0.2 s of
the server's 1.6-1.8 s start-up, which a command's first run waits for.
:mod:`sim.model.preload`, the server's last import, freezes what the imports loaded and
turns the collector back on before it loads the kernel (which compiles it when the cache
is cold), so that and the workers the server forks collect as usual."""

import gc

gc.disable()
