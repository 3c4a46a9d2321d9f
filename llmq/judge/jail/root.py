"""The FULL level's new root, built by S1 inside its mount namespace: read-only binds of the
view, a made-up /etc, a minimal /dev, its own /proc, the writable tmpfs folder, the loopback."""

from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct

from llmq.judge.jail.handle import HOSTNAME, INNER_FOLDER, JailSpec
from llmq.judge.jail.libc import (
    _AT_FDCWD,
    _MNT_DETACH,
    _MOUNT_ATTR_NODEV,
    _MOUNT_ATTR_NOSUID,
    _MOUNT_ATTR_RDONLY,
    _MS_BIND,
    _MS_NODEV,
    _MS_NOEXEC,
    _MS_NOSUID,
    _MS_PRIVATE,
    _MS_RDONLY,
    _MS_REC,
    _MS_REMOUNT,
    _check,
    _libc,
    _mount,
    _read_only,
    _syscall,
)
from llmq.judge.jail.visible import _DEVICES, _ETC_BOUND, View


def _build_root(v: View, spec: JailSpec, identity: str) -> None:
    """In S1: the new root, hostname and loopback. Paths are the host's until the last pivot."""
    inner_id = 1 if identity == "nobody" else 0
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing we mount propagates to the host
    _mount("tmpfs", "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64k,mode=0755")
    os.chdir("/tmp")
    os.mkdir("newroot")
    os.mkdir("oldroot")
    _check(_syscall("pivot_root", b".", b"oldroot"), "pivot_root")  # the host's root is now /oldroot
    os.chdir("/")
    new = "/newroot"
    _mount("tmpfs", new, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=0755")
    # The writable folder: its size is the disk quota, and it vanishes with the namespace. Mounted
    # first, so that a Python install living under /tmp (a CI virtualenv) is bound on top of it.
    os.makedirs(new + INNER_FOLDER, exist_ok=True)
    _mount(
        "tmpfs",
        new + INNER_FOLDER,
        "tmpfs",
        _MS_NOSUID | _MS_NODEV,
        f"size={spec.disk_bytes},nr_inodes={max(64, spec.disk_bytes // 16384)},mode=0700,uid={inner_id},gid={inner_id}",
    )
    for path in v.binds:
        _bind_dir("/oldroot" + path, new + path, read_only=True)
    for link, target in v.links:
        os.symlink(target, new + link)
    for path in v.hidden:
        _mount("tmpfs", new + path, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_RDONLY, "size=4k,mode=0555")
    _make_etc(new + "/etc", inner_id)
    _make_dev(new + "/dev", new + INNER_FOLDER, spec.gpu, v)
    os.mkdir(new + "/proc")
    _mount("proc", new + "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    if spec.gpu:
        _bind_dir("/oldroot/sys", new + "/sys", read_only=True)
    else:
        _bind_dir("/oldroot/sys/devices/system/cpu", new + "/sys/devices/system/cpu", read_only=True)
    os.chdir(new)
    _check(_syscall("pivot_root", b".", b"."), "pivot_root")  # stacks the old root on top of the new one
    _check(_libc.umount2(b".", _MNT_DETACH), "umount old root")
    os.chdir("/")
    _read_only_top("/")
    _read_only_top("/dev")
    os.chdir(INNER_FOLDER)
    name = HOSTNAME.encode()
    _check(_libc.sethostname(name, len(name)), "sethostname")
    _loopback_up()


def _read_only_top(target: str) -> None:
    attr = (ctypes.c_uint64 * 4)(_MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV, 0, 0, 0)
    if _syscall("mount_setattr", _AT_FDCWD, target.encode(), 0, ctypes.byref(attr), 32) != 0:
        _mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def _bind_dir(source: str, target: str, read_only: bool) -> None:
    if not os.path.exists(source):
        return
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    _mount(source, target, None, _MS_BIND | _MS_REC)
    if read_only:
        _read_only(target)


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _make_etc(etc: str, inner_id: int) -> None:
    os.mkdir(etc)
    user = f"sandbox:x:{inner_id}:{inner_id}:sandbox:{INNER_FOLDER}:/bin/sh\n"
    _write(etc + "/passwd", ("root:x:0:0:root:/nonexistent:/bin/sh\n" if inner_id else "") + user)
    _write(etc + "/group", ("root:x:0:\n" if inner_id else "") + f"sandbox:x:{inner_id}:\n")
    _write(etc + "/hosts", f"127.0.0.1 localhost {HOSTNAME}\n::1 localhost ip6-localhost\n")
    _write(etc + "/hostname", HOSTNAME + "\n")
    _write(etc + "/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n")
    _write(etc + "/resolv.conf", "")
    for name in _ETC_BOUND:
        source = "/oldroot/etc/" + name
        if os.path.islink(source):
            os.symlink(os.readlink(source), etc + "/" + name)
        elif os.path.exists(source):
            _bind_dir(source, etc + "/" + name, read_only=True)


def _make_dev(dev: str, shm_source: str, gpu: bool, v: View) -> None:
    os.mkdir(dev)
    _mount("tmpfs", dev, "tmpfs", _MS_NOSUID, "size=64k,mode=0755")
    for name in _DEVICES:
        _bind_dir("/oldroot/dev/" + name, dev + "/" + name, read_only=False)
    os.mkdir(dev + "/shm")
    _mount(shm_source, dev + "/shm", None, _MS_BIND)  # shared memory counts against the folder's quota
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, dev + "/" + name)
    if gpu:
        for path in v.gpu_devices:
            _bind_dir("/oldroot" + path, dev + path[len("/dev") :], read_only=False)


def _loopback_up() -> None:
    """The empty network namespace's loopback, up: ranks of one submission talk over it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0x1 | 0x40)  # IFF_UP | IFF_RUNNING
        fcntl.ioctl(sock.fileno(), 0x8914, request)  # SIOCSIFFLAGS
