"""Open the app's pages with Streamlit's AppTest as a browser would, and read what they show."""

import html
import json
import re

from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.runtime.state.session_state import STREAMLIT_INTERNAL_KEY_PREFIX
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import UnknownElement

from support import REPO_ROOT

APP = str(REPO_ROOT / "app.py")
TIMEOUT = 120
SHOWN = ("markdown", "caption", "info", "warning", "error", "subheader")
TRIGGER_PREFIX = STREAMLIT_INTERNAL_KEY_PREFIX
FIGURE = re.compile(
    r'<div class="qpv-figure-value">(.*?)</div><div class="qpv-figure-label">(.*?)</div>'
    r'<div class="qpv-figure-note">(.*?)</div>'
)  # one large figure of ``ui.figures``: value, label, then year and source


def open_page(
    page: str | None = None, *, timeout: float = TIMEOUT, drawn: bool = True, **params: str
) -> AppTest:
    """Run ``app.py`` on ``page`` (a file under ``pages/``; None: the map) with query params.

    ``drawn=False``: as the browser gets the map page before it has drawn the map, its first
    screen (:func:`draw_maps`).

    A first run lets ``st.navigation`` register the pages: only then does ``switch_page`` find
    a page whose URL differs from its file name, and run it inside ``app.py`` as a browser
    visit would (see ``AppTest.switch_page``).
    """
    at = AppTest.from_file(APP, default_timeout=timeout)
    if page is not None:
        at.run()
        at.switch_page(page)
        at.query_params.clear()
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    return draw_maps(at) if drawn else at


def draw_maps(at: AppTest) -> AppTest:
    """Rerun as after the browser drew the maps that asked to be told (``reportDrawn``).

    The map page's first run sends its headline and map only (``ui.carte.first_screen``); the
    browser asks for the rest once the map is drawn. AppTest runs no JavaScript: this sends the
    ``drawn`` trigger the map's JavaScript sends.
    """
    for element in at.main:
        if not isinstance(element, UnknownElement) or element.type != "bidi_component":
            continue
        if json.loads(element.proto.json or "{}").get("map", {}).get("reportDrawn"):
            return send_to_component(at, element, trigger=("drawn", True))
    return at


def unescape(markdown: str) -> str:
    """Markdown text without its backslash escapes."""
    return re.sub(r"\\(.)", r"\1", markdown)


def text_of(at: AppTest, kinds: tuple[str, ...] = SHOWN) -> str:
    """Everything written on the page, Markdown escapes and bold markers removed."""
    return "\n".join(unescape(e.value).replace("**", "") for kind in kinds for e in at.get(kind))


def type_into(at: AppTest, key_prefix: str, text: str, *, enter: bool = False) -> AppTest:
    """Type ``text`` into a Components-v2 text field (``streamlit-keyup``), as a browser would.

    AppTest cannot drive custom components: this sends the widget state the component's
    JavaScript sends (its ``value``, then with ``enter`` the ``submitted`` trigger of the Enter
    key) and reruns the script, so the page's own callbacks run. ``key_prefix`` is the start of
    the component's key (``_st_keyup_<key>``).
    """
    element = component(at, f"_st_keyup_{key_prefix}")
    trigger = ("submitted", text) if enter else None
    return send_to_component(at, element, state={"value": text}, trigger=trigger)


def component(at: AppTest, key_prefix: str) -> UnknownElement:
    """The Components-v2 element of the page whose key starts with ``key_prefix``."""
    return next(
        e for e in at.main if isinstance(e, UnknownElement) and (e.key or "").startswith(key_prefix)
    )


def send_to_component(
    at: AppTest,
    element: UnknownElement,
    *,
    state: dict | None = None,
    trigger: tuple[str, object] | None = None,
) -> AppTest:
    """Rerun as after a component's JavaScript sent ``state`` and/or the ``trigger``
    ``(event, value)`` (``setStateValue``/``setTriggerValue``); the page's callbacks run."""
    base = element.proto.id
    states = at._tree.get_widget_states()
    kept = [w for w in states.widgets if not w.id.startswith((base, TRIGGER_PREFIX))]
    del states.widgets[:]
    states.widgets.extend(kept)
    if state is not None:
        states.widgets.append(WidgetState(id=base, json_value=json.dumps(state)))
    if trigger is not None:
        event, value = trigger
        payload = json.dumps([{"event": event, "value": value}])
        states.widgets.append(
            WidgetState(id=f"{TRIGGER_PREFIX}_{base}__events", json_trigger_value=payload)
        )
    at._run(widget_state=states)
    assert not at.exception, at.exception
    return at


def figures(at: AppTest) -> dict[str, tuple[str, str]]:
    """Label -> (value, year and source) of the page's large figures, as a reader sees them."""
    shown: dict[str, tuple[str, str]] = {}
    for block in at.markdown:
        for value, label, note in FIGURE.findall(block.value):
            text = html.unescape(re.sub(r"<[^>]+>", "", value))
            shown[html.unescape(label)] = (text, html.unescape(note))
    return shown
