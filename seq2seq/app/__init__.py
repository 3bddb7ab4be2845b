"""What the Streamlit app needs, without Streamlit: run folders (``runs``), loaded models (``models``), the
background trainer (``worker``) and the rows and wording of the pages (``views``). The core never imports this."""
