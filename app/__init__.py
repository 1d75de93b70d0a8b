"""Chasm's edges: the command line, the scheduler process and (later) the Streamlit app."""
