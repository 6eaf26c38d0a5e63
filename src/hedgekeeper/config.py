"""Configuration: one TOML file, overridden by `HEDGEKEEPER_*` environment variables.

Every problem is reported as one line naming the field, because the person reading it is about to
leave a daemon alone with money and must be able to fix the file without guessing.
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from hedgekeeper.policy.spec import ConstantPolicy, CppiPolicy, PolicySpec, PutPolicy
from hedgekeeper.policy.spec import describe as _describe
from hedgekeeper.policy.spec import multiplier_problem as _multiplier_problem

Mode = Literal["dry-run", "testnet", "live"]
NonNegative = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Urls(Strict):
    """Replaces the exchange's REST and websocket hosts (emulators, proxies); paths stay."""

    rest: str | None = None
    ws: str | None = None


class SimMarket(Strict):
    """One sim market. By default it follows the venue's price path; given any of `prices`,
    `start_price`, `volatility` or `seed`, it moves on its own (an ETH market at ETH prices)."""

    symbol: str
    kind: Literal["inverse", "linear"]
    contract_size: Positive
    amount_step: Positive = Decimal(1)
    min_amount: Positive = Decimal(1)
    price_step: Positive = Decimal("0.5")
    prices: Path | None = None  # CSV; else a walk with the venue's step and start time
    start_price: Positive | None = None  # default: the venue's
    volatility: NonNegative | None = None  # default: the venue's
    seed: int | None = None  # default: the venue's seed plus the market's position
    funding_rate: Annotated[Decimal, Field(allow_inf_nan=False)] | None = None  # default: venue's

    @property
    def own_path(self) -> bool:
        return any(
            v is not None for v in (self.prices, self.start_price, self.volatility, self.seed)
        )


class SimEvent(Strict):
    """A scheduled deposit (amount > 0) or withdrawal (< 0) at a simulated hour from the start."""

    at_hours: Annotated[float, Field(ge=0)]
    asset: str
    amount: Annotated[Decimal, Field(allow_inf_nan=False)]
    wallet: Literal["spot", "derivatives"] = "spot"


def _default_sim_markets() -> tuple[SimMarket, ...]:
    return (
        SimMarket(symbol="BTC/USD:BTC", kind="inverse", contract_size=Decimal(1)),
        SimMarket(
            symbol="BTC/USDT:USDT",
            kind="linear",
            contract_size=Decimal("0.001"),
            amount_step=Decimal(1),
            min_amount=Decimal(1),
            price_step=Decimal("0.1"),
        ),
    )


class SimConfig(Strict):
    """The built-in exchange: a price path, wallets, fees, funding and a faster clock."""

    prices: Path | None = None  # CSV; without it a seeded random walk
    seed: int = 7
    start_price: Positive = Decimal(65000)
    volatility: NonNegative = Decimal("0.004")  # per step, of the random walk
    step_seconds: Annotated[float, Field(gt=0)] = 3600.0  # simulated time per path step
    speed: Annotated[float, Field(gt=0)] = 36000.0  # simulated seconds per real second
    steps: Annotated[int, Field(gt=0)] | None = None  # random walk length; None: endless
    start_time: float = 1_700_000_000.0
    spot: dict[str, NonNegative] = Field(default_factory=lambda: {"BTC": Decimal("1.5")})
    derivatives: dict[str, NonNegative] = Field(
        default_factory=lambda: {"BTC": Decimal("0.6"), "USDT": Decimal(100000)}
    )
    unified: bool = False
    taker_fee: NonNegative = Decimal("0.0005")
    maintenance_margin: NonNegative = Decimal("0.005")
    funding_rate: Annotated[Decimal, Field(allow_inf_nan=False)] = Decimal("0.0001")
    funding_interval_hours: Annotated[float, Field(gt=0)] = 8.0
    markets: tuple[SimMarket, ...] = Field(default_factory=_default_sim_markets)
    events: tuple[SimEvent, ...] = ()


