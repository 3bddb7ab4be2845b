"""Runs: the run folders on this server, to make one your active model or delete it for good.

A run going on (here, from the command line or on another server sharing the folder) is listed but can be neither
made active nor deleted; deleting needs a check box, and a session whose model was in the deleted run goes back to the
shipped default.
"""

import pandas as pd
import streamlit as st

from seq2seq.app.models import usable_run
from seq2seq.app.runs import ACTIVE_STATUSES, delete_run, list_runs, runs_root
from seq2seq.app.views import markdown_escape, run_rows
from seq2seq.metrics import percent
from ui import session, training

CONFIRMED_FOR = "delete_confirmed_for"  # the run the "for good" check box was ticked for
RUN_MESSAGE = "run_message"  # what the last deletion or Make active did (escaped Markdown), shown once

pool = training.training_pool()
st.title("Runs on this server")
st.caption("Each run trained here (Train page) or with `python -m seq2seq train` into this server's runs folder.")


# ------------------------------------------------------------------------------------------------- past runs
def delete_chosen_run() -> None:
    """Runs before the page is drawn (a button callback), so the list below no longer shows the run."""
    name = st.session_state.get("delete_choice")
    try:
        delete_run(runs_root(), name, live_run_dir=pool.live_run_dirs())
    except (ValueError, OSError) as problem:
        st.session_state[RUN_MESSAGE] = ("error", f"Not deleted: {markdown_escape(str(problem))}")
        return
    if session.active_model_path().resolve().parent == (runs_root() / name).resolve():
        session.set_active_model(None)  # this session's model was in it: back to the shipped default
    st.session_state[RUN_MESSAGE] = ("success", f"Deleted run {markdown_escape(name)}.")
    st.session_state["delete_confirm"] = False


def make_active(name: str) -> None:
    """The run shown when the button was drawn (``args``), if still usable: not another one listed in its place."""
    checkpoint, why = usable_run(name, runs_root(), live_run_dir=pool.live_run_dirs())
    if checkpoint is None:
        st.session_state[RUN_MESSAGE] = ("error", f"Not made active: {markdown_escape(name)} {why}.")
    else:
        session.set_active_model(checkpoint)


def confirm_for(name: str) -> None:
    st.session_state[CONFIRMED_FOR] = name


live_dir = pool.live_run_dirs()
runs = list_runs(runs_root(), live_run_dir=live_dir)
if RUN_MESSAGE in st.session_state:
    kind, message = st.session_state.pop(RUN_MESSAGE)
    (st.success if kind == "success" else st.error)(message)
if not runs:
    st.caption("None yet.")
else:
    st.dataframe(pd.DataFrame(run_rows(runs)), hide_index=True, key="runs_table")
    finished = [run for run in runs if run.status not in ACTIVE_STATUSES]
    usable = {run.name: run for run in finished if run.has_model}
    if usable:
        c1, c2 = st.columns([3, 1])
        choice = c1.selectbox(
            "Run to use as your active model",
            list(usable),
            format_func=lambda name: f"{name} · test exact match {percent(usable[name].test_exact_match)}",
            key="run_choice",
        )
        c2.write("")
        c2.button("Make active", key="activate_run", on_click=make_active, args=(choice,))
    deletable = [run.name for run in finished if run.ours]  # folders our commands made, nothing else
    if deletable:
        with st.expander("Delete a run"):
            c1, c2 = st.columns([3, 1])
            choice = c1.selectbox("Run to delete", deletable, key="delete_choice")
            if st.session_state.get(CONFIRMED_FOR) != choice:  # a check given for another run (gone since) is void
                st.session_state["delete_confirm"] = False
            sure = c1.checkbox(
                "Delete its folder and model for good", key="delete_confirm", on_change=confirm_for, args=(choice,)
            )
            c2.write("")
            c2.button("Delete", key="delete_run", disabled=not sure, on_click=delete_chosen_run)
