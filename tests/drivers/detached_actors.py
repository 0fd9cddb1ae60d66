"""A Ray driver that makes detached actors, then exits (the actors stay).

Usage: ``python detached_actors.py '<json list of operations>'``; prints one JSON line of results.
Each operation is ``[kind, name, namespace, {options}]``:

- ``iog``: ``iog_jupyter.actors.get_or_create(Counter, ...)`` (``ttl_s`` from the options);
- ``plain``: ``Counter.options(name=..., namespace=..., lifetime="detached")`` (plain Ray).

Option ``wait`` (default true) calls ``incr`` once and reports the value; actors that cannot be
placed (``resources={"nope": 1}``) need ``"wait": false``.
"""

import json
import sys

import ray

from iog_jupyter import actors


@ray.remote(num_cpus=0)
class Counter:
    def __init__(self, start=0):
        self.value = start

    def incr(self):
        self.value += 1
        return self.value


ray.init(log_to_driver=False)
results = []
for kind, name, namespace, options in json.loads(sys.argv[1]):
    options = dict(options)
    wait = options.pop("wait", True)
    if kind == "iog":
        ttl_s = options.pop("ttl_s", None)
        handle = actors.get_or_create(Counter, name, namespace, ttl_s, **options)
    else:
        handle = Counter.options(
            name=name, namespace=namespace, lifetime="detached", **options
        ).remote()
    value = ray.get(handle.incr.remote(), timeout=120) if wait else None
    results.append({"name": name, "actor_id": handle._actor_id.hex(), "value": value})
print(json.dumps(results), flush=True)
