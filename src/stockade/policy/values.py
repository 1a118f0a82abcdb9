"""Value syntaxes of policy criteria and the matchers compiled from them.

Every string criterion is a regular expression matched against the whole value,
case-insensitively, with RE2 (linear time, so no policy can hang the evaluator). A leading
``r/`` (the product's explicit regex marker) is accepted and dropped.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from enum import Enum

import re2

from stockade.model.image import Severity

# RE2 limits: programs above this size are rejected (bounded memory per policy).
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.case_sensitive = False
_RE2_OPTIONS.max_mem = 8 << 20
_RE2_OPTIONS.log_errors = False

MAX_VALUE_LENGTH = 4096
_MEMO_SIZE = 4096


class Syntax(Enum):
    """How a value of a criterion is written."""

    REGEX = "regular expression"
    BOOL = "true or false"
    NUMBER = "a number, optionally after a comparator (<, >, <=, >=)"
    DAYS = "a whole number of days"
    SEVERITY = "a severity (LOW, MODERATE, IMPORTANT, CRITICAL), optionally after a comparator"
    ENUM = "one of the listed values"
    KEY_VALUE = "key=value (each side a regular expression; an empty side matches anything)"
    COMPOUND = "parts separated by '=' (each a regular expression; empty matches anything)"
    IP = "an IPv4 or IPv6 address"


_NUMBER_RE = re.compile(r"^\s*(<=|>=|<|>)?\s*([0-9]*\.?[0-9]+)\s*$")
_SEVERITY_RE = re.compile(
    r"^\s*(<=|>=|<|>)?\s*(UNKNOWN|LOW|MODERATE|IMPORTANT|CRITICAL)\s*$", re.IGNORECASE
)
_DAYS_RE = re.compile(r"^\s*([0-9]+)\s*$")
_IPV4 = r"(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})"
_IPV6 = r"([0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}"
_IP_RE = re.compile(rf"^\s*({_IPV4}|{_IPV6})\s*$")

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
    "": operator.eq,
}


class ValueSyntaxError(ValueError):
    """A criterion value does not follow its syntax; str() says why."""


Matcher = Callable[[object], bool]


def compile_regex(pattern: str, *, contains: bool = False) -> re2._Regexp:
    """RE2 regex, case-insensitive; whole-value unless ``contains``."""
    if len(pattern) > MAX_VALUE_LENGTH:
        raise ValueSyntaxError(f"is longer than {MAX_VALUE_LENGTH} characters")
    text = pattern.removeprefix("r/")
    try:
        return re2.compile(text if contains else f"(?:{text})", _RE2_OPTIONS)
    except re2.error as exc:
        raise ValueSyntaxError(f"is not a valid regular expression ({exc})") from exc


# Patterns that are plain words (or alternations of words) are matched without the regex
# engine: whole-value, case-insensitive comparison of ASCII text is the same thing.
_PLAIN = re.compile(r"^[A-Za-z0-9_\-/:@ ,=]+$")


class WordMatcher:
    """Whole-value, case-insensitive match against a set of plain words (no regex engine)."""

    __slots__ = ("slow", "words")

    def __init__(self, text: str) -> None:
        self.words = frozenset(p.lower() for p in text.split("|"))
        self.slow = re2.compile(f"(?:{text})", _RE2_OPTIONS).fullmatch  # non-ASCII input

    def __call__(self, s: object) -> bool:
        if not isinstance(s, str):
            return False
        if s.isascii():
            return s.lower() in self.words
        return self.slow(s) is not None


def _fast_matcher(text: str) -> Callable[[str], bool] | None:
    if text == ".*":
        return lambda s: "\n" not in s
    if text == ".+":
        return lambda s: bool(s) and "\n" not in s
    if all(_PLAIN.match(p) for p in text.split("|")):
        return WordMatcher(text)
    return None


def regex_matcher(pattern: str, *, contains: bool = False) -> Callable[[str], bool]:
    if not contains and len(pattern) <= MAX_VALUE_LENGTH:
        fast = _fast_matcher(pattern.removeprefix("r/"))
        if fast is not None:
            return fast
    rx = compile_regex(pattern, contains=contains)
    run = rx.search if contains else rx.fullmatch
    memo: dict[str, bool] = {}

    def match(s: str) -> bool:
        # the same strings come back again and again (env names, paths): remember answers
        got = memo.get(s)
        if got is None:
            got = run(s) is not None
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            if len(s) <= 512:
                memo[s] = got
        return got

    return match


def optional_regex(pattern: str) -> Callable[[str], bool] | None:
    """None (match anything) for an empty pattern, else a whole-value regex matcher."""
    return regex_matcher(pattern) if pattern else None


def parse_number(value: str) -> tuple[Callable[[float, float], bool], float]:
    m = _NUMBER_RE.match(value)
    if not m:
        raise ValueSyntaxError(f"must be {Syntax.NUMBER.value}")
    return _OPS[m.group(1) or ""], float(m.group(2))


def number_matcher(value: str) -> Matcher:
    op, ref = parse_number(value)
    if op is operator.eq:
        return lambda v: isinstance(v, int | float) and abs(float(v) - ref) < 1e-9
    return lambda v: isinstance(v, int | float) and op(float(v), ref)


def severity_matcher(value: str) -> Matcher:
    m = _SEVERITY_RE.match(value)
    if not m:
        raise ValueSyntaxError(f"must be {Syntax.SEVERITY.value}")
    op = _OPS[m.group(1) or ""]
    ref = Severity[m.group(2).upper()]
    return lambda v: isinstance(v, Severity) and op(int(v), int(ref))


def bool_matcher(value: str) -> Matcher:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise ValueSyntaxError("must be true or false")
    want = text == "true"
    return lambda v: v is want


def days_matcher(value: str, now: Callable[[], dt.datetime]) -> Matcher:
    """Matches a timestamp more than N days before now."""
    m = _DAYS_RE.match(value)
    if not m:
        raise ValueSyntaxError(f"must be {Syntax.DAYS.value}")
    days = dt.timedelta(days=int(m.group(1)))
    return lambda v: isinstance(v, dt.datetime) and now() - v > days


def enum_matcher(value: str, allowed: tuple[str, ...]) -> Matcher:
    text = value.strip().upper()
    if text not in allowed:
        raise ValueSyntaxError(f"must be one of {', '.join(allowed)}")
    return lambda v: isinstance(v, str) and v.upper() == text


def ordered_enum_matcher(value: str, order: tuple[str, ...]) -> Matcher:
    """Matches values at or above ``value`` in ``order`` (e.g. RBAC permission levels)."""
    text = value.strip().upper()
    if text not in order:
        raise ValueSyntaxError(f"must be one of {', '.join(order)}")
    rank = order.index(text)
    return lambda v: isinstance(v, str) and v.upper() in order and order.index(v.upper()) >= rank


def ip_matcher(value: str) -> Matcher:
    if not _IP_RE.match(value):
        raise ValueSyntaxError(f"must be {Syntax.IP.value}")
    text = value.strip().lower()
    return lambda v: isinstance(v, str) and v.lower() == text


def split_compound(value: str, parts: int) -> list[str]:
    """``a=b=c`` into ``parts`` pieces; the last piece keeps any further '='."""
    pieces = value.split("=", parts - 1)
    if len(pieces) != parts:
        raise ValueSyntaxError(f"must have {parts} parts separated by '='")
    return pieces


def compound_matcher(value: str, parts: int) -> Matcher:
    """Matches a tuple of ``parts`` strings, each against a regex (empty: anything)."""
    active = [
        (i, m) for i, p in enumerate(split_compound(value, parts)) if (m := optional_regex(p))
    ]
    if not active:
        return lambda v: isinstance(v, tuple) and len(v) == parts
    if len(active) == 1:
        return PartMatcher(active[0][0], parts, active[0][1])

    def match(v: object) -> bool:
        if not isinstance(v, tuple) or len(v) != parts:
            return False
        return all(m(str(v[i])) for i, m in active)

    return match


class PartMatcher:
    """Matches one part of a compound value (e.g. the name of ``name=version``)."""

    __slots__ = ("inner", "part", "parts")

    def __init__(self, part: int, parts: int, inner: Callable[[str], bool]) -> None:
        self.part = part
        self.parts = parts
        self.inner = inner

    def __call__(self, v: object) -> bool:
        return isinstance(v, tuple) and len(v) == self.parts and self.inner(str(v[self.part]))


def key_value_matcher(value: str) -> Matcher:
    """Matches a ``(key, value)`` pair; the key side must not be empty."""
    key, _, val = value.partition("=")
    if "=" not in value or not key:
        raise ValueSyntaxError(f"must be {Syntax.KEY_VALUE.value}")
    km = regex_matcher(key)
    vm = optional_regex(val)

    def match(v: object) -> bool:
        if not isinstance(v, tuple) or len(v) != 2:
            return False
        return km(str(v[0])) and (vm is None or vm(str(v[1])))

    return match


def annotation_matcher(value: str) -> Matcher:
    """Like key_value_matcher but ``key`` alone (no '=') is accepted too."""
    if "=" not in value:
        value += "="
    return key_value_matcher(value)
