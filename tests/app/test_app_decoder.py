"""The Decoder page and deep links through ``streamlit.testing.v1.AppTest``, on the tiny test model."""

import json
import re
from collections import Counter
from functools import partial
from unittest.mock import patch

import pytest
from streamlit.runtime.scriptrunner import RerunData
from streamlit.testing.v1 import AppTest

from seq2seq import plots
from seq2seq.app import decoder_view
from seq2seq.app.runs import write_run_info
from seq2seq.decoding import Reverser
from seq2seq.fileio import FolderLock
from seq2seq.paths import CHECKPOINT_ENV
from tests.app.conftest import open_app
from ui import session

DECODER = "pages/decoder.py"


def markdown(at: AppTest) -> str:
    return "\n".join(m.value.replace("\\", "") for m in at.markdown)


def rerun_fragment(at: AppTest, key: str) -> AppTest:
    """Rerun only the page's fragment ``key``, as the browser asks when a widget inside it changes (``AppTest.run``
    always reruns the whole page)."""
    ids = at._fragment_storage.resolve_target(key)
    with patch("streamlit.testing.v1.local_script_runner.RerunData", partial(RerunData, fragment_id_queue=ids)):
        at.run()
    assert not at.exception, at.exception
    return at


def test_the_decoder_page_steps_through_a_typed_sentence(runs, tiny_reverser):
    at = open_app(DECODER)
    at.text_input(key="decoder_sentence").set_value("the big dog").run()
    assert at.code[0].value.endswith("output: dog big the")
    expected = tiny_reverser.reverse_tokens([["the", "big", "dog"]], record=True)[0].found.steps
    at.slider(key="decoder_step").set_value(2).run()
    record = expected[1]
    assert f"Step 2 looks at source word 2, 'big' with weight {max(record.weights):.2f} and writes 'big'" in markdown(
        at
    )
    top = at.dataframe[0].value
    assert list(top["word"]) == [c.word for c in record.top] and top["chosen"].iloc[0] == "← written"
    assert dict(at.query_params) == {"sentence": "the big dog", "step": "2", "model": "default"}


def test_p_eos_at_every_step_is_drawn_under_the_heatmap_with_where_it_would_stop(runs, tiny_reverser):
    at = open_app(DECODER, {"sentence": "the big dog"})
    decoded = tiny_reverser.reverse_tokens([["the", "big", "dog"]], record=True)[0]
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    (stop,) = [c for c in charts if "eos" in c["layout"]["yaxis"]["title"]["text"]]
    assert stop["data"][0]["y"] == pytest.approx([r.eos_prob for r in decoded.found.steps])
    assert stop["data"][0]["marker"]["color"][-1] == "#d62728"  # the step where <eos> is first the most likely
    assert decoder_view.stop_text(decoded) in [c.value.replace("\\", "") for c in at.caption]
    assert decoder_view.stop_text(decoded).endswith("exactly where the reversal ends, since the reversal of 3 words "
                                                    "ends at step 4.")  # fmt: skip


def test_forcing_a_word_shows_both_outputs_and_where_they_part(runs):
    at = open_app(DECODER, {"sentence": "the big dog", "step": "1"})
    at.text_input(key="whatif_typed").set_value("cat").run()
    codes = [c.value for c in at.code]
    assert codes[1] == "dog big the" and codes[2].startswith("cat ")
    assert "They first differ at step 1" in markdown(at)
    at.radio(key="whatif_kind").set_value("look somewhere else here").run()
    at.selectbox(key="whatif_pos").set_value(0).run()
    assert not at.exception
    at.radio(key="whatif_kind").set_value("write another word here").run()
    at.text_input(key="whatif_typed").set_value("zorblax").run()
    assert any("not in the model's vocabulary" in e.value for e in at.error)


def test_beam_and_score_sections(runs):
    at = open_app(DECODER, {"sentence": "the big dog"})
    at.number_input(key="beam_width").set_value(3).run()
    table = at.dataframe[1].value
    assert len(table) == 3 and table["output"].iloc[0] == "dog big the"
    assert list(table["log-probability"]) == sorted(table["log-probability"], reverse=True)
    survived = at.dataframe[2].value
    assert set(survived["what the beam did"]) <= {"kept", "finished", "dropped"}
    scores = at.dataframe[3].value
    assert list(scores["candidate's token"]) == ["big", "dog", "the", "<eos>"]  # the reversal with two words swapped
    assert scores["agrees"].iloc[0] == "NO" and scores["the model would say"].iloc[0] == "dog"


