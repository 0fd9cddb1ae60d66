"""A Ray driver for the sessions tests; stays until its stdin closes (or 10 minutes pass).

Usage: ``python session_driver.py TAG [--plain] [--actors N] [--detached] [--task]``

- ``--plain``: ``ray.init()`` instead of ``iog_jupyter.connect()`` (no iog metadata);
- ``--actors N``: N actors holding 0.1 CPU each;
- ``--detached``: one detached actor (namespace ``sessions-test``, name ``keep-<TAG>``);
- ``--task``: one task holding 0.1 CPU that sleeps for 10 minutes;
- ``--queued``: one task that waits for a resource no node has (it never starts);
- ``--namespace NS``: the driver's Ray namespace (``sessions-test`` by default).

Prints ``READY <job id hex>`` once everything is placed.
"""

import argparse
import sys
import time

import ray

parser = argparse.ArgumentParser()
parser.add_argument("tag")
parser.add_argument("--plain", action="store_true")
parser.add_argument("--actors", type=int, default=0)
parser.add_argument("--detached", action="store_true")
parser.add_argument("--task", action="store_true")
parser.add_argument("--queued", action="store_true")
parser.add_argument("--namespace", default="sessions-test")
args = parser.parse_args()

if args.plain:
    ray.init(namespace=args.namespace, log_to_driver=False)
else:
    import iog_jupyter.core.sessions.connect as driver

    driver.connect(namespace=args.namespace, log_to_driver=False)


@ray.remote(num_cpus=0.1)
class Holder:
    def ping(self):
        return "pong"


@ray.remote(num_cpus=0.1)
def sleeper(seconds):
    time.sleep(seconds)


holders = [Holder.remote() for _ in range(args.actors)]
ray.get([h.ping.remote() for h in holders])
if args.detached:
    keeper = Holder.options(name=f"keep-{args.tag}", lifetime="detached").remote()
    ray.get(keeper.ping.remote())
if args.task:
    running = sleeper.remote(600)
    time.sleep(0.5)
if args.queued:
    waiting = sleeper.options(resources={"iog-test-never": 1}).remote(1)
    time.sleep(0.5)
print("READY", ray.get_runtime_context().get_job_id(), flush=True)
deadline = time.time() + 600
while time.time() < deadline and sys.stdin.readline():
    pass
