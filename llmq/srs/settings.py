"""Study settings (desired retention, daily limits, steps, day start, leech threshold) and the
remembered interface language, kept in progress.db's settings table; defaults are Anki's."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from llmq.srs.daytime import DAY_S
from llmq.store import Store

# FSRS-6's default weights, as in fsrs.scheduler.DEFAULT_PARAMETERS (a test keeps the two equal).
# Written out so that reading the settings (the home screen's counts) does not import fsrs.
FSRS6_DEFAULT_PARAMETERS: tuple[float, ...] = (
    0.212,
    1.2931,
    2.3065,
    8.2956,
    6.4133,
    0.8334,
    3.0194,
    0.001,
    1.8722,
    0.1666,
    0.796,
    1.4835,
    0.0614,
    0.2629,
    1.6483,
    0.6014,
    1.8729,
    0.5425,
    0.0912,
    0.0658,
    0.1542,
)

_LANGUAGES = ("", "en", "zh", "both")  # as llmq.l10n.LANGS; srs does not import the interface layer
_STEP = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": DAY_S}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_step(text: str) -> int:
    """'10m' -> 600 seconds (Anki writes steps as 1m 10m 1h 1d)."""
    m = _STEP.match(text)
    if not m:
        raise ValueError(f"a step is a number and a unit (s, m, h, d), like 10m; got {text!r}")
    return round(float(m.group(1)) * _UNIT_S[m.group(2)])


@dataclass(frozen=True, kw_only=True)
class Settings:
    desired_retention: float = 0.9
    new_per_day: int = 20
    reviews_per_day: int = 200
    learning_steps: tuple[str, ...] = ("1m", "10m")
    relearning_steps: tuple[str, ...] = ("10m",)
    day_starts_at: int = 4  # hour, local time
    leech_threshold: int = 8  # lapses
    maximum_interval: int = 36500  # days
    learn_ahead_minutes: int = 20  # show learning cards this early when nothing else is left
    fuzz: bool = True
    # FSRS-6 weights: `parameters` for cards (every kind but code), `code_parameters` for code
    # exercises, each the defaults until `llmq optimize --apply` saves weights fitted to the user's
    # own reviews on the study day in `..._fitted_on` (YYYY-MM-DD; "" while they are the defaults).
    parameters: tuple[float, ...] = FSRS6_DEFAULT_PARAMETERS
    code_parameters: tuple[float, ...] = FSRS6_DEFAULT_PARAMETERS
    parameters_fitted_on: str = ""
    code_parameters_fitted_on: str = ""
    # The language chosen last ("en", "zh" or "both"); "" until one is chosen (then the locale decides).
    language: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not 0.7 <= self.desired_retention <= 0.99:
            problems.append(f"desired_retention must be between 0.70 and 0.99, not {self.desired_retention}")
        for name in ("new_per_day", "reviews_per_day", "leech_threshold", "maximum_interval", "learn_ahead_minutes"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                problems.append(f"{name} must be a whole number >= 0, not {getattr(self, name)!r}")
        if self.maximum_interval < 1:
            problems.append("maximum_interval must be at least 1 day")
        if not 0 <= self.day_starts_at <= 23:
            problems.append(f"day_starts_at must be an hour 0-23, not {self.day_starts_at}")
        for name in ("learning_steps", "relearning_steps"):
            for step in getattr(self, name):
                try:
                    parse_step(step)
                except ValueError as err:
                    problems.append(f"{name}: {err}")
        if self.language not in _LANGUAGES:
            problems.append(f"language must be one of en, zh, both (or empty), not {self.language!r}")
        for name in ("parameters", "code_parameters"):
            if len(getattr(self, name)) != len(FSRS6_DEFAULT_PARAMETERS):
                problems.append(f"{name} must be {len(FSRS6_DEFAULT_PARAMETERS)} FSRS-6 weights")
        for name in ("parameters_fitted_on", "code_parameters_fitted_on"):
            if getattr(self, name) and not _DATE.match(getattr(self, name)):
                problems.append(f"{name} must be a date YYYY-MM-DD (or empty), not {getattr(self, name)!r}")
        if problems:
            raise ValueError("invalid settings: " + "; ".join(problems))

    def scheduler_config(self) -> str:
        """The settings that decide a review's outcome, as canonical JSON (logged with each event,
        so the log replays exactly even after the settings change)."""
        keep = (
            "desired_retention",
            "learning_steps",
            "relearning_steps",
            "day_starts_at",
            "leech_threshold",
            "maximum_interval",
            "fuzz",
            "parameters",
            "code_parameters",
        )
        data = {k: v for k, v in asdict(self).items() if k in keep}
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_config(cls, text: str) -> Settings:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)


def load_settings(store: Store) -> Settings:
    """The saved settings over the defaults. Unknown keys (from a newer llmq) are ignored."""
    try:
        return Settings.from_dict(store.settings())
    except (ValueError, TypeError) as err:
        raise store.settings_error(str(err)) from err


def save_settings(store: Store, **changes: Any) -> Settings:
    """Validate and save some settings, e.g. save_settings(store, desired_retention=0.85)."""
    new = replace(load_settings(store), **changes)
    store.set_settings({k: asdict(new)[k] for k in changes})
    return new


def remembered_language(store: Store) -> str | None:
    """The interface language saved by the last choice ("en", "zh", "both"), or None if none was made."""
    return load_settings(store).language or None


def remember_language(store: Store, lang: str) -> None:
    """Save the interface language so the next start uses it (unless --lang or LLMQ_LANG says otherwise)."""
    save_settings(store, language=lang)
