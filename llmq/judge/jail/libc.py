"""Small wrappers over libc and the Linux constants the jail needs: mount, pivot_root, prctl,
capabilities, descriptors. Nothing here decides policy."""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import struct
import sys
from typing import Any

from llmq.judge import seccomp

# CLONE_NEWUSER, NEWNS, NEWPID, NEWNET, NEWIPC, NEWUTS, NEWCGROUP
_NS_FLAGS = 0x10000000 | 0x00020000 | 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x02000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MNT_DETACH = 2
_MOUNT_ATTR_RDONLY, _MOUNT_ATTR_NOSUID, _MOUNT_ATTR_NODEV = 1, 2, 4
_AT_FDCWD, _AT_RECURSIVE = -100, 0x8000
_NR = {
    "x86_64": {"pivot_root": 155, "mount_setattr": 442, "capset": 126},
    "aarch64": {"pivot_root": 41, "mount_setattr": 442, "capset": 91},
}
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP = 1, 4, 24
_PR_SET_SECUREBITS, _PR_SET_CHILD_SUBREAPER, _PR_CAP_AMBIENT = 28, 36, 47
# SECBIT_NOROOT(+LOCKED), KEEP_CAPS_LOCKED, NO_CAP_AMBIENT_RAISE(+LOCKED): uid 0 gains nothing
# by exec, and no way back to capabilities.
_SECUREBITS = 0x01 | 0x02 | 0x20 | 0x40 | 0x80


def _arch() -> str:
    return seccomp.machine()


_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> int:
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return rc


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source and source.encode(), target.encode(), fstype and fstype.encode(), ctypes.c_ulong(flags), data and data.encode()
        ),
        f"mount {source or ''} on {target}",
    )


def _syscall(name: str, *args: Any) -> int:
    return int(_libc.syscall(_NR[_arch()][name], *args))


def _read_only(target: str) -> None:
    """Make the mount at `target` and every mount below it read-only, nosuid and nodev."""
    attr = (ctypes.c_uint64 * 4)(_MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV, 0, 0, 0)
    if _syscall("mount_setattr", _AT_FDCWD, target.encode(), _AT_RECURSIVE, ctypes.byref(attr), 32) == 0:
        return
    # Kernels before 5.12: remount the top mount only, keeping the flags the namespace locked.
    flags = os.statvfs(target).f_flag & (_MS_NOSUID | _MS_NODEV | _MS_NOEXEC | 1024 | 2048 | 4096)
    _mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | flags)


_LINUX = sys.platform.startswith("linux")


def _prctl(option: int, arg: int = 0) -> int:
    if not _LINUX:
        return -1
    return int(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0))


def _die_with_parent(parent: int | None) -> None:
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:
        os._exit(0)  # the parent is already gone


def _drop_capabilities() -> None:
    """Bounding set, ambient set, securebits, then the three capability sets, all to nothing."""
    for cap in range(64):
        if _prctl(_PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the last capability this kernel knows
    _prctl(_PR_CAP_AMBIENT, 4)  # PR_CAP_AMBIENT_CLEAR_ALL
    _prctl(_PR_SET_SECUREBITS, _SECUREBITS)  # refused without CAP_SETPCAP: then there is nothing to keep
    header = struct.pack("<Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = bytes(24)
    rc = _syscall("capset", ctypes.c_char_p(header), ctypes.c_char_p(data)) if _arch() else 0
    if rc != 0:
        raise OSError(ctypes.get_errno(), "capset: cannot drop capabilities")


def _close_all_but(keep: set[int]) -> None:
    low = 0
    for fd in sorted(keep) + [1 << 30]:
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1


def _drop_bounding_only() -> None:
    for cap in range(64):
        if _prctl(_PR_CAPBSET_DROP, cap) != 0 and ctypes.get_errno() == errno.EINVAL:
            break
    _prctl(_PR_SET_SECUREBITS, _SECUREBITS)


def _drop_capabilities_if_any() -> None:
    if not _LINUX:
        return
    with open("/proc/self/status", "rb") as f:
        status = f.read()
    for line in status.split(b"\n"):
        if line.startswith((b"CapEff:", b"CapPrm:", b"CapBnd:")) and int(line.split()[1], 16):
            _drop_capabilities()
            return
