"""Hostile submission: look for another check's nonce in its own memory.

A judge that runs two checks at once forks the second one's sandbox while the first is running:
whatever the judge's process held then (the first check's bookkeeping, its nonce) is in the
second sandbox's memory. Walk gc's objects, and their attribute dictionaries, for anything
stored under a name with "nonce" in it, and print what it finds.
"""

import gc

found = set()
for obj in gc.get_objects():
    try:
        attributes = None if isinstance(obj, type) else object.__getattribute__(obj, "__dict__")
    except Exception:
        attributes = None
    for table in (obj, attributes):
        if not isinstance(table, dict):
            continue
        try:
            items = list(table.items())
        except Exception:
            continue
        for key, value in items:
            if isinstance(key, str) and "nonce" in key.lower() and isinstance(value, (str, bytes)) and value:
                found.add(value if isinstance(value, str) else value.hex())
print(f"nonces: {sorted(found)}")


def softmax(x, dim=-1):
    return x.clone()