def test_a_deep_link_opens_the_step_and_bad_parameters_get_notes(runs):
    at = open_app(DECODER, {"sentence": "a red bird", "step": "3", "colour": "<b>x</b>", "model": "../model.pt"})
    assert at.text_input(key="decoder_sentence").value == "a red bird"
    assert at.slider(key="decoder_step").value == 3
    notes = " ".join(i.value for i in at.info)
    assert "colour" in notes and "nor a trained run here" in notes
    at = open_app(DECODER, {"sentence": "the cat", "step": "99"})
    assert at.slider(key="decoder_step").value == 3 and "Step 99 does not exist" in " ".join(i.value for i in at.info)


def test_a_link_to_try_it_reverses_its_sentence_and_can_choose_a_run(runs, monkeypatch, tiny_checkpoint):
    run = runs / "20250101-120000"
    run.mkdir(parents=True)
    write_run_info(run, {"status": "finished"})
    (run / "model.pt").write_bytes(tiny_checkpoint.read_bytes())
    at = open_app("pages/try_it.py", {"sentence": "the cat sat", "model": run.name})
    assert at.text[0].value == "sat cat the"
    assert any("run 20250101-120000" in c.value.replace("\\", "") for c in at.caption)
    assert "run 20250101-120000" in [m.value.replace("\\", "") for m in at.sidebar.markdown]  # on its first view too
    assert dict(at.query_params) == {"sentence": "the cat sat", "model": "20250101-120000"}


def test_a_model_without_attention_says_there_are_no_weights(runs, monkeypatch, plain_checkpoint):
    monkeypatch.setenv(CHECKPOINT_ENV, str(plain_checkpoint))
    at = open_app(DECODER, {"sentence": "the cat"})
    assert any("no attention weights to show" in i.value for i in at.info)
    assert at.radio(key="whatif_kind").options == ["write another word here"]
    assert re.search(r"Step 1 (writes|ends the sentence)", markdown(at)) and "looks at" not in markdown(at)


@pytest.mark.parametrize("sentence", ["", "x " * 101, "<script>alert(1)</script>"])
def test_unusable_or_odd_sentences_get_a_message_not_an_error(runs, sentence):
    at = open_app(DECODER)
    at.text_input(key="decoder_sentence").set_value(sentence).run()
    assert not at.exception
    if sentence.startswith("<"):
        assert "&lt;" not in markdown(at) and at.code[0].value.startswith("input:  < script >")
    else:
        assert at.error


def test_a_special_token_typed_as_the_forced_word_is_refused_in_one_line(runs):
    at = open_app(DECODER, {"sentence": "the big dog", "step": "2"})
    for word in ["<pad>", "<sos>"]:
        at.text_input(key="whatif_typed").set_value(word).run()
        errors = [e.value.replace("\\", "") for e in at.error]
        assert any(f"{word} cannot be forced: no decode writes it" in e and "\n" not in e for e in errors), errors
        assert len(at.code) == 1  # no "with the change" output is shown
    at.text_input(key="whatif_typed").set_value("<eos>").run()
    codes = [c.value for c in at.code]
    assert codes[1] == "dog big the" and codes[2] == "dog"  # forcing <eos> at step 2 stops the output there


def test_a_step_slider_move_decodes_nothing_again_and_leaves_the_whole_heatmap_alone(runs, monkeypatch):
    calls = Counter()
    reverse_tokens, with_clickable_rows = Reverser.reverse_tokens, plots.with_clickable_rows

    def counted_decode(self, *args, **kwargs):
        calls["decode"] += 1
        return reverse_tokens(self, *args, **kwargs)

    def counted_heatmap(figure):
        calls["whole heatmap"] += 1
        return with_clickable_rows(figure)

    monkeypatch.setattr(Reverser, "reverse_tokens", counted_decode)
    monkeypatch.setattr(plots, "with_clickable_rows", counted_heatmap)
    session.model_cache().clear()  # no decodes kept from other tests
    at = open_app(DECODER, {"sentence": "the big dog", "step": "1"})
    assert calls == {"decode": 3, "whole heatmap": 1}  # its own decode, the what-if at step 1, the beam
    at.run()  # a whole rerun of the same sentence and settings (a click on the heatmap makes one)
    assert calls == {"decode": 3, "whole heatmap": 2}
    at.slider(key="decoder_step").set_value(2)
    rerun_fragment(at, decoder_view.STEP_FRAGMENT)
    assert "Step 2 looks at source word 2" in markdown(at) and "At step 2" in at.radio(key="whatif_kind").label
    assert calls == {"decode": 4, "whole heatmap": 2}  # only the what-if at step 2 is new
    assert dict(at.query_params) == {"sentence": "the big dog", "step": "2", "model": "default"}


