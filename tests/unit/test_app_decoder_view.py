"""What the Decoder page shows without Streamlit: where the model would stop, told against the reversal."""

from types import SimpleNamespace

from seq2seq.app.decoder_view import stop_step, stop_text
from seq2seq.decoding import Candidate, StepRecord
from seq2seq.vocab import EOS


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
