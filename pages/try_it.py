"""Try it: type a sentence, see the model's reversal, the tokens it saw, the true reversal and where it looked.

The home page of the frame (``streamlit_app.py``), which warms the server (imports, the default model) before it
answers and draws the sidebar.

The heading and the text box are drawn before anything heavy is imported: where this page runs on a server that was
not warmed (``streamlit run pages/try_it.py``, tests), importing torch, pandas and the app's modules is most of the
first page view, and a person can start typing meanwhile. The answer to a sentence is a fragment: Enter reruns only
it, not the sidebar, heading and example buttons. Its words are sent a frame before its tables and heatmap, so that
the browser paints them first (``widgets.let_browser_paint``).
"""

import sys
from typing import TYPE_CHECKING

import streamlit as st

from ui import links

if TYPE_CHECKING:
    from ui.warm_up import TypedSentence

INTRO = (
    "An encoder-decoder with Bahdanau attention learned to say a sentence's words in reverse order. Type a sentence "
    "and press Enter: you see its reversal and, in the heatmap, which input word the decoder looked at for each word "
    "it wrote."
)


def use_example(sentence: str) -> None:
    st.session_state["sentence"] = sentence


@st.fragment
def try_a_sentence() -> None:
    """The text box and the answer to what is in it. Uses ``return``, never ``st.stop``: on a full run that would
    stop the rest of the page too."""
    sentence = st.text_input("Sentence", key="sentence", placeholder="the cat sat on the mat")
    if not sentence and not st.query_params:
        st.info("Type a sentence and press Enter, or click an example above.")
        return
    try:
        answer(sentence)
    finally:
        # The URL carries the sentence, so a copied link reopens it. Kept after the answer: the browser's work on a
        # new address would come before the words.
        links.keep_link(sentence or None)


def answer(sentence: str) -> None:
    if not sentence:
        st.info("Type a sentence and press Enter, or click an example above.")
        return
    from seq2seq.tokenize import InputError
    from ui import session, warm_up  # imported once per server by the page's first run (below): a lookup here

    model, _ = session.load_active_model()
    if model is None:
        return  # the page above says why
    try:
        typed = warm_up.typed_sentence(id(model), sentence, model)
    except InputError as problem:
        st.error(str(problem))
        return
    show_answer(typed)


def show_answer(typed: "TypedSentence") -> None:
    import pandas as pd

    from seq2seq.app.views import output_rows, token_rows, unknown_words
    from ui import widgets

    result = typed.result
    st.header("The model's reversal")
    widgets.words_box(result.output, key="model_reversal")
    if result.match:
        st.success("Match: the output is exactly the input reversed.", icon=":material/check_circle:")
    else:
        st.error("No match: the output differs from the true reversal.", icon=":material/cancel:")

    unknown = unknown_words(result)
    if unknown:
        st.warning(
            f"{len(unknown)} of the input words are not in the model's vocabulary (flagged UNKNOWN below): the model "
            "saw each of them as `<unk>`.",
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
        widgets.words_box(result.reference, key="true_reversal")
    widgets.let_browser_paint()  # the words are drawn before the tables and the heatmap are sent
    with left:
        st.markdown("**Tokens the model saw**")
        st.dataframe(pd.DataFrame(token_rows(result)), hide_index=True, key="tokens_table")
    with right:
        st.markdown("**Output tokens**")
        st.dataframe(pd.DataFrame(output_rows(result)), hide_index=True, key="output_table")

    st.header("Attention")
    st.caption(
        "Columns: encoder positions (the input, then `<eos>`). Rows: decoder steps (each output word, then `<eos>`). "
        "Hover a cell for its weight; repeated words keep separate cells, numbered by position."
    )
    widgets.heatmap(result, f"attention for: {' '.join(result.tokens)}", key="try", figure=typed.figure)


# ------------------------------------------------------------------------------------------------- first paint
link_notes = links.apply_link("sentence")  # before the box is drawn: it opens with the sentence
st.title("Reverse a sentence with attention")
st.markdown(INTRO)
model_area = st.empty()  # the active model's caption and the example sentences, once the model is loaded
if "ui.session" not in sys.modules:  # a cold server: the imports below take a few seconds
    model_area.caption("Loading the model…")
try_a_sentence()

from seq2seq.app.views import markdown_escape  # noqa: E402 - on purpose after the first paint
from ui import session  # noqa: E402 - this import is most of a cold page view
from ui.lessons import VISITED_KEY  # noqa: E402

with model_area.container():
    loaded = session.require_model(*session.load_active_model())  # without a model: a message, and the page stops
    links.show_link_notes(link_notes)
    links.keep_link(st.session_state.get("sentence") or None)  # the model's name too, with no sentence typed yet
    examples = loaded.example_sentences()
    if examples:
        st.write("Try one:")
        for column, (i, example) in zip(st.columns(len(examples)), enumerate(examples), strict=True):
            column.button(markdown_escape(example), key=f"example_{i}", on_click=use_example, args=(example,))
    if not st.session_state.get(VISITED_KEY):
        st.page_link(
            "pages/learn.py",
            label="New here? Learn it by predicting: short lessons that ask before they show.",
            icon="🎓",
        )
