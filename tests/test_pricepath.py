"""Price files in both formats, their errors, and the seeded walk; every file is written here."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgekeeper.pricepath import PricePathError, PricePoint, load_csv, random_walk

D = Decimal
DERIBIT_HEADER = "time_dt,timestamp,prev_index_price,interest_8h,interest_1h,index_price,time_dt"


def deribit_row(hour: int, price: str, funding: str, prev: str = "") -> str:
    stamp = f"2019-04-30 {hour:02d}:00:00"
    ms = 1556618400000 + (hour - 11) * 3_600_000
    return f"{stamp},{ms},{prev},-0.00045,{funding},{price},{stamp}"


def write(tmp_path: Path, *lines: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_deribit_export_uses_index_price_and_hourly_interest(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        DERIBIT_HEADER,
        deribit_row(11, "5150.94", "0.0"),
        deribit_row(12, "5185.14", "-2.355264834228129e-05", "5150.94"),
    )
    first, second = load_csv(path)
    assert first == PricePoint(1556618400.0, D("5150.94"), D(0))
    assert second.ts == 1556622000.0 and second.price == D("5185.14")
    assert second.funding_rate == D("-0.00002355264834228129")


def test_deribit_rows_out_of_order_are_sorted_but_repeats_refused(tmp_path: Path) -> None:
    swapped = write(
        tmp_path,
        DERIBIT_HEADER,
        deribit_row(11, "1", "0"),
        deribit_row(13, "3", "0"),
        deribit_row(12, "2", "0"),
    )
    assert [p.price for p in load_csv(swapped)] == [1, 2, 3]
    repeated = write(tmp_path, DERIBIT_HEADER, deribit_row(11, "1", "0"), deribit_row(11, "2", "0"))
    with pytest.raises(PricePathError, match=r"line 3, column 'timestamp'"):
        load_csv(repeated)


@pytest.mark.parametrize(
    "stamps",
    [
        ("2018-06-04T04:00:00Z", "2018-06-04T12:00:00+00:00"),
        ("2018-06-04 04:00:00", "2018-06-04T12:00:00"),  # no zone: UTC
        ("1528084800", "1528113600"),
        ("1528084800000", "1528113600000"),
        ("1528084800.5", "1528113600"),
    ],
)
def test_plain_timestamps_in_any_form(tmp_path: Path, stamps: tuple[str, str]) -> None:
    path = write(tmp_path, "timestamp,price,funding_rate", f"{stamps[0]},7694,-0.000267")
    path.write_text(path.read_text() + f"{stamps[1]},7513.5,\n")
    first, second = load_csv(path)
    assert int(first.ts) == 1528084800 and second.ts == 1528113600
    assert (first.price, first.funding_rate) == (D(7694), D("-0.000267"))
    assert (second.price, second.funding_rate) == (D("7513.5"), None)


def test_plain_without_funding_column(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,price", "1528084800,100", "", "1528088400,101")
    assert [(p.price, p.funding_rate) for p in load_csv(path)] == [(D(100), None), (D(101), None)]


@pytest.mark.parametrize(
    ("lines", "where"),
    [
        ((), r"line 1: empty file"),
        (("timestamp,price",), r"line 2: no rows"),
        (("time,close", "1,2"), r"line 1: unknown header 'time,close'"),
        (("timestamp,price", "1528084800,abc"), r"line 2, column 'price': not a number"),
        (("timestamp,price", "1528084800,1", "1528088400,NaN"), r"line 3, column 'price'"),
        (("timestamp,price", "1528084800,0"), r"line 2, column 'price': .*positive"),
        (("timestamp,price", "1528084800,-5"), r"line 2, column 'price': .*positive"),
        (("timestamp,price", "yesterday,5"), r"line 2, column 'timestamp': not a .*'yesterday'"),
        (("timestamp,price", "1528084800"), r"line 2, column 'price': missing"),
        (
            ("timestamp,price,funding_rate", "1528084800,1,x"),
            r"line 2, column 'funding_rate': not a number",
        ),
        (
            ("timestamp,price", "1528084800,1", "1528084800,2"),
            r"line 3, column 'timestamp': .*does not come after",
        ),
        (
            ("timestamp,price", "1528088400,1", "1528084800,2"),
            r"line 3, column 'timestamp': .*does not come after",
        ),
    ],
)
def test_bad_files_name_the_file_line_and_column(
    tmp_path: Path, lines: tuple[str, ...], where: str
) -> None:
    path = write(tmp_path, *lines)
    with pytest.raises(PricePathError, match=rf"prices\.csv: {where}") as err:
        load_csv(path)
    assert isinstance(err.value, ValueError)


def test_unreadable_files_are_price_path_errors(tmp_path: Path) -> None:
    with pytest.raises(PricePathError, match=r"absent\.csv: cannot read"):
        load_csv(tmp_path / "absent.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"timestamp,price\n1,\xff\xfe\n")
    with pytest.raises(PricePathError, match=r"binary\.csv: not UTF-8"):
        load_csv(binary)


def walk(seed: int, steps: int | None = 50) -> list[PricePoint]:
    points = random_walk(seed, D(65000), D("0.004"), 3600.0, 1_700_000_000.0, steps)
    return list(itertools.islice(points, 200))


def test_random_walk_is_the_same_for_the_same_seed() -> None:
    first = walk(7)
    assert first == walk(7) and first != walk(8)
    assert len(first) == 50 and first[0] == PricePoint(1_700_000_000.0, D("65000.00"))
    assert [p.ts - first[0].ts for p in first[:3]] == [0.0, 3600.0, 7200.0]
    assert all(p.funding_rate is None for p in first)


def test_random_walk_without_steps_is_endless() -> None:
    assert len(walk(1, None)) == 200


@given(seed=st.integers(0, 2**32), volatility=st.sampled_from(["0", "0.001", "0.05", "0.5"]))
def test_random_walk_prices_are_positive_cents(seed: int, volatility: str) -> None:
    points = list(random_walk(seed, D(100), D(volatility), 60.0, 0.0, 40))
    assert all(p.price > 0 and p.price == p.price.quantize(D("0.01")) for p in points)
    if volatility == "0":
        assert {p.price for p in points} == {D(100)}
