"""Helpers shared by the tests and the benchmarks: never imported by the app.

- :mod:`support.server`: start the app as users do (``streamlit run serve.py``) on a free port,
  and stop it;
- :mod:`support.browser`: an offline Chromium (Debian's, driven by Playwright);
- :mod:`support.fake_geoplateforme`: a stand-in for the Géoplateforme's address service on
  127.0.0.1;
- :mod:`support.hostile_files`: files built to break a reader (bombs, huge headers, damaged
  workbooks), with the French refusal each must get;
- ``support/apps/``: small Streamlit scripts served by the tests and the benchmarks.

``tests/`` and ``bench/`` import from here; nothing here imports from them.
"""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_mirror() -> Path:
    """The offline mirror of the official files: ``$QPV_DATA_MIRROR``, else ``../shared/data``."""
    return Path(os.environ.get("QPV_DATA_MIRROR") or REPO_ROOT.parent / "shared" / "data")
