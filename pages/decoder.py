"""Decoder: step through one reversal, force a word or where it looks, search with a beam, score any answer."""

import pandas as pd
import plotly  # noqa: F401
import streamlit as st
import torch  # noqa: F401

from seq2seq.app import decoder_view as view
from seq2seq.app.views import counted, markdown_escape
from seq2seq.decoding import Forcing, Reversal, forced_word_id, has_attention
from seq2seq.evaluation import SHOWCASE_SENTENCE
from seq2seq.plots import heatmap_figure, with_clickable_rows
from seq2seq.scoring import score_pairs
from seq2seq.tokenize import InputError, checked_tokens
from ui import links, session

notes = links.apply_link("decoder_sentence", "decoder_step")
loaded = session.model_page(
    heading="Inside the decoder",
    intro="Step through one reversal: where each step looks, why it looks there, what it could have written. Then "
    "change one thing and watch what follows, search with a beam, or ask how likely any answer is.",
    link=False,  # read above and written below, with the sentence and step
)
links.show_link_notes(notes)
model, vocab = loaded.reverser.model, loaded.reverser.vocab
attends = has_attention(model)


def use_example() -> None:
    st.session_state["decoder_sentence"] = st.session_state["decoder_example"]


def open_clicked_step() -> None:
    """A click on a cell of the whole heatmap opens that cell's row: its decoder step."""
    points = st.session_state["decoder_heatmap"].selection.points
    if points:
        st.session_state["decoder_step"] = int(points[0]["customdata"][2])


examples = loaded.example_sentences() + [" ".join(s) for s in loaded.checkpoint.test_sentences[:20]]
st.selectbox("Pick an example", examples, index=None, key="decoder_example", on_change=use_example)
st.session_state.setdefault("decoder_sentence", SHOWCASE_SENTENCE)
sentence = st.text_input("Sentence", key="decoder_sentence")
try:
    tokens = checked_tokens(sentence)
except InputError as problem:
    st.error(str(problem))
    links.keep_link(None)
    st.stop()

# Every decode is run once per model file, sentence and settings (``LoadedModel.decode``), and each section below the
# whole heatmap is a fragment: moving the step slider, the beam or the candidate reruns that section only, so the
# whole heatmap is neither rebuilt nor sent again.
own = loaded.decode(tokens, record=True)
steps = own.found.steps
if st.session_state.get("decoder_step", 1) > len(steps):
    st.info(
        f"Step {st.session_state['decoder_step']} does not exist here: this decode has {counted(len(steps), 'step')}."
    )
    st.session_state["decoder_step"] = len(steps)
st.code(f"input:  {' '.join(tokens)}\noutput: {' '.join(own.output)}", language=None)

# ------------------------------------------------------------------------------------------------- one step
st.header("One step at a time")
if attends and len(steps) > 1:
    whole = with_clickable_rows(heatmap_figure(own.tokens, own.output, own.attention))
    st.plotly_chart(
        whole, theme=None, key="decoder_heatmap", on_select=open_clicked_step, selection_mode="points", width="content"
    )
    st.caption("Each row is a decoder step: click one to open it below, or move the slider.")
st.markdown(f"**{markdown_escape('When it stops: p(<eos>) at every step')}**")
st.plotly_chart(view.stop_figure(own), theme=None, key="decoder_stop_chart")
st.caption(markdown_escape(view.stop_text(own)))


