"""Try it: type a sentence, see the model's reversal, the tokens it saw, the true reversal and where it looked.

Served by ``streamlit run streamlit_app.py``, which warms the server (imports, the default model) before it answers;
the other screens are in ``pages/``.

The heading and the text box are drawn before anything heavy is imported: where this page runs on a server that was
not warmed (``streamlit run try_it.py``, tests), importing torch, pandas and the app's modules is most of the first
page view, and a person can start typing meanwhile. The answer to a sentence is a fragment: Enter reruns only it, not
the sidebar, heading and example buttons.
"""

import sys

import streamlit as st

import app_shell

INTRO = (
    "An encoder-decoder with Bahdanau attention learned to say a sentence's words in reverse order. Type a sentence "
    "and press Enter: you see its reversal and, in the heatmap, which input word the decoder looked at for each word "
    "it wrote."
)


def use_example(sentence: str) -> None:
    st.session_state["sentence"] = sentence


def open_link() -> list[str]:
    """Apply a link (``?sentence=...&model=...``) on the session's first view, before the box is drawn, so that the
    page opens with its sentence reversed; this one view pays for the imports first. The notes on ignored parameters."""
    import app_ui

    return app_ui.apply_link("sentence")


@st.fragment
def try_a_sentence() -> None:
    """The text box and the answer to what is in it. Uses ``return``, never ``st.stop``: on a full run that would
    stop the rest of the page too."""
    sentence = st.text_input("Sentence", key="sentence", placeholder="the cat sat on the mat")
    if not sentence and not st.query_params:
        st.info("Type a sentence and press Enter, or click an example above.")
        return
    import app_ui  # imported once per server by the page's first run (below): a lookup here
    from seq2seq.tokenize import InputError

    app_ui.keep_link(sentence or None)  # the URL carries the sentence, so a copied link reopens it
    if not sentence:
        st.info("Type a sentence and press Enter, or click an example above.")
        return

    model, _ = app_ui.load_active_model()
    if model is None:
        return  # the page above says why
    try:
        typed = app_ui.typed_sentence(id(model), sentence, model)
    except InputError as problem:
        st.error(str(problem))
        return
    show_answer(typed)


def show_answer(typed: "app_ui.TypedSentence") -> None:
    import pandas as pd

    import app_ui
    from seq2seq.app.views import output_rows, token_rows, unknown_words

    result = typed.result
    st.subheader("The model's reversal")
    app_ui.words_box(result.output, key="model_reversal")
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
        app_ui.words_box(result.reference, key="true_reversal")
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
    app_ui.heatmap(result, f"attention for: {' '.join(result.tokens)}", key="try", figure=typed.figure)


# ------------------------------------------------------------------------------------------------- first paint
app_shell.page_config("Try it")
link_notes = open_link() if app_shell.link_to_open("try") else []
st.title("Reverse a sentence with attention")
st.markdown(INTRO)
model_area = st.empty()  # the active model's caption and the example sentences, once the model is loaded
if "app_ui" not in sys.modules:  # a cold server: the imports below take a few seconds
    model_area.caption("Loading the model…")
try_a_sentence()

import app_ui  # noqa: E402 - on purpose after the first paint: this import is most of a cold page view

model, error = app_ui.sidebar_with_model()
with model_area.container():
    loaded = app_ui.require_model(model, error)  # without a model: a message, and the page stops here
    app_ui.show_link_notes(link_notes)
    app_ui.keep_link(st.session_state.get("sentence") or None)  # the model's name too, with no sentence typed yet
    examples = loaded.example_sentences()
    if examples:
        st.write("Try one:")
        for column, (i, example) in zip(st.columns(len(examples)), enumerate(examples), strict=True):
            column.button(app_ui.markdown_escape(example), key=f"example_{i}", on_click=use_example, args=(example,))
