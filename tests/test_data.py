"""The data: where it comes from, the chapter's cleaning (golden figures), and bad input."""

import os

import pandas as pd
import pytest

from ridership import RidershipError
from ridership import data as rd


def test_golden_rows_and_dates(data_path):
    df, info = rd.read_ridership(data_path)
    assert info.rows_raw == 7701
    assert info.rows == len(df) == 7639
    assert info.duplicates_removed == 62
    assert (info.start, info.end) == ("2001-01-01", "2021-11-30")
    assert info.checksum_ok and info.source == "argument"
    assert list(df.columns) == ["day_type", "bus", "rail"]
    assert df.index.freqstr == "D" and df.index.is_monotonic_increasing
    # the repeated months are gone, and one row per day remains
    assert len(df.loc["2011-10"]) == 31 and len(df.loc["2014-07"]) == 31


def test_environment_variable_is_used(data_path, monkeypatch):
    monkeypatch.setenv("RIDERSHIP_DATA", str(data_path))
    _, info = rd.read_ridership()
    assert info.source == "environment"


def test_csv_is_accepted(tmp_path, csv_text, monkeypatch):
    path = tmp_path / "cta.csv"
    path.write_text(csv_text)
    monkeypatch.setenv("RIDERSHIP_DATA", str(path))
    df, info = rd.read_ridership()
    assert len(df) == 7639 and not info.checksum_ok  # a CSV is not the published archive


def test_periods(df):
    parts = rd.split(df["rail"])
    assert [len(parts[k]) for k in ("train", "valid", "test")] == [1096, 151, 914]
    assert parts["train"].index[0] == pd.Timestamp("2016-01-01")
    assert parts["valid"].index[-1] == pd.Timestamp("2019-05-31")
    assert parts["test"].index[-1] == pd.Timestamp("2021-11-30")
    assert parts["valid"].iloc[0] == pytest.approx(df["rail"].loc["2019-01-01"] / 1e6)


def test_multivariate_frame(df):
    mv = rd.multivariate_frame(df)
    assert list(mv.columns) == ["bus", "rail", "next_day_type_A", "next_day_type_U", "next_day_type_W"]
    assert (mv.dtypes == "float64").all()
    # 2019-03-01 is a Friday: the next day is a Saturday (A)
    assert mv.loc["2019-03-01", "next_day_type_A"] == 1.0
    assert mv.iloc[:-1, 2:].sum(axis=1).eq(1).all()


# --- where the file comes from -------------------------------------------------------


def test_download_verifies_and_caches(tmp_path, data_path, monkeypatch):
    monkeypatch.delenv("RIDERSHIP_DATA", raising=False)
    cache = tmp_path / "cache"
    df, info = rd.read_ridership(cache=cache, url=data_path.as_uri())
    assert info.source == "download" and len(df) == 7639
    _, info = rd.read_ridership(cache=cache, url="file:///nonexistent")
    assert info.source == "cache"


def test_wrong_checksum_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.delenv("RIDERSHIP_DATA", raising=False)
    bogus = tmp_path / "bogus.tgz"
    bogus.write_bytes(b"not the archive")
    cache = tmp_path / "cache"
    with pytest.raises(RidershipError, match="sha256"):
        rd.read_ridership(cache=cache, url=bogus.as_uri())
    assert not any(cache.iterdir())  # nothing kept, not even a temporary file


def test_corrupt_cache_is_replaced(tmp_path, data_path, monkeypatch):
    monkeypatch.delenv("RIDERSHIP_DATA", raising=False)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "ridership.tgz").write_bytes(b"garbage")
    _, info = rd.read_ridership(cache=cache, url=data_path.as_uri())
    assert info.source == "download" and info.checksum_ok


def test_no_network_says_how_to_work_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("RIDERSHIP_DATA", raising=False)
    with pytest.raises(RidershipError, match="RIDERSHIP_DATA"):
        rd.read_ridership(cache=tmp_path, url="file:///no/such/archive.tgz")


