"""The Decoder page's words and tables, without Streamlit (``seq2seq.app.decoder_view``)."""

import pytest

from seq2seq.app.decoder_view import recovery_text

OWN = ["dog", "big", "the"]  # the model's own output, without its <eos>


@pytest.mark.parametrize(
    "changed, expected",
    [
        (OWN, "the change made no difference"),
        (
            [],
            "They first differ at step 1, where the change ends the output: the model's own goes on for 3 more words.",
        ),
        (["dog", "big"], "at step 3, where the change ends the output: the model's own goes on for 1 more word."),
        (["cat", "big", "the"], "They first differ at step 1; every word after it is the model's own again"),
        (["cat", "the"], "They first differ at step 1, and 2 later words differ too: it did not get back on track."),
        (["cat", "big", "the", "the"], "They first differ at step 1, and 1 later word differs too"),
        (["dog", "big", "the", "cat"], "They first differ at step 4; every word after it is the model's own again"),
    ],
    ids=["same", "ended-at-once", "ended-early", "back", "shifted", "one-more", "went-on"],
)
def test_the_recovery_text_counts_only_the_words_after_the_first_difference(changed, expected):
    """An <eos> forced at step k ends the output there: no later word differs, it was cut short."""
    assert expected in recovery_text(OWN, changed)