@pytest.fixture
def shipped(runs, monkeypatch, tmp_path, tiny_checkpoint):
    """Shipped models as in artifacts/: the default, and additive/ and encdec/ beside it (copies of the tiny model)."""
    folder = tmp_path / "artifacts"
    for path in [folder / "model.pt", folder / "additive" / "model.pt", folder / "encdec" / "model.pt"]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(tiny_checkpoint.read_bytes())
    monkeypatch.setenv(CHECKPOINT_ENV, str(folder / "model.pt"))
    return folder


def active_caption(at: AppTest) -> str:
    return next(c.value.replace("\\", "") for c in at.caption if "Active model:" in c.value)


@pytest.mark.parametrize(
    "page, params",
    [
        ("pages/try_it.py", {"sentence": "the cat sat", "model": "additive"}),
        ("pages/examples.py", {"model": "encdec"}),
        ("pages/attention.py", {"model": "additive"}),
        (DECODER, {"sentence": "the cat", "step": "2", "model": "encdec"}),
    ],
)
def test_a_link_to_a_shipped_model_opens_it_and_the_page_writes_the_same_link(shipped, page, params):
    """Every page that shows a model names it in its URL, under the name a link reads: opening the URL a page wrote
    gives the same model (the 2014 model and the encoder-decoder were written as no model at all, and refused)."""
    at = open_app(page, params)
    assert f"shipped {params['model']}" in active_caption(at)
    assert not [i.value for i in at.info if "The link's" in i.value]
    assert dict(at.query_params) == params
    again = open_app(page, dict(at.query_params))
    assert active_caption(again) == active_caption(at) and dict(again.query_params) == params


@pytest.mark.parametrize("page", ["pages/examples.py", "pages/attention.py", "pages/analysis.py"])
def test_a_model_picked_on_a_page_is_written_into_its_url(shipped, page):
    at = open_app(page)
    assert dict(at.query_params) == {"model": "default"}
    at.selectbox(key="model_picker").set_value(str(shipped / "encdec" / "model.pt")).run()
    assert "shipped encdec" in active_caption(at) and dict(at.query_params) == {"model": "encdec"}


def test_a_link_cannot_make_a_run_still_training_the_model(runs, tiny_checkpoint):
    """The model picker and Make active offer no run that is still training; a link to one is refused with a note."""
    run = runs / "20250101-120000"
    run.mkdir(parents=True)
    write_run_info(run, {"status": "running"})
    (run / "model.pt").write_bytes(tiny_checkpoint.read_bytes())
    with FolderLock(run):  # trained into by another process (the live run of this server reads the same)
        at = open_app(DECODER, {"sentence": "the cat", "model": run.name})
    assert "shipped default" in active_caption(at)
    assert any("still training" in i.value for i in at.info)


def test_decoder_options_and_messages_read_as_plain_text(runs):
    """A select box shows its options as text: "2·&" and "4·<eos>", never "2·&amp;"; a bad candidate is called
    the candidate; a long unknown word is echoed cut short."""
    at = open_app(DECODER, {"sentence": "a & b"})
    at.radio(key="whatif_kind").set_value("look somewhere else here").run()
    options = at.selectbox(key="whatif_pos").options
    assert options == ["1·a", "2·&", "3·b", "4·<eos>"]
    at.radio(key="whatif_kind").set_value("write another word here").run()
    at.text_input(key="whatif_typed").set_value("w" * 10_000).run()
    (error,) = [e.value for e in at.error if "vocabulary" in e.value]
    assert "…" in error and len(error) < 200
    at.text_input(key="score_a & b").set_value(" ").run()
    assert any(e.value.startswith("The candidate is empty") for e in at.error)


def test_forcing_the_end_says_the_output_ends_there(runs):
    at = open_app(DECODER, {"sentence": "the big dog", "step": "3"})
    at.text_input(key="whatif_typed").set_value("<EOS>").run()
    assert not at.exception, at.exception
    assert (
        "They first differ at step 3, where the change ends the output: the model's own goes on for 1 more word."
        in (markdown(at))
    )


@pytest.mark.parametrize(
    "page, note",
    [("pages/examples.py", "the link's sentence or step"), ("pages/try_it.py", "the link's step;")],
)
def test_a_link_parameter_a_page_does_not_use_gets_a_note(runs, page, note):
    at = open_app(page, {"sentence": "the cat", "step": "2"})
    notes = [info.value.replace("\\", "") for info in at.info]
    assert any(f"This page does not use {note}" in line for line in notes), notes
