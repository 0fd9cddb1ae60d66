"""A Ray driver that holds resources and leaves demands waiting, until it is killed.

- an actor holding 1 CPU;
- one task holding the other CPU of the 2-CPU test head, and one more that must wait for it;
- a task asking for more GPUs than any node has (the test head has 2 logical GPUs: infeasible).
"""

import sys
import time

import ray

ray.init(address=sys.argv[1], namespace="iog-test-driver", log_to_driver=False)


@ray.remote(num_cpus=1)
class Holder:
    def ping(self):
        return "pong"


@ray.remote
def sleeper(seconds):
    time.sleep(seconds)


holder = Holder.remote()
ray.get(holder.ping.remote())
busy = [sleeper.options(num_cpus=1).remote(600) for _ in range(2)]
gpu = sleeper.options(num_gpus=8).remote(1)
print("READY", flush=True)
time.sleep(600)
