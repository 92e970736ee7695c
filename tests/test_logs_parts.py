"""The small parts of `dscan log`: values as Caffe prints them, the bounded series, the
checks' table in the registry."""
import math

from scanner.checks import CATALOGUE
from scanner.logs.glog import number
from scanner.logs.series import Series


def test_values_as_caffe_and_msvc_print_them():
    assert math.isnan(number(b"-nan")) and math.isnan(number(b"nan"))
    assert number(b"inf") == math.inf and number(b"-inf") == -math.inf
    assert math.isnan(number(b"1.#QNAN")) and math.isnan(number(b"-1.#IND"))
    assert number(b"1.#INF") == math.inf and number(b"-1.#INF") == -math.inf
    assert number(b"1.19203e+04") == 11920.3


def test_a_series_stays_bounded_and_even():
    series = Series(capacity=64)
    points = [(i, float(i)) for i in range(100_000)]
    for start in range(0, len(points), 37):
        series.extend(points[start:start + 37])
    assert len(series.points) < 64 and series.count == 100_000
    steps = {b[0] - a[0] for a, b in zip(series.points, series.points[1:])}
    assert steps == {series.stride}
    single = Series(capacity=64)
    for point in points:
        single.add(*point)
    assert single.points == series.points  # in one call or point by point: the same sample


def test_log_checks_are_in_their_own_range():
    codes = [code for code, check in CATALOGUE.items() if check.scope == "log"]
    assert codes and all("DS901" <= code <= "DS949" for code in codes)
