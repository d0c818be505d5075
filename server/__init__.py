"""What ``serve.py`` adds to Streamlit's own web server (never imported by the pages).

- ``nodelay``: ``TCP_NODELAY`` on every connection the server accepts;
- ``french_shell``: the HTML page around the app in French (``lang="fr"``, Streamlit's built-in
  English strings translated in the browser).
"""
