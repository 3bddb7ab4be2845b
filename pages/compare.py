"""Compare: one sentence through the chosen models side by side (the shipped ones at first, runs trained here on
request, at most ``MAX_COMPARED``): the reversal, whether it matches, and where each decoder looked, on one colour
scale."""

import plotly  # noqa: F401
import streamlit as st
import torch  # noqa: F401

from seq2seq.app import decoder_view
from seq2seq.app.models import model_options, shipped_models
from seq2seq.app.views import (
    MAX_COMPARED,
    compare_selection,
    example_labels,
    longer_than_trained,
    markdown_escape,
    no_attention_text,
)
from seq2seq.checkpoint import CheckpointError
from seq2seq.evaluation import SHOWCASE_SENTENCE
from seq2seq.failures import FAILURE_MEANINGS, failure_label, failures_text
from seq2seq.plots import failures_figure, heatmap_figure
from seq2seq.stress import trained_lengths
from seq2seq.tokenize import InputError
from ui import links, session, widgets

KEY = "compare_sentence"
MODELS_KEY = "compare_models"


def use_example(sentence: str) -> None:
    st.session_state[KEY] = sentence


link_notes = links.apply_link(KEY)  # before the default sentence below
st.title("Compare the models")
st.markdown(
    "Type one sentence and see what each model makes of it, side by side: the 2014 paper's attention, the "
    "location-aware attention, the paper's baseline (an encoder–decoder with no attention), and the location-aware "
    "attention without a query, whose stop is read from its attention. Try a sentence longer than any the models "
    "trained on to see where they part ways."
)

options = model_options()  # the shipped models first, then the finished runs
asked = st.session_state.get(MODELS_KEY, [str(path) for path in shipped_models()])
st.session_state[MODELS_KEY], notes = compare_selection(asked, options)
for note in notes:
    st.info(markdown_escape(note), icon=":material/info:")
links.show_link_notes(link_notes)
chosen = st.multiselect(
    "Models to compare",
    list(options),
    format_func=options.get,
    max_selections=MAX_COMPARED,
    key=MODELS_KEY,
    help=f"At most {MAX_COMPARED} at once, side by side: the shipped models, then any run trained here.",
)

models = []  # (path, model)
for path in chosen:
    try:
        models.append((path, session.model_cache().get(path)))
    except CheckpointError as error:
        st.warning(f"{markdown_escape(str(error))}: left out of the comparison.")
if not models:
    st.error("No model to compare: choose one above, or train one on the Train page.")
    st.stop()

first = models[0][1]
longest, seen = trained_lengths(first.checkpoint)  # its corpus's longest sentence; its longest example
examples = [SHOWCASE_SENTENCE] if all(w in first.reverser.vocab for w in SHOWCASE_SENTENCE.split()) else []
examples += [e for e in first.example_sentences(3)[1:] if e not in examples]
# Half as long again as the longest training sentence (the encoder-decoder fails), and more than twice as long (the
# 2014 attention loses its place too; the location-aware one holds).
for factor in (1.5, 2.3):
    long = longer_than_trained(first.checkpoint.test_sentences, longest, factor)
    if long and long not in examples:
        examples.append(long)
st.write("Try one:")
labels = example_labels(examples, seen)  # distinct from their first words: a narrow button cuts the rest
for column, (i, example) in zip(st.columns(len(examples)), enumerate(examples), strict=True):
    column.button(markdown_escape(labels[i]), key=f"compare_example_{i}", on_click=use_example, args=(example,))
# The page opens with a sentence compared: the first one past the trained length, where the models part ways (a
# link's or a typed sentence holds instead).
past = [example for example in examples if len(example.split()) > seen]
st.session_state.setdefault(KEY, (past or examples or [SHOWCASE_SENTENCE])[0])

sentence = st.text_input("Sentence", key=KEY, placeholder=SHOWCASE_SENTENCE)
if not sentence:
    st.info("Type a sentence and press Enter, or click an example above.")
    st.stop()

st.caption(
    "Heatmaps share one colour scale (weight 0 to 1): rows are the words written, columns the input words read. "
    "A model that never saw a word reads it as <unk>; the attention models copy it back from where they looked."
)
for index, (column, (path, model)) in enumerate(zip(st.columns(len(models)), models, strict=True)):
    with column:
        st.markdown(f"**{markdown_escape(model.kind_name)}**")
        st.caption(f"{markdown_escape(model.label)} · {markdown_escape(model.accuracy_text())}")
        problem = session.model_cache().problem(path)
        if problem:  # the file changed since it was loaded, and cannot be used: the earlier version is compared
            st.warning(f"Its file cannot be used now ({markdown_escape(problem)}); compared as loaded earlier.")
        try:
            result = model.reverser.reverse(sentence)
        except InputError as problem:
            st.error(str(problem))
            continue
        widgets.words_box(result.output, key=f"compare_reversal_{index}")
        if result.match:
            st.success("Match", icon=":material/check_circle:")
        else:
            label = failure_label(result, model.has_attention)
            st.error(markdown_escape(f"No match: {label} ({FAILURE_MEANINGS[label]})"), icon=":material/cancel:")
        if model.has_attention:
            figure = heatmap_figure(result.tokens, result.output, result.attention)
            figure.update_layout(width=None)
            st.plotly_chart(figure, theme=None, key=f"compare_chart_{index}", width="stretch")
        else:
            trained = trained_lengths(model.checkpoint)[1]  # joined pairs included
            per_length = (model.test_metrics or {}).get("per_length")
            why = no_attention_text(model.config.attention, len(result.tokens), trained, per_length)
            st.info(why, icon=":material/block:")
        decoded = model.decode(result.tokens, record=True)
        st.markdown(f"**{markdown_escape('p(<eos>) at every step')}**")
        stop = decoder_view.stop_figure(decoded)
        stop.update_layout(width=None)
        st.plotly_chart(stop, theme=None, key=f"compare_stop_{index}", width="stretch")
        st.caption(markdown_escape(decoder_view.stop_text(decoded)))

if st.toggle("How each model fails on its own test split", key="compare_failures"):
    for index, (column, (_, model)) in enumerate(zip(st.columns(len(models)), models, strict=True)):
        with column:
            st.markdown(f"**{markdown_escape(model.kind_name)}**")
            with st.spinner("Reversing the test set…"):
                evaluation = model.test_report().evaluation
            st.markdown(failures_text(evaluation.failures, evaluation.total))
            if evaluation.correct < evaluation.total:
                figure = failures_figure(evaluation.per_length, "Wrong decodes by length")
                figure.update_layout(width=None)
                st.plotly_chart(figure, theme=None, key=f"compare_failures_{index}", width="stretch")
