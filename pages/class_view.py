"""Class: a teacher's live view of a class working through the Learn page's lessons.

Opened without a link, it creates a class: the teacher gets the students' link (``/Learn?class=CODE``) and their own
(``/Class?class=CODE&key=KEY``), which opens this page on the class. There, redrawn every few seconds (a fragment), for
each step a learner answered or is on: how the class answered against the truth, and how many are on it now. A code
that names no usable class, a key that is not the class's, a database that cannot be read: one message, and nothing
of the class is shown. The class itself is ``seq2seq.app.classes``.
"""

import pandas as pd
import streamlit as st

from seq2seq.app.classes import (
    LIFETIME_S,
    MAX_SESSIONS,
    ClassCodes,
    ClassUnavailable,
    ClassView,
    class_links,
    class_view,
    create_class,
    expiry_text,
    step_title,
)
from seq2seq.app.views import counted, markdown_escape
from seq2seq.plots import class_answers_figure
from ui import links

ADDRESS = "Class"  # this page's address in streamlit_app.PAGES
REFRESH_SECONDS = 3
CREATE_ERROR = "class_create_error"  # why the last "Create a class" failed, shown once


def new_class() -> None:
    """A button callback: the new class's teacher link becomes this page's URL, so a reload keeps it."""
    try:
        codes = create_class()
    except ClassUnavailable as problem:
        st.session_state[CREATE_ERROR] = str(problem)
        return
    st.query_params.from_dict({"class": codes.code, "key": codes.teacher_key})


def app_address() -> str:
    """The app's address as the browser sees it, without this page's ("" where unknown: the links are relative)."""
    return (st.context.url or "").removesuffix(f"/{ADDRESS}")


def truth_text(truths: tuple[str, ...]) -> str:
    if len(truths) == 1:
        return f"the truth: {markdown_escape(truths[0])}"
    return f"the truths (each learner's model decides): {', '.join(markdown_escape(truth) for truth in truths)}"


def show_counts(view: ClassView) -> None:
    st.caption(
        f"{counted(view.sessions, 'learner')} in class {view.code} (at most {MAX_SESSIONS}) · {expiry_text(view)}"
        f" · redrawn every {REFRESH_SECONDS} s"
    )
    if not view.steps:
        st.info("No one has opened the students' link yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {"step": step_title(s.lesson, s.step), "on it now": s.here, "answered": s.answered, "right": s.correct}
                for s in view.steps
            ]
        ),
        hide_index=True,
    )
    for s in view.steps:
        st.subheader(markdown_escape(step_title(s.lesson, s.step)))
        if not s.answers:
            st.caption(f"{counted(s.here, 'learner')} on this step now; no answers yet.")
            continue
        st.caption(
            f"{counted(s.here, 'learner')} on this step now · {s.correct} of {counted(s.answered, 'answer')} right"
            f" · {truth_text(s.truths)}"
        )
        st.plotly_chart(class_answers_figure(s.answers, s.truths), key=f"class_answers_{s.lesson}_{s.step}")


@st.fragment(run_every=REFRESH_SECONDS)
def live_counts(code: str, key: str) -> None:
    try:
        view = class_view(code, key)
    except ClassUnavailable as problem:  # expired, or the database went away, since the page was drawn
        st.error(markdown_escape(str(problem)))
        return
    show_counts(view)


st.title("Class")
links.show_link_notes(links.apply_link())  # on the link's other parameters (a sentence, a step)
code, key = st.query_params.get("class"), st.query_params.get("key")
if code is None:
    st.caption(
        "Create a class, give your students its link, and watch here, live, how they answer each step of the Learn"
        " page's lessons: anonymous counts, one answer per browser and step (a second replaces the first), no names,"
        f" no accounts. A class lasts {LIFETIME_S // 86400} days and holds up to {MAX_SESSIONS} learners."
    )
    st.button("Create a class", key="create_class", on_click=new_class, type="primary")
    if CREATE_ERROR in st.session_state:
        st.error(markdown_escape(st.session_state.pop(CREATE_ERROR)))
    st.stop()
if key is None:
    st.error("This page opens a class with the teacher's link, which carries its key; a student's link opens Learn.")
    st.stop()
try:
    view = class_view(code, key)
except ClassUnavailable as problem:
    st.error(markdown_escape(str(problem)))
    st.stop()

students, teachers = class_links(ClassCodes(view.code, key), app_address())
st.markdown("**The students' link**: share it (it opens the Learn page in this class).")
st.code(students, language=None)
with st.expander("Your teacher's link: keep it to yourself, it opens this page"):
    st.code(teachers, language=None)
st.divider()
live_counts(view.code, key)
