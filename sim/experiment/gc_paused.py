"""Importing this module pauses Python's cyclic garbage collector, for a process about to
import its libraries and then fork.

The sweep's fork server imports it before the libraries (``WORKER_PRELOAD``): their imports
create some 300,000 objects, which would set off full collections that each walk every
object loaded so far, for a dozen or so unreachable ones; about 0.2 s of the server's
1.6-1.8 s start-up, which a command's first run waits for. :mod:`sim.model.preload`, the
server's last import, freezes what is loaded and turns the collector back on, so the
workers it forks collect as usual."""

import gc

gc.disable()
