"""Streamlit side of the app: cached loaders, map and panel widgets, formats."""
