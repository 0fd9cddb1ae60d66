"""A Ray driver that runs a two-stage pipeline with iog_jupyter.stage() and prints what it saw.

Prints one JSON object: where each stage's task ran, the two stages' "model" actors (one per
namespace), and the error a stage on a pool the cluster lacks gets.
"""

import json
import sys

import ray

from iog_jupyter import stage
from iog_jupyter.core.errors import ValidationError

ray.init(address=sys.argv[1], namespace="iog-test-pipeline", log_to_driver=False)


@ray.remote(num_cpus=0)
def where(step):
    ctx = ray.get_runtime_context()
    return {"step": step, "node": ctx.get_node_id()}


class Model:
    def __init__(self, version):
        self.version = version

    def info(self):
        return self.version


prep = stage("preprocess", pool="preprocess")
train = stage("train", pool="train", namespace="train-ns")
out = {
    "prep_options": prep.options(num_cpus=0),
    "prep": ray.get(prep.remote(where).remote("prep")),
    "train": ray.get(train.remote(where, num_cpus=0).remote("train")),
}
a = train.actor(Model, "model", "v-train", num_cpus=0)
b = prep.actor(Model, "model", "v-prep", num_cpus=0)
again = train.actor(Model, "model", "ignored", num_cpus=0)
out["actors"] = [ray.get(a.info.remote()), ray.get(b.info.remote()), ray.get(again.info.remote())]
# Hold each looked-up handle while its call runs: Ray 2.40 loses a call made on a temporary
# handle ("Lost reference to actor").
model = train.get_actor("model")
out["lookup"] = ray.get(model.info.remote())
handles = {ns: ray.get_actor("model", namespace=ns) for ns in ("train-ns", "stage-preprocess")}
out["by_namespace"] = {ns: ray.get(handle.info.remote()) for ns, handle in handles.items()}
try:
    stage("nowhere", pool="no-such-pool").remote(where).remote("x")
    out["missing_pool"] = None
except ValidationError as err:
    out["missing_pool"] = err.message
print("RESULT " + json.dumps(out), flush=True)
