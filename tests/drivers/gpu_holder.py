"""A Ray driver for the usage tests: holds one logical GPU for a given time, then frees it.

Usage: ``python gpu_holder.py SECONDS``. Connects with ``iog_jupyter.connect()``, places an actor
holding 1 GPU, prints ``HELD <epoch s>`` once it answers, kills it after SECONDS and prints
``FREED <epoch s>`` (Ray drops a killed actor from its live ones at once), then stays until its
stdin closes, so its session outlives the holding.
"""

import sys
import time

import ray

import iog_jupyter.core.sessions.connect as driver

driver.connect(namespace="usage-test", log_to_driver=False)


@ray.remote(num_gpus=1, num_cpus=0)
class GpuHolder:
    def ping(self):
        return "pong"


holder = GpuHolder.remote()
ray.get(holder.ping.remote())
print("HELD", time.time(), ray.get_runtime_context().get_job_id(), flush=True)
time.sleep(float(sys.argv[1]))
ray.kill(holder)
print("FREED", time.time(), flush=True)
deadline = time.time() + 600
while time.time() < deadline and sys.stdin.readline():
    pass