class VenueConfig(Strict):
    exchange: str  # a ccxt id, or "sim"
    api_key: SecretStr | None = None
    secret: SecretStr | None = None
    password: SecretStr | None = None
    api_key_file: Path | None = None
    secret_file: Path | None = None
    password_file: Path | None = None
    urls: Urls | None = None
    unified: bool | None = None  # None: ask the exchange
    options: dict[str, Any] = Field(default_factory=dict)  # passed to ccxt as they are
    rest_interval: Annotated[float, Field(gt=0)] = 30.0  # seconds between REST truth reads
    # Seconds between REST polls of what the exchange does not push (BingX: everything);
    # None: the exchange package's default. Must be shorter than each leg's max_age_seconds.
    poll_interval: Annotated[float, Field(gt=0)] | None = None
    # Consent to one order that cannot fill (far from the mark, cancelled at once), sent in
    # testnet or live mode to learn whether the key may trade (MEXC refuses most keys futures).
    probe_orders: bool = False
    sim: SimConfig | None = None

    @model_validator(mode="after")
    def _sim_only_for_sim(self) -> VenueConfig:
        if self.sim is not None and self.exchange != "sim":
            raise ValueError("'sim' settings are only for exchange = \"sim\"")
        return self

    def secret_value(self, name: Literal["api_key", "secret", "password"]) -> str | None:
        """The secret from the environment/TOML, else from its `*_file` (Docker/systemd creds)."""
        direct: SecretStr | None = getattr(self, name)
        if direct is not None:
            return direct.get_secret_value()
        path: Path | None = getattr(self, f"{name}_file")
        if path is None:
            return None
        return path.read_text().strip()


class PerpRef(Strict):
    venue: str
    symbol: str


class SpotSource(Strict):
    """An exchange spot wallet (`venue`) or a fixed amount held elsewhere (`amount`)."""

    venue: str | None = None
    amount: NonNegative | None = None
    label: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> SpotSource:
        if (self.venue is None) == (self.amount is None):
            raise ValueError("give exactly one of 'venue' or 'amount'")
        return self


class Deadband(Strict):
    """Drift smaller than both of these is left alone (SPEC §1)."""

    quote: NonNegative = Decimal(0)
    percent: Annotated[Decimal, Field(ge=0, le=100)] = Decimal("0.5")


class Guards(Strict):
    max_age_seconds: Annotated[float, Field(gt=0)] = 120.0
    max_contracts: Positive | None = None
    glitch_fraction: Annotated[Decimal, Field(gt=0)] = Decimal("0.25")
    max_mark_index_gap: Annotated[Decimal, Field(gt=0, le=1)] = Decimal("0.05")
    orders_per_minute: Annotated[int, Field(gt=0)] = 10
    breaker_failures: Annotated[int, Field(gt=0)] = 5
    min_liquidation_distance: Annotated[Decimal, Field(ge=0, le=1)] = Decimal("0.3")
    auto_transfer: bool = False