@st.fragment(key=view.STEP_FRAGMENT)
def one_step(sentence: str, tokens: list[str], own: Reversal) -> None:
    """The step the slider picks, and the what-if at that step."""
    steps = own.found.steps
    step = st.slider("Step", 1, len(steps), key="decoder_step") if len(steps) > 1 else 1
    links.keep_link(sentence, step)
    record = steps[step - 1]
    st.markdown(f"**{markdown_escape(view.step_reading(record, tokens, attends))}**")
    left, right = st.columns([3, 2])
    with left:
        if attends:
            st.markdown(f"**Attention weights α at step {step}**")
            st.plotly_chart(view.weights_figure(record, tokens), theme=None, key="weights_chart")
        else:
            st.info(view.NO_WEIGHTS)
    with right:
        st.markdown("**The 5 most likely next words**")
        st.dataframe(pd.DataFrame(view.top_rows(record)), hide_index=True, key="top_table")
    if attends:
        st.markdown("**How the energy e_ij was made**")
        st.plotly_chart(view.energy_figure(record, tokens), theme=None, key="energy_chart")
        st.caption(view.ENERGY_CAPTION)

    # --------------------------------------------------------------------------------------------- what if
    st.header("What if…")
    kinds = ["write another word here", "look somewhere else here"] if attends else ["write another word here"]
    kind = st.radio(f"At step {step}", kinds, horizontal=True, key="whatif_kind")
    if kind == kinds[0]:
        choices = [c.word for c in record.top]
        picked = st.selectbox("One of the top 5", choices, index=min(1, len(choices) - 1), key="whatif_word")
        typed = st.text_input("…or any word of the vocabulary", key="whatif_typed").strip().lower()
        word = typed or picked
        try:
            forcing = Forcing(words={step - 1: forced_word_id(word, vocab)})
        except InputError as error:
            forcing = None
            st.error(f"{markdown_escape(str(error))}: pick or type another word.")
    else:
        labels = view.source_labels(tokens, escape=False)  # a select box shows its options as plain text
        position = st.selectbox(
            "Put all its attention on", range(len(labels)), format_func=labels.__getitem__, key="whatif_pos"
        )
        forcing = Forcing(attention=(step - 1, position))
    if forcing is not None:
        changed = loaded.decode(tokens, forcing=forcing)
        before, after = own.raw_output, changed.raw_output
        st.write(view.recovery_text(before, after))
        for column, title, decoded in zip(
            st.columns(2), ["The model's own", "With the change"], [own, changed], strict=True
        ):
            with column:
                st.markdown(f"**{title}** (log-probability {decoded.found.log_prob:.3f})")
                st.code(" ".join(decoded.output), language=None)
                if attends:
                    figure = heatmap_figure(decoded.tokens, decoded.output, decoded.attention)
                    view.mark_row(figure, view.first_difference(before, after))
                    st.plotly_chart(figure, theme=None, key=f"whatif_{title[:8]}")


@st.fragment
def beam_search(tokens: list[str]) -> None:
    st.header("Beam search")
    beam = st.number_input("Beam width (1 is greedy)", 1, 10, 3, key="beam_width")
    searched = loaded.decode(tokens, beam=beam, record=True)
    st.dataframe(pd.DataFrame(view.hypothesis_rows(searched)), hide_index=True, key="nbest_table")
    beam_steps = searched.found.beam_steps
    at = st.slider("Which hypotheses survived step", 1, len(beam_steps), key="beam_step") if len(beam_steps) > 1 else 1
    st.dataframe(pd.DataFrame(view.beam_step_rows(beam_steps[at - 1])), hide_index=True, key="beam_table")
    st.caption(view.BEAM_CAPTION)


@st.fragment
def score_any_answer(tokens: list[str], own: Reversal) -> None:
    st.header("Score any answer")
    candidate = st.text_input("A candidate reversal", view.swapped_reversal(tokens), key=f"score_{' '.join(tokens)}")
    try:
        score, mine = score_pairs(
            loaded.reverser, [(tokens, checked_tokens(candidate, "candidate")), (tokens, own.output)]
        )
    except InputError as problem:
        st.error(str(problem))
        return
    st.markdown(
        f"Candidate: log-probability **{score.log_prob:.3f}**; the model's own answer: **{mine.log_prob:.3f}**. "
        f"They disagree at {len(score.disagreements)} of {counted(len(score.tokens), 'step')}."
    )
    st.dataframe(pd.DataFrame(view.score_rows(score)), hide_index=True, key="score_table")


one_step(sentence, tokens, own)
beam_search(tokens)
score_any_answer(tokens, own)
