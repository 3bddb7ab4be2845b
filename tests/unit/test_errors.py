"""An error in one line: its message's first line, or its type's name when the message is empty."""

from seq2seq.errors import one_line


def test_an_error_is_its_first_line_or_its_type():
    assert one_line(ValueError("  bad value\nTraceback: more  ")) == "bad value"
    assert one_line(OSError()) == "OSError" and one_line(KeyError("")) == "''"
    assert one_line(RuntimeError(" \n ")) == "RuntimeError"
