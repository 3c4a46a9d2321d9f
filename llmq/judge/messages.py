"""The judge's own messages in the interface's language, rendered where they are shown.

The judge writes its messages in English (verdicts, and `--json` with them, stay stable English
for programs). Each message line it writes follows one of the templates below, a msgid whose
`{params}` the judge filled in; `translate` reads a message back into its msgid and params, line
by line, and renders it with the catalogue's translation, translating params that are themselves
judge phrases ("a float32 tensor of shape (3,)"). A line that matches no template (a traceback,
an answer module's own `ctx.fail` text, the submission's output) is shown as it is.

Pure Python: the app and the command line render verdicts without importing torch. The judge's
modules that write these lines (kit, compare, link, harness, worker, forbidden, verdict) keep
their own f-strings; tests/judge/test_judge_messages.py renders what they write and fails when a
template no longer matches.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from llmq.l10n import N_, _, current_language

# Every template is one line. A template whose literal text is longer is tried first, so that
# "the solution's process was killed by {signal} (the CPU time limit)" wins over the plain one.
TEMPLATES: tuple[str, ...] = (
    # kit.py: what a check found
    N_("modified its input `{name}` in place ({how}); a solution must not change its inputs"),
    N_("returned its input `{name}` (or a view of it); return a new tensor"),
    N_("the reference raised {error}"),
    N_("wrong result: {where}"),
    N_("got      {value}"),
    N_("expected {value}"),
    N_("returned {what}; expected a {dtype} tensor of shape {shape}"),
    N_("wrong shape: got {got}, expected {expected}"),
    N_("wrong dtype: got {got}, expected {expected}"),
    N_("returned {what}; expected a number"),
    N_("got {got}, expected {expected} (absolute error {abs}, relative error {rel}; rtol={rtol}, atol={atol})"),
    N_("input: {call}"),
    N_("drawn (shrunk example): {values}"),
    N_("result: got {what}, expected a tensor"),
    N_("at {path}: got {what}, expected a tensor"),
    N_("shape/dtype: got {got}, expected {expected}"),
    N_("shape/dtype at {path}: got {got}, expected {expected}"),
    N_("values: {text}"),
    N_("values at {path}: {text}"),
    N_("type: got {what}, expected a {kind}"),
    N_("type at {path}: got {what}, expected a {kind}"),
    N_("length: got {got} items, expected {expected}"),
    N_("length at {path}: got {got} items, expected {expected}"),
    N_("value: got {got}, expected {expected}"),
    N_("value at {path}: got {got}, expected {expected}"),
    # compare.py: values, and how a call changed its arguments
    N_("an object of type {type} ({text})"),
    N_("a {dtype} tensor of shape {shape}"),
    N_("a {type} ({value})"),
    N_("values differ at {count} of {total} elements ({pct}%), tolerance rtol={rtol}, atol={atol} for {dtype}"),
    N_("first differing index {index}: got {got}, expected {expected}"),
    N_("largest absolute error {abs} at {index}; largest relative error {rel}"),
    N_("{count} of them are NaN or inf on one side only"),
    N_(
        "every value of the result is exactly a {lower} number: it went through {lower}, but {own} input must be "
        "computed in {own}. Usual causes: {causes}."
    ),
    N_(
        "the error ({rel} of the largest expected value) has the size of {lower} rounding (epsilon {eps}): part of "
        "the computation probably ran in {lower}, but {own} input must be computed in {own}. Usual causes: {causes}."
    ),
    N_("bfloat16 or float16"),
    N_(
        "a `.float()` on the input, a float32 `torch.arange`, or a table (positions, frequencies, a mask) built in "
        "float32, torch's default"
    ),
    N_("a `.half()`/`.bfloat16()`, an autocast region, or a table built in half precision"),
    N_("requires_grad was {before}, now {after}: a `requires_grad_()` on an input"),
    N_(
        "its .grad was None, now a {dtype} tensor of shape {shape}: a backward() reached the input, or the solution set its .grad"
    ),
    N_("its .grad was cleared"),
    N_("its .grad changed: a backward() accumulated into it, or the solution wrote to it"),
    N_("its storage was replaced: a `.set_()` or `.data = ...` on an input"),
    N_("its storage was resized from {before} to {after} bytes: a `.resize_()` on an input"),
    # link.py: the sandbox's answers and ends
    N_("it was replaced"),
    N_("was {before}, now {after}"),
    N_("{count} element changed, first at {index}: was {before}, now {after}"),
    N_("{count} elements changed, first at {index}: was {before}, now {after}"),
    N_("its requires_grad or layout changed"),
    N_("raised {error}:"),
    N_("called {name}, which this exercise forbids"),
    N_("called sys.exit({code}) while being checked"),
    N_("timed out: the checks took longer than {seconds} s (an endless loop?)"),
    N_("timed out: the checks took longer than {seconds} s"),
    N_("timed out: the judge stopped the run (it overran its time limit)"),
    N_("the submission used more than {gib} GiB across its processes (the memory limit of the whole submission)"),
    N_("the submission ran too many processes and threads at once (at most {limit})"),
    N_("the submission wrote more than {mib} MiB into its folder (the disk quota)"),
    N_("the solution's process was killed by {signal} (a segmentation fault: memory accessed out of bounds)"),
    N_("the solution's process was killed by {signal} (the CPU time limit)"),
    N_("the solution's process was killed by {signal} (killed from outside; maybe out of memory)"),
    N_("the solution's process was killed by {signal} (aborted)"),
    N_("the solution's process was killed by {signal} (a system call the sandbox does not allow)"),
    N_("the solution's process was killed by {signal}"),
    N_("the solution's process exited with status {code} before the checks ended (os._exit?)"),
    N_("the sandbox could not start: {error}"),
    N_("the sandbox ended in a way the judge does not know: {how}"),
    N_("the solution closed the judge's channel (a file descriptor it did not open)"),
    N_("the sandbox's supervisor ended without saying how the sandbox ended"),
    N_("the solution wrote into the judge's channel (a file descriptor it did not open): {what}"),
    # harness.py and worker.py: runs that did not get to judge the answer
    N_("the answer module is wrong (please report): {error}"),
    N_("no usable input: {error}"),
    N_("the check itself raised {error} (a bug in {file}; please report)"),
    N_("every comparison in this check would also accept an all-zero output"),
    N_("raised {error} while loading:"),
    N_("called sys.exit({code}) while loading"),
    N_("called {name}, which this exercise forbids, while loading"),
    N_("unexpected reply while loading: {kind}"),
    N_("{error} (a bank bug; please report)"),
    N_("the judge could not start a sandbox: {error}"),
    N_("the judge could not start the check's harness: {error} (out of processes or open files?)"),
    N_("the judge's harness stopped without a verdict ({how}): the solution may have killed it, or this is a bug in llmq"),
    N_("the verdict channel carried something that is not the harness's verdict"),
    N_("the judge's describe process stopped without an answer ({how})"),
    N_("the judge's worker died twice while checking this; it has been restarted"),
    # forbidden.py and verdict.py
    N_("line {line}: uses {name} (written `{written}`), which this exercise forbids"),
    N_("line {line}: uses {name}, which this exercise forbids"),
    N_("{file} defines no function named `{function}` (it defines: {names})"),
    N_("no functions"),
    N_("failed"),
)

_FIELD = re.compile(r"\{(\w+)\}")


def _pattern(template: str) -> re.Pattern[str]:
    """The template as a regular expression: its text literally, each `{param}` as a group (a
    param that appears twice must be the same text both times)."""
    parts: list[str] = []
    seen: set[str] = set()
    at = 0
    for m in _FIELD.finditer(template):
        parts.append(re.escape(template[at : m.start()]))
        name = m.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        at = m.end()
    parts.append(re.escape(template[at:]))
    return re.compile("".join(parts), re.DOTALL)


@functools.cache
def _compiled() -> tuple[tuple[str, re.Pattern[str]], ...]:
    by_text = sorted(TEMPLATES, key=lambda t: len(_FIELD.sub("", t)), reverse=True)
    return tuple((t, _pattern(t)) for t in by_text)


def translate_line(line: str, depth: int = 0) -> str:
    """One line of a judge message in the interface's language (as it is when no template matches)."""
    if depth > 4 or not line:
        return line
    for template, pattern in _compiled():
        m = pattern.fullmatch(line)
        if m is None:
            continue
        translated = _(template)
        if translated == template and not m.groupdict():
            return line
        params = {k: translate_line(v, depth + 1) for k, v in m.groupdict().items()}
        try:
            return translated.format(**params)
        except (KeyError, IndexError, ValueError):  # a translation that names other params
            return line
    if "; " in line:
        # Several findings joined (compare.state_change): each one translated, or none.
        parts = line.split("; ")
        translated_parts = [translate_line(part, depth + 1) for part in parts]
        if all(t != p for t, p in zip(translated_parts, parts, strict=True)):
            return "；".join(translated_parts)
    if depth == 0:
        # An answer module's label before the judge's words ("one query, 9 keys: wrong shape: ..."):
        # the label stays as the module wrote it, the judge's words are translated.
        at = line.find(": ")
        while at > 0:
            rest = translate_line(line[at + 2 :], depth + 1)
            if rest != line[at + 2 :]:
                return f"{line[:at]}：{rest}"
            at = line.find(": ", at + 2)
    return line


def translate(message: str) -> str:
    """A judge message (one line or several) in the interface's language; English stays as it is."""
    if not message or current_language() == "en":
        return message
    return "\n".join(translate_line(line) for line in message.split("\n"))


def msgids() -> Iterable[str]:
    """Every template (for the tests)."""
    return TEMPLATES
