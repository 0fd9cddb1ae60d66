"""The name-prefix cut of actor lists: bisected per namespace, the same as sifting every name."""

from __future__ import annotations

import random

from iog_jupyter.core.actors.gcs import _visible, _with_prefix


def test_the_prefix_cut_equals_sifting_every_name() -> None:
    rng = random.Random(15)
    alphabet = "ab\0é\U0010ffff"  # NUL and the last code point are the edges of the bisection
    for _ in range(500):
        keys = sorted(
            {
                (
                    "".join(rng.choice("xy") for _ in range(rng.randint(0, 2))),
                    "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))),
                )
                for _ in range(rng.randint(0, 40))
            }
        )
        prefix = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3)))
        assert _with_prefix(keys, prefix) == [k for k in keys if k[1].startswith(prefix)]


def test_visible_keys_come_sorted_whatever_order_the_gcs_gives() -> None:
    # The GCS answers a state filter in its own order; the prefix cut bisects, so the keys a
    # list shows must be sorted before it (a state filter with a prefix once missed names).
    rng = random.Random(16)
    keys = [(rng.choice("xyz"), "".join(rng.choice("abk") for _ in range(3))) for _ in range(60)]
    keys = list(dict.fromkeys(keys))
    for namespace in (None, "y"):
        shuffled = keys[:]
        rng.shuffle(shuffled)
        shown = _visible(shuffled, namespace, ())
        assert shown == sorted(k for k in keys if namespace in (None, k[0]))
        assert _with_prefix(shown, "k") == [k for k in shown if k[1].startswith("k")]
