"""Hostile submission: write outside its working folder: a path the test names, the folder that
holds its working folder, and the machine's /tmp and /dev/shm."""

import os

OUTSIDE = "__OUTSIDE__"
MARKER = "__MARKER__"

targets = [OUTSIDE, os.path.join(os.path.dirname(os.getcwd()), "left-by-a-submission")]
targets += [f"/tmp/{MARKER}", f"/dev/shm/{MARKER}"]  # inside a jail these are its own folder
for path in targets:
    try:
        with open(path, "w") as f:
            f.write("written by a submission\n")
        print(f"wrote {path}")
    except OSError as exc:
        print(f"could not write {path}: {exc}")


def softmax(x, dim=-1):
    return x.clone()