# --- bad input -----------------------------------------------------------------------


def test_missing_file():
    with pytest.raises(RidershipError, match="No file at"):
        rd.load_ridership("/no/such/ridership.tgz")


def test_missing_file_from_environment(monkeypatch):
    monkeypatch.setenv("RIDERSHIP_DATA", "/no/such/file.tgz")
    with pytest.raises(RidershipError, match="RIDERSHIP_DATA"):
        rd.load_ridership()


def test_not_gzip(tmp_path):
    path = tmp_path / "ridership.tgz"
    path.write_text("service_date,day_type\n")
    with pytest.raises(RidershipError, match="not a gzip"):
        rd.load_ridership(path)


def test_truncated_archive(tmp_path, data_path):
    path = tmp_path / "ridership.tgz"
    path.write_bytes(data_path.read_bytes()[:50_000])
    with pytest.raises(RidershipError, match="truncated"):
        rd.load_ridership(path)


def _write(tmp_path, text):
    path = tmp_path / "cta.csv"
    path.write_text(text)
    return path


def test_missing_column(tmp_path, csv_text):
    lines = csv_text.splitlines()
    text = "\n".join(",".join(line.split(",")[:3]) for line in lines)  # drops rail and total
    with pytest.raises(RidershipError, match="rail_boardings"):
        rd.load_ridership(_write(tmp_path, text))


def test_renamed_column(tmp_path, csv_text):
    text = csv_text.replace("service_date", "day", 1)
    with pytest.raises(RidershipError, match=r"lacks the column\(s\) service_date; found day"):
        rd.load_ridership(_write(tmp_path, text))


def test_non_numeric_counts(tmp_path, csv_text):
    lines = csv_text.splitlines()
    fields = lines[5].split(",")
    fields[2] = "lots"
    lines[5] = ",".join(fields)
    with pytest.raises(RidershipError, match=r"'bus'.*line 6: 'lots'"):
        rd.load_ridership(_write(tmp_path, "\n".join(lines)))


def test_unparseable_dates(tmp_path, csv_text):
    lines = csv_text.splitlines()
    lines[3] = "2001-13-45" + lines[3][10:]
    with pytest.raises(RidershipError, match=r"'date'.*line 4"):
        rd.load_ridership(_write(tmp_path, "\n".join(lines)))


def test_gap_in_dates(tmp_path, csv_text):
    lines = [line for line in csv_text.splitlines() if not line.startswith("02/14/2005")]
    with pytest.raises(RidershipError, match="gaps.*2005-02-14"):
        rd.load_ridership(_write(tmp_path, "\n".join(lines)))


def test_conflicting_duplicate_day(tmp_path, csv_text):
    lines = csv_text.splitlines()
    day = next(line for line in lines if line.startswith("03/01/2019"))
    fields = day.split(",")
    fields[2] = str(int(fields[2]) + 1)
    with pytest.raises(RidershipError, match="same day.*2019-03-01"):
        rd.load_ridership(_write(tmp_path, "\n".join([*lines, ",".join(fields)])))


def test_period_outside_data(df):
    with pytest.raises(RidershipError, match="outside the data"):
        rd.period(df.loc[:"2018-12-31"], "valid")
    with pytest.raises(RidershipError, match="outside the data"):
        rd.select(df, "1999-01", "2000-12")
    with pytest.raises(RidershipError, match="Unknown period"):
        rd.period(df, "holdout")


def test_cli_reports_bad_file_without_traceback(tmp_path, capsys):
    from ridership.cli import main

    bad = tmp_path / "ridership.tgz"
    bad.write_text("hello")
    assert main(["data", "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a gzip" in err and "Traceback" not in err


def test_cli_data_summary(data_path, capsys):
    from ridership.cli import main

    assert main(["data", "--data", str(data_path)]) == 0
    out = capsys.readouterr().out
    assert "7,701 raw, 7,639 after cleaning" in out and "2001-01-01 to 2021-11-30" in out
    assert "matches the published checksum" in out and "duplicates removed: 62" in out
