"""Links into a page (``?sentence=...&step=...&model=...``, ``/Train?run=...&step=...``): read on a session's first
view of the page, written back as the view changes so that a copied URL reopens it.

The frame reads a link (``read_link``) before it draws the sidebar, so that the link's model is the one the sidebar
shows; the page then puts the link's sentence and step into its own widgets (``apply_link``). Nothing heavy is
imported at this module's top: Try it asks ``apply_link`` before its first paint. The link's own rules (what a
parameter may hold, the notes on ignored ones) are in ``seq2seq.app.links``.
"""

import streamlit as st

PENDING_KEY = "link_pending"  # the link of this run's page, read by the frame and not yet applied by the page


def read_link(page: str, reads: tuple[str, ...]) -> None:
    """On this session's first view of ``page`` with URL parameters: check them, make the link's model the session's
    active one, and keep the rest for the page, which reads ``reads`` besides the model (the others get a note). Read
    on the first view only, so that the parameters a page later writes into the URL (to be copied) never override
    what is typed."""
    st.session_state.pop(PENDING_KEY, None)
    flag = f"link_read_{page}"
    first_view = flag not in st.session_state
    st.session_state[flag] = True
    if not (first_view and st.query_params):
        return
    from seq2seq.app.links import parse_link, step_limit
    from seq2seq.paths import default_checkpoint_path
    from ui.session import set_active_model
    from ui.training import training_pool

    live = training_pool().live_run_dirs()  # a run still training is refused, as the picker refuses it
    params = st.query_params.to_dict()
    link = parse_link(params, live_run_dir=live, reads=("model", *reads), most_step=step_limit(reads))
    if link.model is not None:
        set_active_model(None if link.model == default_checkpoint_path() else link.model)
    st.session_state[PENDING_KEY] = link


def take_link():
    """The link the frame read on this first view of the page (a ``seq2seq.app.links.Link``), once; None without
    one."""
    return st.session_state.pop(PENDING_KEY, None)


def apply_link(sentence_key: str | None = None, step_key: str | None = None, run_key: str | None = None) -> list[str]:
    """Start the page's widgets from the link the frame read on this first view, if any; returns the notes on its
    ignored parameters (none without a link). ``run_key``'s widget gets the run's checkpoint path as text."""
    link = take_link()
    if link is None:
        return []
    if sentence_key and link.sentence is not None:
        st.session_state[sentence_key] = link.sentence
    if step_key and link.step is not None:
        st.session_state[step_key] = link.step
    if run_key and link.run is not None:
        st.session_state[run_key] = str(link.run)
    return link.notes


def keep_link(
    sentence: str | None,
    step: int | None = None,
    run: str | None = None,
    *,
    lesson: int | None = None,
    class_code: str | None = None,
) -> None:
    """Write this view's state, the active model's name included, into the URL, so a copied link reopens it (only
    when it changed)."""
    from seq2seq.app.links import link_params
    from ui.session import active_model_path

    params = link_params(sentence, step, active_model_path(), run, lesson=lesson, class_code=class_code)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def show_link_notes(notes: list[str]) -> None:
    from seq2seq.app.views import markdown_escape

    for note in notes:
        st.info(markdown_escape(note), icon=":material/link_off:")
