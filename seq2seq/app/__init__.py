"""What the Streamlit app needs, without Streamlit: run folders (``runs``), loaded models (``models``), the
background trainer (``worker``), the training queue and the slots it feeds (``training_queue``, ``dispatch``,
``ray_dispatch``) and the rows and wording of the pages (``views``, ``queue_view``). The core never imports this."""
