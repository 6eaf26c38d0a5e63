"""`hedgekeeper run | status | check | simulate | report | alert-test | download`: the commands
a person types.

Exit codes: 0 fine, 1 a runtime failure (venue unreachable, journal locked), 2 a configuration
problem (one line per problem, naming the field; a journal kept for another account).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hedgekeeper import config, logs
from hedgekeeper.config import ConfigError, Settings
from hedgekeeper.contracts import contract_unit
from hedgekeeper.journal import JournalError, JournalMismatch
from hedgekeeper.journal_store import redact
from hedgekeeper.policy.spec import PolicyError
from hedgekeeper.venues.base import VenueError

DEFAULT_NOTE = (
    "hedgekeeper: no --config given, running the embedded default\n"
    "  (dry-run on the built-in simulated exchange; no keys, no network)"
)


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    from importlib.metadata import version

    parser = argparse.ArgumentParser(prog="hedgekeeper", description=__doc__)
    parser.add_argument(
        "--version", action="version", version=f"hedgekeeper {version('hedgekeeper')}"
    )
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--duration", type=float, help="stop after this many seconds")
    run.add_argument(
        "--confirm-live",
        action="store_true",
        help="required (or HEDGEKEEPER_CONFIRM_LIVE=1) when mode = live",
    )
    status = sub.add_parser("status", help="exposure, position, target, drift, next action")
    status.add_argument("--json", action="store_true")
    status.add_argument("--watch", action="store_true", help="refresh a table until Ctrl-C")
    status.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
    status.add_argument("--count", type=int, help=argparse.SUPPRESS)  # tests: stop after N
    check = sub.add_parser("check", help="validate the config and reach the venues")
    simulate = sub.add_parser("simulate", help="replay a price history through the daemon")
    simulate.add_argument("--prices", type=Path, required=True, help="CSV (see docs/simulate.md)")
    simulate.add_argument("--ratio", type=_amount, help="hedge ratio h for every leg")
    simulate.add_argument("--start-coin", type=_amount, help="coin in the derivatives wallet")
    simulate.add_argument(
        "--contract-size", type=_amount, help="USD per inverse contract (default 10)"
    )
    simulate.add_argument("--out", type=Path, help="directory for the report, plots, journal")
    simulate.add_argument("--json", action="store_true")
    simulate.add_argument(
        "--compare",
        nargs="+",
        metavar="SPEC",
        help="replay each policy, e.g. constant:1 cppi:floor_pct=0.8,multiplier=3 "
        "tipp:floor_pct=0.8,multiplier=4,lock_in=0.8 put:strike_pct=0.9,horizon_days=30",
    )
    alert_test = sub.add_parser("alert-test", help="send one test alert to every alert URL")
    report = sub.add_parser("report", help="what the insurance did, from the journal alone")
    report.add_argument("--since", help="a date or ISO time (UTC unless it says)")
    report.add_argument("--json", action="store_true")
    report.add_argument("--out", type=Path, help="directory for report.json/.txt and plots")
    for command in (run, status, check, simulate, alert_test, report):
        command.add_argument("--config", type=Path, help="TOML file (default: the embedded one)")
    from hedgekeeper.download import add_parser

    add_parser(sub)
    return parser


def secrets_of(settings: Settings) -> list[str]:
    found = [u.get_secret_value() for u in settings.alerts.urls]
    with contextlib.suppress(OSError):
        found += settings.alerts.url_values()
    found += [p for p in (_journal_secret(settings), urlsplit(settings.journal).password) if p]
    for venue in settings.venues.values():
        for name in ("api_key", "secret", "password"):
            try:
                value = venue.secret_value(name)
            except OSError:
                value = None
            if value:
                found.append(value)
    return found


def _journal_secret(settings: Settings) -> str | None:
    try:
        return settings.journal_secret()
    except OSError:
        return None


def describe(settings: Settings) -> list[str]:
    lines = [f"mode: {settings.mode}; journal: {redact(settings.journal)}"]
    for leg in settings.legs:
        sources = ", ".join(
            f"wallet at {s.venue}" if s.venue else f"{s.amount} {leg.asset} {s.label}".strip()
            for s in leg.spot
        )
        lines.append(
            f"leg {leg.name}: hedge {leg.hedge_text()} of {leg.asset} ({sources or 'nothing'}"
            f"{', reserve ' + str(leg.reserve) if leg.reserve else ''}) with a short "
            f"{leg.perp.symbol} on {leg.perp.venue} "
            f"({settings.venues[leg.perp.venue].exchange}) at {leg.leverage}x"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `hedgekeeper`: say what there is
        parser.print_help()
        return 0
    if args.command == "download":
        from hedgekeeper.download import command as download

        logs.configure("warning", None, [])
        return download(args)
    try:
        settings = config.load(args.config)
    except ConfigError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 2
    if args.command == "simulate":
        from hedgekeeper.report import command as simulate

        logs.configure("error", None, [])  # a replay's guard trips are in its report and journal
        if args.compare and args.ratio is not None:
            print("hedgekeeper: --ratio: not with --compare (use constant:H)", file=sys.stderr)
            return 2
        if args.compare:  # the same inputs, each of the policies instead of the leg's own
            from hedgekeeper.simulate_compare import command as simulate  # type: ignore[assignment]
        return simulate(
            settings if args.config else None,
            args.prices,
            args.compare or args.ratio,
            args.start_coin,
            args.contract_size,
            args.out,
            args.json,
        )
    if args.command == "report":
        from hedgekeeper.livereport import command as report

        logs.configure("error", None, [])
        return report(settings, args.since, args.json, args.out)
    if args.command == "alert-test":
        logs.configure("warning", None, secrets_of(settings))
        return alert_test(settings)
    if args.command == "run" and (problem := _alert_problem(settings)):
        print(problem, file=sys.stderr)
        return 2
    if args.command == "run" and settings.mode == "live":
        for line in describe(settings):
            print(line, file=sys.stderr)
        if not config.live_confirmed(args.confirm_live):
            print(
                "mode: live trades real money: pass --confirm-live or set "
                "HEDGEKEEPER_CONFIRM_LIVE=1 to start",
                file=sys.stderr,
            )
            return 2
    logs.configure(settings.log.level, settings.log.json_lines, secrets_of(settings))
    try:
        if args.command == "run":
            if args.config is None:
                print(DEFAULT_NOTE, file=sys.stderr, flush=True)
            from hedgekeeper.supervisor import Daemon

            # The demo's sim is a new account on every run, so it gets a new journal too.
            demo = args.config is None
            return asyncio.run(Daemon(settings, args.duration, fresh_journal=demo).run())
        if args.command == "status" and args.watch:
            from hedgekeeper.terminal import watch

            return asyncio.run(watch(lambda: _status_data(settings), args.interval, args.count))
        if args.command == "status":
            return asyncio.run(status(settings, args.json))
        return asyncio.run(check(settings))
    except (JournalMismatch, PolicyError) as exc:  # a floor the leg cannot hold is config
        print(f"hedgekeeper: {exc}", file=sys.stderr)
        return 2
    except JournalError as exc:
        print(f"hedgekeeper: {exc}", file=sys.stderr)
        return 1
    except VenueError as exc:
        print(f"hedgekeeper: venue error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def _alert_problem(settings: Settings) -> str | None:
    """A config problem with the alert URLs, found before the daemon starts."""
    from hedgekeeper.alerting import AlertUrlError, build_apprise

    try:
        urls = settings.alerts.url_values()
        if urls:
            build_apprise(urls)
    except OSError as exc:
        return f"alerts.urls_file: cannot read {settings.alerts.urls_file}: {exc.strerror}"
    except AlertUrlError as exc:
        return str(exc)
    return None


def alert_test(settings: Settings) -> int:
    """Send one message to every alert URL; 0 when each took it, 1 otherwise, 2 when none."""
    from hedgekeeper.alerting import send_test

    if problem := _alert_problem(settings):
        print(f"alert-test: FAILED — {problem}")
        return 2
    urls = settings.alerts.url_values()
    if not urls:
        print("alert-test: FAILED — no alert URLs: set [alerts] urls or urls_file")
        return 2
    sent, failed = send_test(urls)
    if failed:
        print(
            f"alert-test: FAILED — not delivered by {', '.join(failed)} ({sent} of {len(urls)} ok)"
        )
        return 1
    print(f"alert-test: ok — sent to {sent} service(s)")
    return 0


def _from_daemon(settings: Settings) -> dict[str, Any] | None:
    """A running daemon knows more (guards, ages): ask it first."""
    if not settings.ops.enabled or settings.ops.port == 0:
        return None
    url = f"http://{settings.ops.host}:{settings.ops.port}/status"
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            data: dict[str, Any] = json.loads(reply.read())
            data["source"] = "running daemon"
            return data
    except (OSError, ValueError):
        return None


async def _one_shot(settings: Settings) -> dict[str, Any]:
    from hedgekeeper import guards
    from hedgekeeper.engine import LegEngine
    from hedgekeeper.fleet import account_key
    from hedgekeeper.journal import Journal, open_store
    from hedgekeeper.journal_store import SqliteStore, is_postgres
    from hedgekeeper.metrics import Metrics
    from hedgekeeper.reconcile import reconcile
    from hedgekeeper.supervisor import build_venues

    venues = build_venues(settings)
    shared = is_postgres(settings.journal)
    store = (
        open_store(settings.journal, settings.journal_secret())
        if shared
        else SqliteStore(Path(settings.journal), lock=False)
    )
    legs = []
    try:
        for venue in venues.values():
            await venue.open()
        identities = {name: await venue.identity() for name, venue in venues.items()}
        journal = Journal(store, account=account_key(settings, identities) if shared else "")
        for leg in settings.legs:
            engine = LegEngine(leg, venues, journal, Metrics())
            await engine.start(readonly=True)
            assert engine.feed is not None
            snap = engine.feed.snapshot(engine.perp.now())
            h = engine.policy.ratio(snap)
            decision = reconcile(snap, leg, h)
            engine.last = decision
            entry = engine.status()
            if decision.intents:
                verdict = guards.check(snap, leg, decision.intents[0], guards.GuardState(), h)
                entry["would"] = (
                    verdict.intent.reason if verdict.intent else f"hold ({verdict.reason})"
                )
            else:
                entry["would"] = f"hold ({decision.reason})"
            entry["state"] = "one-shot"
            legs.append(entry)
    finally:
        for venue in venues.values():
            await venue.close()
        store.close()
    return {"mode": settings.mode, "source": "one-shot read", "legs": legs}


async def _status_data(settings: Settings) -> dict[str, Any]:
    return _from_daemon(settings) or await _one_shot(settings)


async def status(settings: Settings, as_json: bool) -> int:
    from hedgekeeper.policy.keeper import status_line

    data = await _status_data(settings)
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    print(f"mode {data['mode']} ({data['source']})")
    for leg in data["legs"]:
        if leg.get("exposure") is not None:
            leg["exposure"] = f"{Decimal(leg['exposure']):.8f}"
        print(
            f"  {leg['leg']}: {leg['state']}  exposure {leg['exposure']}  position "
            f"{leg['position']}  target {leg['target']}  drift {leg['drift']}  mark {leg['mark']}"
        )
        if line := status_line(leg):
            print(f"    {line}")
        print(f"    {leg.get('would') or leg['reason']}")
    return 0


def _failed(reason: str) -> int:
    print(f"check: FAILED — {reason}")
    return 1


def plain(value: Decimal) -> str:
    """100 for 100.0 and 1.5 for 1.50000000: exchanges pad their figures."""
    return format(value.normalize(), "f")


async def check(settings: Settings) -> int:
    """Config, credentials, then each venue; ends with `check: ok` or `check: FAILED — why`."""
    from hedgekeeper.contact import missing_credentials, network_failure

    for line in describe(settings):
        print(line)
    if missing := missing_credentials(settings):
        for credential in missing:
            print(f"missing credential: {credential}")
        return _failed(f"{len(missing)} missing credential(s); nothing was sent to an exchange")
    try:
        return await _reach(settings)
    except VenueError as exc:
        return _failed(network_failure(exc) or f"venue error: {exc}")


async def _reach(settings: Settings) -> int:
    from hedgekeeper.supervisor import build_venues

    venues = build_venues(settings)
    try:
        for venue in venues.values():
            await venue.open()
        for leg in settings.legs:
            perp = venues[leg.perp.venue]
            market = await perp.market(leg.perp.symbol)
            account = await perp.settings(leg.perp.symbol)
            position = await perp.position(leg.perp.symbol)
            unit = contract_unit(market)
            leverage = (
                "none (no such setting)" if account.leverage is None else f"{account.leverage}x"
            )
            print(
                f"{leg.name}: market {market.symbol} {market.kind.value}, contract size "
                f"{plain(market.contract_size)} {unit} per contract, step "
                f"{plain(market.amount_step)}, min {plain(market.min_amount)}"
            )
            print(
                f"{leg.name}: wallet {'unified' if account.unified else 'separate spot/contract'}"
                f", leverage {leverage}, margin {account.margin_mode}, position mode "
                f"{'one-way' if account.one_way else 'hedge' if account.one_way is False else '?'}"
                f", position {position.contracts}"
            )
            feeds = getattr(perp, "feeds", None)  # exchanges with streams say which are polled
            if feeds is not None:
                print(f"{leg.name}: {feeds()}")
            collateral = await perp.collateral(leg.perp.symbol)
            held = ""
            if any(s.venue == leg.perp.venue for s in leg.spot) and not account.unified:
                held = f"spot {plain((await perp.spot(leg.asset)).value)} {leg.asset}, "
            print(
                f"{leg.name}: {held}{market.settle} margin wallet {plain(collateral.wallet)} "
                f"(equity {plain(collateral.equity)}, free {plain(collateral.free)})"
            )
            advise = getattr(perp, "advice", None)  # exchanges that can say where to change it
            if advise is not None:
                for line in await advise(leg.perp.symbol, account, leg.leverage, leg.margin_mode):
                    print(f"{leg.name}: to change: {line}")
            refusal = getattr(perp, "trading_refusal", None)  # a key the exchange will refuse
            if refusal is not None and (why := await refusal(leg.perp.symbol)):
                print(f"{leg.name}: trading refused: {why}")
                return _failed(f"{leg.name}: the exchange will not take this key's orders")
    finally:
        for venue in venues.values():
            await venue.close()
    print("check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