class LegConfig(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
    asset: str
    perp: PerpRef
    spot: tuple[SpotSource, ...] = ()
    reserve: NonNegative = Decimal(0)
    # `hedge_ratio = x` is `policy = { kind = "constant", ratio = x }`; give one of the two.
    hedge_ratio: Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)] | None = None
    policy: PolicySpec
    count_collateral: bool = True
    deadband: Deadband = Deadband()
    max_order: Positive | None = None  # contracts
    order_type: Literal["limit", "market"] = "limit"
    max_slippage: Annotated[Decimal, Field(ge=0, le=10)] = Decimal("0.5")  # percent of mark
    leverage: Annotated[Decimal, Field(gt=0, le=1)] = Decimal(1)
    margin_mode: Literal["cross", "isolated"] = "cross"
    guards: Guards = Guards()

    @model_validator(mode="before")
    @classmethod
    def _ratio_is_a_policy(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        ratio, policy = data.get("hedge_ratio"), data.get("policy")
        if ratio is not None and policy is not None:
            raise ValueError("hedge_ratio, policy: give one of them, not both")
        if ratio is None and policy is None:
            raise ValueError("hedge_ratio: give hedge_ratio = x or a policy = { kind = ... }")
        if ratio is not None:
            # A bad ratio is reported once, as hedge_ratio's: the policy gets a stand-in.
            return {**data, "policy": {"kind": "constant", "ratio": _ratio_or_zero(ratio)}}
        return data

    @model_validator(mode="after")
    def _constant_ratio(self) -> LegConfig:
        if isinstance(self.policy, ConstantPolicy) and self.hedge_ratio is None:
            object.__setattr__(self, "hedge_ratio", self.policy.ratio)
        return self

    def hedge_text(self) -> str:
        """What the leg hedges, for a person: "90%" or "by the policy cppi:floor_pct=0.8,..."."""
        if self.hedge_ratio is not None:
            return f"{self.hedge_ratio:.0%}"
        return f"by the policy {_describe(self.policy)}"

    def with_policy(self, policy: ConstantPolicy | CppiPolicy | PutPolicy) -> LegConfig:
        """The same leg under another policy (for `simulate --ratio` and `--compare`)."""
        ratio = policy.ratio if isinstance(policy, ConstantPolicy) else None
        return self.model_copy(update={"policy": policy, "hedge_ratio": ratio})


def _ratio_or_zero(value: Any) -> Any:
    try:
        ratio = Decimal(str(value))
    except ArithmeticError:
        return 0
    return value if ratio.is_finite() and 0 <= ratio <= 1 else 0


def evaluation_interval(venue: VenueConfig) -> float:
    """Seconds between two evaluations at worst: the REST read's period, or on the simulated
    exchange one step of its price path (the price does not move in between)."""
    if venue.exchange == "sim":
        return (venue.sim or SimConfig()).step_seconds
    return venue.rest_interval


class OpsConfig(Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9108


class FleetConfig(Strict):
    """The account lease of a PostgreSQL journal: how often a standby asks for it, and how often
    the active daemon checks that it still holds it (each bounds a failover's length)."""

    lease_poll: Annotated[float, Field(gt=0, le=5)] = 0.5
    lease_check: Annotated[float, Field(gt=0, le=5)] = 1.0


class LogConfig(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    json_lines: bool | None = Field(default=None, alias="json")  # None: JSON when not a tty
    heartbeat_seconds: Annotated[float, Field(ge=0)] = 180.0  # a line per leg; 0: none


class AlertsConfig(Strict):
    """Where alerts go (apprise URLs; secret, never logged) and when a condition is worth one."""

    urls: tuple[SecretStr, ...] = ()
    urls_file: Path | None = None  # one apprise URL a line; blank lines and # comments ignored
    under_hedged_seconds: Annotated[float, Field(ge=0)] = 900.0
    degraded_seconds: Annotated[float, Field(ge=0)] = 120.0
    settle_seconds: Annotated[float, Field(ge=0)] = 300.0  # clear this long before "resolved"
    funding_rate_above: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] = Decimal("0.001")
    max_per_hour: Annotated[int, Field(gt=0)] = 30
    tick_seconds: Annotated[float, Field(gt=0)] = 1.0  # how often the watcher looks
    send_timeout_seconds: Annotated[float, Field(gt=0)] = 15.0

    def url_values(self) -> list[str]:
        """The URLs from the config and from `urls_file`; OSError when the file is unreadable."""
        urls = [u.get_secret_value() for u in self.urls]
        if self.urls_file is not None:
            lines = self.urls_file.read_text().splitlines()
            urls += [s for line in lines if (s := line.strip()) and not s.startswith("#")]
        return urls


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HEDGEKEEPER_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        populate_by_name=True,
    )

    mode: Mode = "dry-run"
    journal: str = "hedgekeeper.sqlite"  # a SQLite file, or postgresql://user@host:port/db
    journal_password: SecretStr | None = None  # for a PostgreSQL journal; or PGPASSFILE
    journal_password_file: Path | None = None
    kill_file: Path | None = None
    venues: dict[str, VenueConfig]
    legs: tuple[LegConfig, ...]
    ops: OpsConfig = OpsConfig()
    fleet: FleetConfig = FleetConfig()
    log: LogConfig = LogConfig()
    alerts: AlertsConfig = AlertsConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML arrives as init values; the environment comes first so it wins over the file.
        return (env_settings, init_settings)

    @field_validator("journal")
    @classmethod
    def _journal_target(cls, journal: str) -> str:
        if "://" in journal and not journal.startswith(("postgresql://", "postgres://")):
            raise ValueError("give a SQLite file path or a postgresql:// URL")
        return journal

    def journal_secret(self) -> str | None:
        """The PostgreSQL journal's password from the environment/TOML, else from its file."""
        if self.journal_password is not None:
            return self.journal_password.get_secret_value()
        if self.journal_password_file is not None:
            return self.journal_password_file.read_text().strip()
        return None

    @field_validator("venues")
    @classmethod
    def _some_venue(cls, venues: dict[str, VenueConfig]) -> dict[str, VenueConfig]:
        if not venues:
            raise ValueError("at least one venue is needed")
        return venues

    @field_validator("legs")
    @classmethod
    def _some_leg(cls, legs: tuple[LegConfig, ...]) -> tuple[LegConfig, ...]:
        if not legs:
            raise ValueError("at least one [[legs]] entry is needed")
        return legs

    @model_validator(mode="after")
    def _references(self) -> Settings:
        problems: list[str] = []
        seen: set[str] = set()
        for i, leg in enumerate(self.legs):
            if leg.name in seen:
                problems.append(f"legs.{i}.name: duplicate leg name {leg.name!r}")
            seen.add(leg.name)
            if leg.perp.venue not in self.venues:
                problems.append(f"legs.{i}.perp.venue: no venue named {leg.perp.venue!r}")
            elif why := _multiplier_problem(
                leg.policy, evaluation_interval(self.venues[leg.perp.venue])
            ):
                problems.append(f"legs.{i}.policy.{why}")
            if (
                leg.perp.venue in self.venues
                and (poll := self.venues[leg.perp.venue].poll_interval) is not None
                and (poll >= leg.guards.max_age_seconds)
            ):
                problems.append(
                    f"legs.{i}.guards.max_age_seconds: {leg.guards.max_age_seconds:g} s is not"
                    f" longer than venue {leg.perp.venue!r}'s poll_interval ({poll:g} s): every"
                    " polled reading would be stale"
                )
            for j, source in enumerate(leg.spot):
                if source.venue is not None and source.venue not in self.venues:
                    problems.append(f"legs.{i}.spot.{j}.venue: no venue named {source.venue!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ConfigError(Exception):
    """Holds one human line per problem; the CLI prints them and exits 2."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


_POLICY_TAGS = ("constant", "cppi", "tipp", "put")


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if not str(p).startswith("function-"))


def explain(error: ValidationError) -> list[str]:
    lines = []
    for err in error.errors():
        loc = err["loc"]
        if "policy" in loc:  # a policy's kind tag is not a key the user wrote
            at = loc.index("policy") + 1
            loc = loc[:at] + tuple(p for p in loc[at:] if p not in _POLICY_TAGS)
        where = _loc(loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        if err["type"] == "union_tag_invalid":
            where, tag = f"{where}.kind", (err.get("ctx") or {}).get("tag")
            msg = f"unknown policy kind {tag!r} (expected {', '.join(_POLICY_TAGS)})"
        # A model-level check may already carry its own field names, one per "; ".
        for part in msg.split("; "):
            lines.append(f"{where}: {part}" if where and not part.startswith("legs.") else part)
    return lines


def default_text() -> str:
    return resources.files("hedgekeeper").joinpath("default.toml").read_text()


def parse(text: str, origin: str) -> Settings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{origin}: not valid TOML: {exc}"]) from None
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError([f"{origin}: {line}" for line in explain(exc)]) from None


def load(path: Path | None) -> Settings:
    """The given file, or the packaged default (dry-run on the sim) when there is none."""
    if path is None:
        return parse(default_text(), "default config")
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    return parse(text, str(path))


def live_confirmed(flag: bool) -> bool:
    """Live trading needs a flag or HEDGEKEEPER_CONFIRM_LIVE, never just a line in a file."""
    env = os.environ.get("HEDGEKEEPER_CONFIRM_LIVE", "").lower() in ("1", "yes", "true")
    return flag or env
