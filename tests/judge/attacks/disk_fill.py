"""Hostile submission: 64 files of 16 MiB (1 GiB) in its working folder.

A per-file size limit lets each file through. The submission is correct only if all of it was
written; otherwise it raises OSError saying how much got through.
"""

MIB = 2**20
FILES = 64

written = 0
block = b"\xa5" * MIB
try:
    for i in range(FILES):
        with open(f"fill-{i:02d}.bin", "wb") as f:
            for _ in range(16):
                f.write(block)
                written += MIB
except OSError as exc:
    print(f"stopped: {exc}")
print(f"wrote {written} bytes")
if written < FILES * 16 * MIB:
    raise OSError(f"the disk quota stopped it after {written // MIB} MiB")


def softmax(x, dim=-1):
    x64 = x.double()
    e = (x64 - x64.amax(dim=dim, keepdim=True)).exp()
    return (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)
