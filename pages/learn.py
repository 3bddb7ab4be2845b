"""Learn: short lessons that ask before they show. Each step asks one question about the real model; the answer is
scored, then the step reveals what the model does, with the figure it comes from. Retry, skip, go back; the place
is kept in the session and the link (``/Learn?lesson=2&step=3``), and a class link (``?class=CODE``) counts the
answers for a teacher."""

import plotly  # noqa: F401
import streamlit as st
import torch  # noqa: F401

from seq2seq.app.views import markdown_escape
from seq2seq.lessons import LESSONS, Question, verdict
from ui import lessons, links, session

INTRO = (
    "Each step asks you to predict what the model does, then shows what it actually does, computed from the model "
    "as you answer. A right answer is a point; on a scale, one notch off is half a point. Retry, skip or go back at "
    "any time."
)
LESSON_PICKER = "learn_lesson_picker"

notes = lessons.open_link()
st.title("Learn by predicting")
st.markdown(INTRO)
links.show_link_notes(notes)
class_note = lessons.take_class_note()
if class_note:
    st.warning(markdown_escape(class_note), icon=":material/group_off:")
loaded = session.require_model(*session.load_active_model())
st.session_state[lessons.VISITED_KEY] = True


def picked_lesson() -> None:
    lessons.go_to(st.session_state[LESSON_PICKER], 1)


@st.fragment
def the_step(lesson: int, step: int, question: Question) -> None:
    """The question, the answer and the reveal, with the score: a fragment, so that checking an answer or trying
    again reruns this part only, and the reveal, made with the question, is all it sends."""
    st.markdown(f"**{markdown_escape(question.prompt)}**")
    given = lessons.answers().get((lesson, step))
    if not question.options:
        st.info(markdown_escape(question.reveal), icon=":material/info:")
    elif given is None:
        key = lessons.choice_key(lesson, step)
        choice = st.radio("Your answer", question.options, index=None, key=key, horizontal=question.ordered)
        st.button(
            "Check my answer",
            type="primary",
            disabled=choice is None,
            key="learn_check",
            on_click=lessons.check,  # before the rerun, which then draws the verdict in place of the choices
            args=(lesson, step, question, key),
        )
    if given is not None:
        chosen, points = given
        line = markdown_escape(verdict(question, chosen))
        if points == 1.0:
            st.success(line, icon=":material/check_circle:")
        elif points:
            st.warning(line, icon=":material/adjust:")
        else:
            st.error(line, icon=":material/cancel:")
        with st.container(key="learn_reveal"):
            st.markdown(markdown_escape(question.reveal))
            for index, figure in enumerate(question.figures):
                st.plotly_chart(figure, theme=None, key=f"learn_figure_{lesson}_{step}_{index}")
        st.button("Try again", key="learn_retry", on_click=lessons.retry, args=(lesson, step), icon=":material/replay:")
    with st.expander(markdown_escape(lessons.score_text()), expanded=True, icon=":material/scoreboard:"):
        # Drawn before any answer: it also has the browser load Plotly's script, which a first reveal would wait for.
        st.plotly_chart(lessons.progress(), theme=None, key="learn_progress", config={"staticPlot": True})


lesson, step = lessons.place()
st.session_state[LESSON_PICKER] = lesson  # follow moves made with the buttons below
st.selectbox(
    "Lesson",
    range(1, len(LESSONS) + 1),
    format_func=lambda i: f"{i}. {LESSONS[i - 1].title}",
    key=LESSON_PICKER,
    on_change=picked_lesson,
)
current = LESSONS[lesson - 1]
st.caption(markdown_escape(current.intro))
lessons.record_place(lesson, step)
links.keep_link(None, step, lesson=lesson, class_code=lessons.class_code())

st.subheader(markdown_escape(f"Step {step} of {len(current.steps)}: {current.steps[step - 1].title}"))
with st.spinner("Asking the model…"):
    question = lessons.question_for(lesson, step, loaded)
the_step(lesson, step, question)

back, forward = lessons.previous_place(lesson, step), lessons.next_place(lesson, step)
left, right = st.columns(2)
left.button(
    "Back", key="learn_back", disabled=back is None, on_click=lessons.go_to, args=back or (1, 1), icon=":material/west:"
)
right.button(
    "Next step",
    key="learn_next",
    disabled=forward is None,
    on_click=lessons.go_to,
    args=forward or (lesson, step),
    icon=":material/east:",
    help="Answered or not: a step can be skipped, and come back to.",
)
