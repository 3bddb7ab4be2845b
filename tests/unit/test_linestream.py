import io
import itertools
import tracemalloc

from seq2seq.linestream import Line, chunks_of, line_batches


def texts(batches) -> list[list[str | None]]:
    return [[line.text for line in batch] for batch in batches]


def test_lines_are_numbered_and_split_across_chunks():
    chunks = [b"the c", b"at\r\nsecond\n\nlast without newline"]
    assert [line for batch in line_batches(chunks, 100) for line in batch] == [
        Line(1, "the cat"), Line(2, "second"), Line(3, ""), Line(4, "last without newline")
    ]  # fmt: skip


def test_a_batch_never_waits_for_input_that_has_not_come():
    # one chunk per line, as a terminal or a slow pipe delivers them: each line comes out on its own
    assert texts(line_batches([b"a\n", b"b\n", b"c\n"], 100)) == [["a"], ["b"], ["c"]]


def test_batches_hold_at_most_the_batch_size():
    chunk = b"".join(b"line %d\n" % n for n in range(1000))
    sizes = [len(batch) for batch in line_batches([chunk], 100, size=256)]
    assert sizes == [256, 256, 256, 232]


def test_an_endless_input_is_answered_batch_by_batch():
    pulled = itertools.count()

    def endless():
        for _ in pulled:
            yield b"the cat sat\n" * 100

    first = list(itertools.islice(line_batches(endless(), 100, size=256), 3))
    assert [len(batch) for batch in first] == [100, 100, 100] and next(pulled) == 3  # three reads, no more


def test_an_endless_line_is_reported_without_being_held():
    def endless_line():
        yield b"ok\n"
        for _ in range(2_000):  # 128 MB with no newline
            yield b"x" * 65_536
        yield b"\nafter\n"

    tracemalloc.start()
    lines = [line for batch in line_batches(endless_line(), 2_000) for line in batch]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [line.text for line in lines] == ["ok", None, "after"]
    assert lines[1].number == 2 and "over 2,000 characters" in lines[1].problem
    assert peak < 2 * 2**20  # a few chunks at most, never the line


def test_over_long_and_non_utf8_lines_say_why():
    chunks = [b"\xff\xfe\n", "é".encode() * 11 + b"\n", b"x" * 50]
    lines = [line for batch in line_batches(chunks, 10) for line in batch]
    assert [(line.text, line.problem.split(";")[0]) for line in lines] == [
        (None, "the line is not UTF-8 text"),
        (None, "the line is over 10 characters long"),
        (None, "the line is over 10 characters long"),
    ]


def test_chunks_of_reads_what_is_there():
    assert list(chunks_of(io.BytesIO(b"abcdef"), size=4)) == [b"abcd", b"ef"]
