"""A seccomp filter for the submission: the kernel calls a sandboxed solution never needs.

The filter is classic BPF, assembled here by hand (no libseccomp), and installed with
`install()` in the sandbox's innermost process before any submission code runs. It refuses, with
an errno the caller can see rather than a kill, the calls that reach outside a process or
reconfigure the kernel: tracing and reading other processes' memory, mounting and namespaces
(the jail is built before the filter goes in), keys, BPF, perf, module loading, io_uring (its
operations are not seen by seccomp), memfd (memory no process's RSS shows), leaving the process
group (so one group kill reaches every process of the submission), and `kill(-1, ...)`.

The architecture is checked first: a call made through another ABI (x32, or i386 via `int 0x80`
on x86_64) kills the process, since its numbers mean other calls.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import struct

# --- the classic BPF instructions we use -------------------------------------------------------
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET_K = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K

_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000

_OFF_NR = 0
_OFF_ARCH = 4


def _arg_low(i: int) -> int:
    """Offset of the low 32 bits of syscall argument i (both supported ABIs are little-endian)."""
    return 16 + 8 * i


_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X32_BIT = 0x40000000

# Syscall numbers: x86_64 has its own table; aarch64 uses the generic one.
# fmt: off
_NR: dict[str, dict[str, int]] = {
    "x86_64": {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438,
        "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "mount_setattr": 442,
        "kexec_load": 246, "kexec_file_load": 320, "bpf": 321, "perf_event_open": 298,
        "keyctl": 250, "add_key": 248, "request_key": 249, "userfaultfd": 323,
        "init_module": 175, "finit_module": 313, "delete_module": 176, "reboot": 169,
        "swapon": 167, "swapoff": 168, "open_by_handle_at": 304, "name_to_handle_at": 303,
        "acct": 163, "quotactl": 179, "syslog": 103, "vhangup": 153, "lookup_dcookie": 212,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "memfd_create": 319, "memfd_secret": 447, "setsid": 112, "setpgid": 109,
        "iopl": 172, "ioperm": 173, "uselib": 134,
        "clone": 56, "clone3": 435, "socket": 41, "kill": 62,
    },
    "aarch64": {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "pidfd_getfd": 438,
        "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "mount_setattr": 442,
        "kexec_load": 104, "kexec_file_load": 294, "bpf": 280, "perf_event_open": 241,
        "keyctl": 219, "add_key": 217, "request_key": 218, "userfaultfd": 282,
        "init_module": 105, "finit_module": 273, "delete_module": 106, "reboot": 142,
        "swapon": 224, "swapoff": 225, "open_by_handle_at": 265, "name_to_handle_at": 264,
        "acct": 89, "quotactl": 60, "syslog": 116, "vhangup": 58, "lookup_dcookie": 18,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "memfd_create": 279, "memfd_secret": 447, "setsid": 157, "setpgid": 154,
        "clone": 220, "clone3": 435, "socket": 198, "kill": 129,
    },
}

# Refused with EPERM outright (the ones with argument checks are handled below).
DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "kexec_load", "kexec_file_load", "bpf", "perf_event_open",
    "keyctl", "add_key", "request_key", "userfaultfd",
    "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
    "open_by_handle_at", "name_to_handle_at", "acct", "quotactl", "syslog", "vhangup",
    "lookup_dcookie", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "memfd_create", "memfd_secret", "setsid", "setpgid", "iopl", "ioperm", "uselib",
)
# fmt: on

# clone() flags that would make a new namespace (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER,
# NEWPID, NEWNET).
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

AF_UNIX, AF_INET, AF_INET6, AF_NETLINK = 1, 2, 10, 16


class SeccompError(OSError):
    """The filter could not be built or installed."""


def machine() -> str:
    """The ABI this filter supports on this machine, or '' when there is none."""
    arch = platform.machine().lower()
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)
    return arch if arch in _NR and os.uname().sysname == "Linux" else ""


class _Program:
    """A tiny assembler: instructions with symbolic jump targets, resolved at the end."""

    def __init__(self) -> None:
        self.code: list[tuple[int, object, object, int]] = []
        self.labels: dict[str, int] = {}

    def emit(self, op: int, k: int, jt: object = 0, jf: object = 0) -> None:
        self.code.append((op, jt, jf, k))

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def assemble(self) -> bytes:
        out = bytearray()
        for pc, (op, jt, jf, k) in enumerate(self.code):
            offsets = []
            for target in (jt, jf):
                if isinstance(target, str):
                    delta = self.labels[target] - pc - 1
                    if not 0 <= delta <= 255:
                        raise SeccompError(f"seccomp filter: jump to {target!r} out of range ({delta})")
                    offsets.append(delta)
                else:
                    offsets.append(int(target))  # type: ignore[call-overload]
            out += struct.pack("<HBBI", op, offsets[0], offsets[1], k & 0xFFFFFFFF)
        return bytes(out)


@functools.cache
def build(arch: str, inet: bool = True, unix: bool = True) -> bytes:
    """The filter program for `arch`. With `inet` False, IPv4/IPv6 sockets are refused too; with
    `unix` False, socket(AF_UNIX) is (socketpair() still works: it reaches nobody else)."""
    nr = _NR[arch]
    p = _Program()
    p.emit(_LD_W_ABS, _OFF_ARCH)
    p.emit(_JEQ_K, _AUDIT_ARCH[arch], 0, "kill")
    p.emit(_LD_W_ABS, _OFF_NR)
    if arch == "x86_64":
        p.emit(_JGE_K, _X32_BIT, "kill", 0)
    for name in DENIED:
        if name in nr:
            p.emit(_JEQ_K, nr[name], "eperm", 0)
    p.emit(_JEQ_K, nr["clone3"], "enosys", 0)  # libc then falls back to clone(), which we can check
    p.emit(_JEQ_K, nr["clone"], "clone", 0)
    p.emit(_JEQ_K, nr["socket"], "socket", 0)
    p.emit(_JEQ_K, nr["kill"], "kill_call", 0)
    p.emit(_RET_K, _RET_ALLOW)

    p.label("clone")
    p.emit(_LD_W_ABS, _arg_low(0))
    p.emit(_JSET_K, CLONE_NAMESPACE_FLAGS, "eperm", "allow")

    p.label("socket")
    p.emit(_LD_W_ABS, _arg_low(0))
    p.emit(_JEQ_K, AF_UNIX, "allow" if unix else "eacces", 0)
    p.emit(_JEQ_K, AF_NETLINK, "allow", 0)
    p.emit(_JEQ_K, AF_INET, "inet", 0)
    p.emit(_JEQ_K, AF_INET6, "inet", 0)
    p.emit(_RET_K, _RET_ERRNO | errno.EAFNOSUPPORT)
    p.label("inet")
    p.emit(_RET_K, _RET_ALLOW if inet else _RET_ERRNO | errno.EACCES)
    p.label("eacces")
    p.emit(_RET_K, _RET_ERRNO | errno.EACCES)

    p.label("kill_call")  # kill(-1, sig): every process the caller may signal
    p.emit(_LD_W_ABS, _arg_low(0))
    p.emit(_JEQ_K, 0xFFFFFFFF, "eperm", "allow")

    p.label("allow")
    p.emit(_RET_K, _RET_ALLOW)
    p.label("eperm")
    p.emit(_RET_K, _RET_ERRNO | errno.EPERM)
    p.label("enosys")
    p.emit(_RET_K, _RET_ERRNO | errno.ENOSYS)
    p.label("kill")
    p.emit(_RET_K, _RET_KILL_PROCESS)
    return p.assemble()


_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1
_NR_SECCOMP = {"x86_64": 317, "aarch64": 277}


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(inet: bool = True, unix: bool = True) -> None:
    """Set no_new_privs and install the filter on every thread of the calling process.

    Raises SeccompError when the machine is not supported or the kernel refuses."""
    arch = machine()
    if not arch:
        raise SeccompError(f"seccomp: no filter for {platform.system()} {platform.machine()}")
    program = build(arch, inet, unix)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise SeccompError(err, f"seccomp: PR_SET_NO_NEW_PRIVS failed: {os.strerror(err)}")
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    rc = libc.syscall(_NR_SECCOMP[arch], _SECCOMP_SET_MODE_FILTER, _SECCOMP_FILTER_FLAG_TSYNC, ctypes.byref(prog))
    if rc != 0:
        err = ctypes.get_errno()
        why = os.strerror(err) if rc < 0 else f"thread {rc} could not be synchronised"
        raise SeccompError(err, f"seccomp: installing the filter failed: {why}")
