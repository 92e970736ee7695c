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


def test_rare_patterns_found_by_their_byte_are_the_regex_matches():
    """patterns.matches looks for FATAL and SOLVING by one byte (memchr) and tries the
    regex there: the matches must be finditer's, also where the byte is everywhere."""
    from scanner.logs import patterns
    line = b"F20261201 15:26:19.579166  6497 solver.cpp:42] Check failed: x\n"
    solving = b"I20261201 15:26:02.5  6189 solver.cpp:289] Solving LeNet] Solving x\n"
    texts = [b"\n" + line + b"xF1234 not at a line start\n" + solving * 2 + line,
             b"\n" + b"I... [Forward] Layer conv1, top blob F data: 1\n" * 2000 + line,
             b"\n" + b"Setting up S Solving ] Solvin\n" * 600 + solving + line,
             b"\n" + line[:40]]
    for text in texts:
        for pattern in (patterns.FATAL, patterns.SOLVING, patterns.TEST):
            for start in (0, 1, 2):
                expected = [m.span() for m in pattern.finditer(text, start, len(text))]
                found = [m.span() for m in patterns.matches(pattern, text, start, len(text))]
                assert found == expected
    assert len(patterns.matches(patterns.FATAL, texts[1], 1, len(texts[1]))) == 1


def test_the_spike_watch_in_one_call_or_loss_by_loss_is_the_same():
    from scanner.logs.spikes import watch
    losses = [2.3, 2.1, 0.5, 0.4, 9.0, 12.0, float("nan"), 3.0, 0.45, 0.4, 80.0,
              float("inf"), 0.3, -float("inf"), 0.35] * 5
    iterations = [str(i).encode() for i in range(len(losses))]
    spikes_bulk: list = []
    bulk = watch(iterations, losses, None, None, spikes_bulk)
    state, spikes_single, finite = (None, None), [], 0
    for iteration, loss in zip(range(len(losses)), losses):
        mean, spike, counted = watch((iteration,), (loss,), *state, spikes_single)
        state, finite = (mean, spike), finite + counted
    assert repr(bulk) == repr((*state, finite)) and spikes_bulk == spikes_single
    assert spikes_bulk and finite == len(losses) - 15


def _every_lr(text: bytes, rate) -> bytes:
    import re
    return re.sub(rb"Iteration (\d+), lr = \S+", lambda m: b"Iteration " + m.group(1) +
                  b", lr = " + repr(rate(int(m.group(1)))).encode(), text)


def _parse(data: bytes, piece: int, line_by_line: bool) -> str:
    from scanner.logs.parser import LogParser
    from scanner.logs.run import TrainingRun
    run = TrainingRun()
    parser = LogParser(run)
    if line_by_line:  # the reference reading: ITERATION, one line after the other
        parser._display_lines = lambda chunk, start, end: False
    for start in range(0, len(data), piece):
        parser.feed(data[start:start + piece])
    parser.close()
    run.finish()
    return repr([run.iterations, run.first_iteration, run.last_iteration, run.loss.points,
                 run.loss.stride, run.lr.points, run.window, run.spikes, run._mean,
                 run._spike, run.first_nonfinite, run.outputs_at_nonfinite, run.final_pass,
                 run.tests, run.lr_bad, run.lr_max, run.fatal_event, run.debug_first])


def test_display_lines_in_bulk_read_as_line_by_line():
    """The bulk reading of loss and lr lines hands the run exactly what the reference
    reading does: fixed, stepped and per-iteration rates, NaN, a crash, older Caffe's
    loss lines without a rate, in one piece or many."""
    import re
    from . import log_builders as lb
    logs = [lb.log_bytes(name) for name in ("a_clean", "b_blowup_lr0.05",
                                             "b_blowup_lr0.05_debug", "c_step_stepsize0",
                                             "g_encoded_corrupt_image_r900")]
    clean = lb.log_bytes("a_clean")
    logs += [_every_lr(clean, lambda i: 0.01 * 0.1 ** (i // 100)),
             _every_lr(clean, lambda i: 0.01 * (1 - i / 300)),
             re.sub(rb"Iteration (\d+) \([^)]*\), loss", rb"Iteration \1, loss",
                    lb.log_bytes("d_hdf5_nan_r1000"))]
    for data in logs:
        for piece in (len(data), 4093):
            assert _parse(data, piece, False) == _parse(data, piece, True)


def test_a_fatal_line_that_starts_a_piece_is_read():
    """Every piece is parsed from the line end before its first line: a line-start pattern
    (FATAL) matches that line wherever the pieces were cut."""
    from scanner.logs.parser import LogParser
    from scanner.logs.run import TrainingRun
    before = b"I20261201 15:26:19.494750  6497 solver.cpp:239] Iteration 7, loss = 2.3\n"
    fatal = b"F20261201 15:26:19.579166  6497 data_layer.cpp:82] Check failed: x\n"
    for pieces in ([before + fatal], [before, fatal], [fatal]):
        run = TrainingRun()
        parser = LogParser(run)
        for piece in pieces:
            parser.feed(piece)
        parser.close()
        run.finish()
        assert run.fatal_event is not None and b"Check failed: x" in repr(
            run.fatal_event).encode(), pieces
