"""What a leg's hedge policy is, as configured: frozen parameter models and their checks.

These are the values the `[[legs]] policy = {...}` table and `simulate --compare kind:k=v,...`
both parse into, so a bad parameter gets the same one-line message from either door. Nothing here
knows a policy's formulas; the modules beside it do.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

__all__ = [
    "ConstantPolicy",
    "CppiPolicy",
    "PolicyError",
    "PolicyKind",
    "PolicySpec",
    "PutPolicy",
    "SpecError",
    "describe",
    "max_multiplier",
    "multiplier_problem",
    "parse_spec",
    "worst_fall",
]

Ratio = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
Fraction = Annotated[Decimal, Field(gt=0, lt=1, allow_inf_nan=False)]
Positive = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Deadband = Annotated[Decimal, Field(ge=0, lt=1, allow_inf_nan=False)]
Days = Annotated[float, Field(gt=0, allow_inf_nan=False)]

WARN_MULTIPLIER = Decimal(5)  # the note's "warn above 5"

# The worst plausible fall of the price between two evaluations, by the interval between them:
# BTC's worst on record is -16.5 % in one hour (12 March 2020, Deribit), -21.8 % between two
# 8-hourly funding times (BitMEX) and -48 % in one day. CPPI holds its floor only while a fall
# between evaluations stays below 1/m, so m may not exceed 1 / this figure.
WORST_FALL: tuple[tuple[float, Decimal], ...] = (
    (60.0, Decimal("0.05")),
    (900.0, Decimal("0.10")),
    (3600.0, Decimal("0.20")),
    (8 * 3600.0, Decimal("0.25")),
    (24 * 3600.0, Decimal("0.50")),
)


class PolicyKind(StrEnum):
    CONSTANT = "constant"
    CPPI = "cppi"
    TIPP = "tipp"  # CPPI whose floor ratchets up with the high-water mark (lock_in > 0)
    PUT = "put"  # a self-financing synthetic put, rolled at its horizon


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConstantPolicy(_Strict):
    """Today's `hedge_ratio = x`: hedge the share x of the holding, whatever it is worth."""

    kind: Literal["constant"] = "constant"
    ratio: Ratio


class _Floor(_Strict):
    floor_buffer: NonNegative = Decimal(0)  # work against F·(1 + buffer): carry eats it first
    deadband_h: Deadband = Decimal("0.02")  # trade when the target h moves by this much


class CppiPolicy(_Floor):
    """CPPI (lock_in = 0) or TIPP (lock_in > 0): exposed share m·(V - F)/V of the value V."""

    kind: Literal["cppi", "tipp"] = "cppi"
    floor_pct: Fraction | None = None  # F = floor_pct · V0
    floor_usd: Positive | None = None  # or an absolute floor
    multiplier: Positive = Decimal(3)
    lock_in: Annotated[Decimal, Field(ge=0, lt=1, allow_inf_nan=False)] = Decimal(0)

    @model_validator(mode="before")
    @classmethod
    def _tipp_locks_in(cls, data: Any) -> Any:
        """TIPP without a lock_in keeps the floor's own share of the high-water mark."""
        if not isinstance(data, dict) or data.get("kind") != "tipp" or "lock_in" in data:
            return data
        if data.get("floor_pct") is not None:
            return {**data, "lock_in": data["floor_pct"]}
        return data

    @model_validator(mode="after")
    def _one_floor(self) -> CppiPolicy:
        if self.floor_pct is not None and self.floor_usd is not None:
            raise ValueError("floor_pct, floor_usd: give one of them, not both")
        if self.floor_pct is None and self.floor_usd is None:
            raise ValueError("floor_pct: a floor is needed (floor_pct of V0, or floor_usd)")
        if self.kind == "tipp" and self.lock_in == 0:
            raise ValueError("lock_in: TIPP needs lock_in > 0 (the share of the high-water mark)")
        return self

    @property
    def ratchets(self) -> bool:
        return self.lock_in > 0


class PutPolicy(_Floor):
    """A self-financing synthetic put on the value, struck at strike_pct of it at each roll."""

    kind: Literal["put"] = "put"
    strike_pct: Fraction = Decimal("0.9")
    horizon_days: Days = 30.0
    vol_window_days: Days = 30.0
    vol_floor: NonNegative = Decimal("0.5")  # annualised; a calm window must not under-hedge


PolicySpec = Annotated[ConstantPolicy | CppiPolicy | PutPolicy, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[ConstantPolicy | CppiPolicy | PutPolicy] = TypeAdapter(PolicySpec)


def worst_fall(interval_seconds: float) -> Decimal:
    """The worst plausible fall between two evaluations `interval_seconds` apart."""
    for limit, fall in WORST_FALL:
        if interval_seconds <= limit:
            return fall
    return WORST_FALL[-1][1]


def max_multiplier(interval_seconds: float) -> Decimal:
    return 1 / worst_fall(interval_seconds)


def multiplier_problem(spec: object, interval_seconds: float) -> str | None:
    """Why this CPPI/TIPP multiplier cannot hold its floor at this evaluation interval, or None."""
    if not isinstance(spec, CppiPolicy):
        return None
    fall = worst_fall(interval_seconds)
    if spec.multiplier * fall <= 1:
        return None
    return (
        f"multiplier: {spec.multiplier} cannot defend the floor when the leg is evaluated every "
        f"{_duration(interval_seconds)}: a fall of {fall:.0%} between evaluations is plausible, "
        f"so the multiplier must be at most {1 / fall:.4g}"
    )


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


class SpecError(ValueError):
    """A `--compare` spec that does not parse, in one line naming the spec and the field."""


def parse_spec(text: str) -> ConstantPolicy | CppiPolicy | PutPolicy:
    """`constant:1`, `cppi:floor_pct=0.8,multiplier=3`, `tipp:...,lock_in=0.8`, `put:...`."""
    kind, _, rest = text.partition(":")
    kind = kind.strip()
    fields: dict[str, object] = {"kind": kind}
    if kind == "constant" and rest and "=" not in rest:
        fields["ratio"] = rest.strip()
    elif rest:
        for part in rest.split(","):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                raise SpecError(f"--compare {text!r}: {part!r} is not key=value")
            fields[key.strip()] = value.strip()
    try:
        return _ADAPTER.validate_python(fields)
    except ValidationError as exc:
        raise SpecError(f"--compare {text!r}: {_first(exc)}") from None


def _first(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"][1:]]  # the first is the union's tag
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "union_tag_invalid":
            return "kind: unknown policy kind (expected constant, cppi, tipp or put)"
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{'.'.join(loc)}: {msg}" if loc else msg)
    return "; ".join(lines)


def describe(spec: ConstantPolicy | CppiPolicy | PutPolicy) -> str:
    """The spec in the `--compare` syntax: what tables, plots and status call the policy."""
    if isinstance(spec, ConstantPolicy):
        return f"constant:{spec.ratio}"
    fields = type(spec).model_fields
    always = {"floor_pct", "floor_usd", "multiplier", "strike_pct", "horizon_days"}
    shown = [
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in spec.model_dump(exclude={"kind"}).items()
        if v is not None and (k in always or v != fields[k].default)
    ]
    return f"{spec.kind}:{','.join(shown)}"


class PolicyError(ValueError):
    """A policy that cannot start on the leg as it is (a floor above its value), naming the
    field; the daemon exits 2 on it, as on any other configuration problem."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message
