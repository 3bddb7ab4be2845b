"""The Decoder page's words and tables, without Streamlit (``seq2seq.app.decoder_view``): where the model would
stop, told against the reversal, and what a what-if changed."""

from types import SimpleNamespace

import pytest
import torch

from seq2seq.app.decoder_view import energy_figure, mark_row, recovery_text, stop_step, stop_text
from seq2seq.batching import make_batch
from seq2seq.config import Config
from seq2seq.decoding import Candidate, StepRecord, search
from seq2seq.model import Seq2Seq
from seq2seq.plots import heatmap_figure
from seq2seq.vocab import EOS

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


def test_the_stop_step_is_where_eos_is_first_most_likely_and_is_told_against_the_reversal():
    def decoded(tops: list[str], written: list[str] | None = None) -> SimpleNamespace:
        steps = [
            StepRecord(i, token, 0.0, [Candidate(word, 0.9)], 0.9 if word == EOS else 0.1, [], None, None)
            for i, (word, token) in enumerate(zip(tops, written or tops, strict=True))
        ]
        return SimpleNamespace(found=SimpleNamespace(steps=steps), tokens=["a", "b", "c"])

    assert stop_text(decoded(["c", "b", "a", EOS])).startswith("<eos> first becomes the most likely word at step 4")
    assert "too soon, since the reversal of 3 words ends at step 4" in stop_text(decoded(["c", EOS]))
    assert "too late" in stop_text(decoded(["c", "b", "a", "a", EOS]))
    assert stop_step(decoded(["c", "b"]).found.steps) is None
    forced = decoded(["c", EOS, "a", EOS], ["c", "b", "a", EOS])  # a word forced where <eos> was most likely
    assert stop_step(forced.found.steps) == 1
    assert stop_text(decoded(["c", "b"])).endswith("the length cap ends this decode after 2 steps.")


def energy_bars(model: Seq2Seq, vocab) -> list[set[str]]:
    """The bars of each step's energy figure for one decode."""
    tokens = ["the", "big", "dog", "ran"]
    batch = make_batch([tokens], vocab)
    found = search(model, batch.src, batch.src_lengths, vocab=vocab)[0][0]
    return [{bar.name for bar in energy_figure(record, tokens).data if bar.type == "bar"} for record in found.steps]


def test_the_energy_shows_a_query_bar_only_for_a_model_with_a_query_term(tiny_reverser):
    query = "from the previous state: v·W_a s"
    assert all(query in bars for bars in energy_bars(tiny_reverser.model, tiny_reverser.vocab))
    torch.manual_seed(0)
    config = Config(embedding_size=8, hidden_size=12, attention_size=10, attention_query="none")
    model = Seq2Seq(len(tiny_reverser.vocab), config).eval().requires_grad_(False)
    steps = energy_bars(model, tiny_reverser.vocab)
    word, location = "from the word: v·U_a h_j", "from where it looked last: v·U_f(F*α)"
    assert steps and all(bars == {word, location} for bars in steps)


def test_mark_row_outlines_the_first_different_step_of_a_heatmap_and_nothing_past_its_rows():
    figure = heatmap_figure(["the", "big", "dog"], OWN, [[0.0, 0.0, 1.0, 0.0]] * 4)
    mark_row(figure, 1)
    (line,) = figure.layout.shapes
    assert (line.type, line.xref, line.x0, line.x1, line.yref) == ("line", "x domain", 0, 1, "y")
    assert line.y0 == line.y1 == figure.data[0].y[1] and line.line.color == "red"
    (note,) = figure.layout.annotations
    assert note.text == "first difference" and note.y == figure.data[0].y[1]
    for step in (None, 4):  # no difference, or one past the rows drawn
        untouched = heatmap_figure(["the", "big", "dog"], OWN, [[0.0, 0.0, 1.0, 0.0]] * 4)
        mark_row(untouched, step)
        assert not untouched.layout.shapes and not untouched.layout.annotations
