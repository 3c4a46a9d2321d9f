"""Landlock for the limits-only sandbox: a read-only view of the files Python needs, one writable
folder, and (from Landlock ABI 4 and 6) no TCP and no signals or abstract sockets outside.

Landlock is an unprivileged Linux security module (5.13+): a process restricts itself and every
process it later forks, and can never lift the restriction. It is what the limits-only level has
instead of a mount namespace. Calls are made through ctypes (syscalls 444-446 on x86_64 and
aarch64). `restrict()` applies to the calling thread only: call it while the process has one.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Iterable

_NR_CREATE_RULESET, _NR_ADD_RULE, _NR_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5

NET_BIND_TCP, NET_CONNECT_TCP = 1, 2  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2  # ABI 6

READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
FILE_READ = FS_EXECUTE | FS_READ_FILE
DEVICE = FS_READ_FILE | FS_WRITE_FILE | FS_IOCTL_DEV


class LandlockError(OSError):
    """Landlock refused a ruleset (the caller decides whether that is fatal)."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi() -> int:
    """The Landlock ABI version the kernel offers (0: none, or not Linux)."""
    if os.uname().sysname != "Linux":
        return 0
    try:
        version = _libc().syscall(_NR_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION)
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


def _fs_rights(version: int) -> int:
    rights = (1 << 13) - 1
    if version >= 2:
        rights |= FS_REFER
    if version >= 3:
        rights |= FS_TRUNCATE
    if version >= 5:
        rights |= FS_IOCTL_DEV
    return rights


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def restrict(
    read: Iterable[str], write: Iterable[str], devices: Iterable[str], block_tcp: bool, list_only: Iterable[str] = ()
) -> dict[str, bool]:
    """Restrict the calling thread (and its future children) to: reading and executing under
    `read`, everything under `write`, reading/writing/ioctl on the device files `devices`,
    listing (names only) the folders `list_only`; with
    `block_tcp`, no TCP bind or connect (ABI 4+). Signals and abstract unix sockets are scoped to
    the sandbox where the kernel can (ABI 6+). no_new_privs must already be set.

    Returns what holds: {"fs": True, "tcp": bool, "signals": bool}. Raises LandlockError when
    Landlock is missing or refuses the ruleset. Paths that do not exist are skipped."""
    version = abi()
    if version < 1:
        raise LandlockError("Landlock is not available in this kernel")
    libc = _libc()
    handled_fs = _fs_rights(version)
    handled_net = (NET_BIND_TCP | NET_CONNECT_TCP) if (block_tcp and version >= 4) else 0
    scoped = (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if version >= 6 else 0
    attr = (ctypes.c_uint64 * 3)(handled_fs, handled_net, scoped)
    size = 8 if version < 4 else 16 if version < 6 else 24
    ruleset = libc.syscall(_NR_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        err = ctypes.get_errno()
        raise LandlockError(err, f"landlock_create_ruleset: {os.strerror(err)}")
    try:
        for paths, rights in ((read, READ), (write, handled_fs), (devices, DEVICE), (list_only, FS_READ_DIR)):
            for path in paths:
                _add_path(libc, ruleset, path, rights & handled_fs)
        if libc.syscall(_NR_RESTRICT_SELF, ruleset, 0) != 0:
            err = ctypes.get_errno()
            raise LandlockError(err, f"landlock_restrict_self: {os.strerror(err)}")
    finally:
        os.close(ruleset)
    return {"fs": True, "tcp": bool(handled_net), "signals": bool(scoped)}


def _add_path(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            # Only file rights apply to a file; directory rights would make the rule invalid.
            rights &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
        rule = _PathBeneath(rights, fd)
        if libc.syscall(_NR_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
            err = ctypes.get_errno()
            raise LandlockError(err, f"landlock_add_rule({path}): {os.strerror(err)}")
    finally:
        os.close(fd)
