"""The compiled kernel: the work flow of a run in flat arrays, compiled with Numba.

``flow`` holds the rules, ``heaps`` the event heap and the pools' queues, ``state`` the
arrays and how they grow, ``engine`` the model's side (building the state, each tick's
calls, reading the results back)."""
