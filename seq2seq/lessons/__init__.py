"""Lessons that ask before they show: the Learn page's catalogue (``LESSONS``), without Streamlit.

Each lesson is a few steps; each step asks one question about the real model, scores the answer and reveals what the
model does, with every number computed from it (``core``). Lesson and step numbers count from 1 in links and on the
page (``/Learn?lesson=2&step=3``), as ``LESSONS[1].steps[2]``.
"""

from .comparing import WHEN_IT_STOPS, WHY_ATTENTION
from .core import Lesson, Models, Question, Step, score, verdict
from .learning import WATCHING_IT_LEARN
from .looking import WHAT_IF, WHERE_IT_LOOKS
from .unknown import UNKNOWN_WORDS

LESSONS: tuple[Lesson, ...] = (
    WHERE_IT_LOOKS,
    WHY_ATTENTION,
    WHAT_IF,
    WHEN_IT_STOPS,
    WATCHING_IT_LEARN,
    UNKNOWN_WORDS,
)

__all__ = ["LESSONS", "Lesson", "Models", "Question", "Step", "score", "verdict"]
