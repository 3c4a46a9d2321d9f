"""Hostile submission: write outside its working folder (a path the test names, and the
folder that holds its working folder)."""

import os

OUTSIDE = "__OUTSIDE__"

for path in (OUTSIDE, os.path.join(os.path.dirname(os.getcwd()), "left-by-a-submission")):
    try:
        with open(path, "w") as f:
            f.write("written by a submission\n")
        print(f"wrote {path}")
    except OSError as exc:
        print(f"could not write {path}: {exc}")


def softmax(x, dim=-1):
    return x.clone()
