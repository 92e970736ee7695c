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


def test_update_lines_of_older_caffe_count_as_debug_info():
    from scanner.logs.parser import LogParser
    from scanner.logs.run import TrainingRun
    prefix = b"I1201 15:26:19.494745  6497 net.cpp:"
    lines = [prefix + b"593]     [Forward] Layer ip1, top blob ip1 data: 2.5\n",
             prefix + b"642]     [Update] Layer ip1, param 0 data: 0.04; diff: 31000.5\n",
             prefix + b"731]     [Update] Layer ip1, param 1 data: 2e+05; diff: 1\n",
             b"I1201 15:26:19.494750  6497 solver.cpp:239] Iteration 7 (50 iter/s, 0.02s/1 "
             b"iters), loss = 2.3\n"]
    run = TrainingRun()
    parser = LogParser(run)
    parser.feed(b"".join(lines))
    parser.close()
    hit = run.debug_first
    assert (hit.direction, hit.layer, hit.blob, hit.value, hit.iteration) == \
        ("Update", "ip1", "1", 2e5, 7)  # the data value is the one reported
