"""Detached actors: records, GCS calls, the server's registry and reaper, the kernel API.

``records`` holds iog's record of an actor, ``gcs`` the GCS calls on them, ``registry`` the
server's registry and TTL reaper, and ``kernel`` the in-kernel API behind
``iog_jupyter.actors``.
"""
