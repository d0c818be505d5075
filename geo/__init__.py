"""Domain package of the QPV map: data sources, build, territory, lookup, geocoding.

Importable without Streamlit: the app, the command line (``python -m geo``) and the tests all
use the same functions.
"""

__version__ = "0.1.0"
