"""Try it: type a sentence, see the model's reversal, the tokens it saw, the true reversal and where it looked.

Run with ``streamlit run streamlit_app.py``. The other screens are in ``pages/``.
"""

# Imported first, on the script thread: a first import inside a fragment's thread can race another session's.
import pandas as pd
import plotly  # noqa: F401
import streamlit as st
import torch  # noqa: F401

import app_ui
from seq2seq.app.views import markdown_escape, output_rows, token_rows, unknown_words
from seq2seq.tokenize import InputError


def use_example(sentence: str) -> None:
    st.session_state["sentence"] = sentence


link_notes = app_ui.open_link("try", "sentence")  # ?sentence=...&model=... opens with that sentence reversed
loaded = app_ui.model_page(
    "Try it",
    heading="Reverse a sentence with attention",
    intro="An encoder-decoder with Bahdanau attention learned to say a sentence's words in reverse order. Type a "
    "sentence and press Enter: you see its reversal and, in the heatmap, which input word the decoder looked at "
    "for each word it wrote.",
)

app_ui.show_link_notes(link_notes)
examples = loaded.example_sentences()
if examples:
    st.write("Try one:")
    for column, (i, example) in zip(st.columns(len(examples)), enumerate(examples), strict=True):
        column.button(markdown_escape(example), key=f"example_{i}", on_click=use_example, args=(example,))

sentence = st.text_input("Sentence", key="sentence", placeholder="the cat sat on the mat")
app_ui.keep_link(sentence or None)
if not sentence:
    st.info("Type a sentence and press Enter, or click an example above.")
    st.stop()
try:
    result = loaded.reverser.reverse(sentence)
except InputError as problem:
    st.error(str(problem))
    st.stop()

st.subheader("The model's reversal")
st.code(" ".join(result.output), language=None)
if result.match:
    st.success("Match: the output is exactly the input reversed.", icon=":material/check_circle:")
else:
    st.error("No match: the output differs from the true reversal.", icon=":material/cancel:")

unknown = unknown_words(result)
if unknown:
    st.warning(
        f"{len(unknown)} of the input words are not in the model's vocabulary (flagged UNKNOWN below): the model saw "
        "each of them as `<unk>`.",
        icon=":material/warning:",
    )
copied = sum(result.copied)
if copied:
    st.info(
        f"{copied} output word(s) were copied from the input: the model said `<unk>`, and the word its attention "
        "peaked on at that step was copied in its place (marked below).",
        icon=":material/content_copy:",
    )

left, right = st.columns(2)
with left:
    st.markdown("**True reversal**")
    st.code(" ".join(result.reference), language=None)
    st.markdown("**Tokens the model saw**")
    st.dataframe(pd.DataFrame(token_rows(result)), hide_index=True, key="tokens_table")
with right:
    st.markdown("**Output tokens**")
    st.dataframe(pd.DataFrame(output_rows(result)), hide_index=True, key="output_table")

st.subheader("Attention")
st.caption(
    "Columns: encoder positions (the input, then `<eos>`). Rows: decoder steps (each output word, then `<eos>`). "
    "Hover a cell for its weight; repeated words keep separate cells, numbered by position."
)
app_ui.heatmap(result, f"attention for: {' '.join(result.tokens)}", key="try")
