"""An error told in one line: what a page, a log line or a queue row shows of an exception whose message may be long,
span several lines, or be empty."""


def one_line(error: BaseException) -> str:
    """The first line of ``error``'s message, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
