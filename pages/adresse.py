"""Suis-je en QPV ? (``/adresse``): an address, a map click or coordinates -> the verdicts.

``/adresse?q=<adresse>`` opens with that address looked up. Only a typed address is sent
anywhere (to the BAN); a click on the map or coordinates are answered locally, so the page keeps
working when the address service is down. Every action goes through a callback that either
replaces the answer or leaves it untouched and sets a French message: bad input changes nothing.
The address stays in this session's memory only: never logged, cached or written.
"""

import streamlit as st
from streamlit_folium import st_folium

from geo.batch import locate_point
from geo.errors import GeocoderError, InputError
from geo.geocode import user_message
from ui import lookup, mapview
from ui.data import get_dataset
from ui.locator import get_locator
from ui.panels import escape_markdown
from ui.state import quote

K_ADDRESS = "adresse_saisie"
K_ANSWER = "adresse_candidats"  # GeocodeAnswer of the last search
K_CHOICE = "adresse_choix"
K_RESULT = "adresse_resultat"  # (LocatedPoint, {generation: Verdict})
K_MESSAGE = "adresse_message"  # (level, Markdown text)
K_LON = "adresse_longitude"
K_LAT = "adresse_latitude"
K_MAP = "adresse_carte"
K_URL_READ = "adresse_q_lu"  # the ?q= value last looked up
MAP_HEIGHT = 560

PRIVACY = (
    "L'adresse saisie est envoyée au service public d'adresses (Base Adresse Nationale, "
    "api-adresse.data.gouv.fr) pour être localisée. Elle n'est ni enregistrée ni conservée par "
    "cette application. Un clic sur la carte ou des coordonnées ne sont envoyés nulle part."
)
OFFLINE_HINT = (
    "Sans le service d'adresses, la page reste utilisable : cliquez sur la carte ou saisissez "
    "des coordonnées (sous la carte)."
)
OUTSIDE_FRANCE = {
    lookup.SOURCE_ADDRESS: "Cette adresse est hors de la France métropolitaine : l'application "
    "ne connaît que les quartiers prioritaires de son territoire.",
    lookup.SOURCE_MAP: "Ce point est hors de la France métropolitaine : cliquez sur le territoire.",
}

dataset = get_dataset()
locator = get_locator()
for key, value in {K_ANSWER: None, K_CHOICE: None, K_RESULT: None, K_MESSAGE: None}.items():
    st.session_state.setdefault(key, value)


def say(level: str, text: str) -> None:
    st.session_state[K_MESSAGE] = (level, text)


def show(point: lookup.LocatedPoint) -> bool:
    """Answer for ``point``; False (and a message, nothing changed) when it is unusable."""
    try:
        verdicts = locate_point(locator, point.lon, point.lat, result_type=point.result_type)
    except InputError as exc:
        # The locator's message is about typed coordinates; an address or a click needs its own.
        say("error", OUTSIDE_FRANCE.get(point.source) or escape_markdown(str(exc)))
        return False
    st.session_state[K_RESULT] = (point, verdicts)
    return True


def search(text: str) -> None:
    st.session_state[K_MESSAGE] = None
    try:
        answer = lookup.search_address(text, dataset)
    except InputError as exc:
        say("error", escape_markdown(user_message(exc)))
        return
    except GeocoderError as exc:
        say("error", f"{escape_markdown(user_message(exc))}\n\n{OFFLINE_HINT}")
        return
    if not answer.found:
        say(
            "warning",
            f"Aucune adresse trouvée pour « {quote(text.strip())} ». Vérifiez l'orthographe et "
            "ajoutez la commune, ou cliquez sur la carte.",
        )
        return
    if answer.needs_choice:
        st.session_state[K_ANSWER] = answer
        st.session_state[K_CHOICE] = None
        st.session_state[K_RESULT] = None
        say(
            "info",
            "Plusieurs adresses peuvent correspondre : choisissez la bonne ci-dessous."
            if answer.is_ambiguous
            else "L'adresse trouvée ne correspond peut-être pas à votre saisie : confirmez-la "
            "ci-dessous, ou précisez l'adresse (numéro, rue, commune).",
        )
    elif show(lookup.LocatedPoint.from_candidate(answer.best)):
        st.session_state[K_ANSWER] = answer
        st.session_state[K_CHOICE] = 0


def address_submitted() -> None:
    search(st.session_state.get(K_ADDRESS) or "")


def candidate_chosen() -> None:
    st.session_state[K_MESSAGE] = None
    answer, choice = st.session_state[K_ANSWER], st.session_state[K_CHOICE]
    if answer is not None and choice is not None:
        show(lookup.LocatedPoint.from_candidate(answer.candidates[choice]))


def point_given(point: lookup.LocatedPoint) -> None:
    st.session_state[K_MESSAGE] = None
    if show(point):
        st.session_state[K_ANSWER] = None  # the suggestions were about another point
        st.session_state[K_CHOICE] = None


def coordinates_submitted() -> None:
    try:
        lon = lookup.parse_coordinate(st.session_state.get(K_LON, ""), "longitude")
        lat = lookup.parse_coordinate(st.session_state.get(K_LAT, ""), "latitude")
    except InputError as exc:
        say("error", escape_markdown(str(exc)))
        return
    point_given(lookup.LocatedPoint(lon=lon, lat=lat, source=lookup.SOURCE_COORDINATES))


def map_clicked() -> None:
    clicked = (st.session_state.get(K_MAP) or {}).get("last_clicked")
    if clicked:
        point_given(
            lookup.LocatedPoint(lon=clicked["lng"], lat=clicked["lat"], source=lookup.SOURCE_MAP)
        )


# ``?q=``: look the address up when the page opens with it (once per value, not every rerun).
url_address = st.query_params.get("q", "")
if url_address and st.session_state.get(K_URL_READ) != url_address:
    st.session_state[K_URL_READ] = url_address
    st.session_state[K_ADDRESS] = url_address
    search(url_address)

st.title("Suis-je en QPV ?", anchor=False)
st.markdown(
    "Saisissez une adresse de la "
    f"{escape_markdown(dataset.territory_name)} pour savoir si elle se trouve dans un quartier "
    "prioritaire de la politique de la ville : d'abord pour les périmètres 2024, en vigueur, "
    "puis pour ceux de 2015."
)

answer_column, map_column = st.columns([5, 6], gap="large")
with answer_column:
    with st.form("adresse_formulaire", border=False):
        st.text_input(
            "Adresse",
            key=K_ADDRESS,
            placeholder="ex. 12 rue de la République, Lens",
            autocomplete="street-address",
        )
        st.form_submit_button(
            "Vérifier l'adresse", on_click=address_submitted, icon=":material/search:"
        )
    st.caption(PRIVACY)

    if st.session_state[K_MESSAGE]:
        level, text = st.session_state[K_MESSAGE]
        getattr(st, level)(text)

    result = st.session_state[K_RESULT]
    if result is not None:
        lookup.render_point(result[0], dataset)
    answer = st.session_state[K_ANSWER]
    if answer is not None and (len(answer.candidates) > 1 or answer.needs_choice):
        # A confident answer keeps its alternatives folded; a doubtful one asks first.
        choices = (
            st.container()
            if answer.needs_choice
            else st.expander(
                "Ce n'est pas la bonne adresse ? "
                + lookup.count_fr(
                    len(answer.candidates) - 1, "autre proposition", "autres propositions"
                )
            )
        )
        choices.radio(
            "Adresses proposées par la Base Adresse Nationale",
            range(len(answer.candidates)),
            format_func=lambda i: lookup.candidate_label(
                answer.candidates[i], dataset.territory_name
            ),
            key=K_CHOICE,
            on_change=candidate_chosen,
        )

    if result is not None:
        lookup.render_verdicts(result[1], dataset)
    elif answer is None:
        st.info(
            "Saisissez une adresse, cliquez sur la carte ou indiquez des coordonnées.",
            icon=":material/touch_app:",
        )

with map_column:
    m = mapview.build_map(dataset, generation=2024, codes=list(dataset.qpv_of(2024)["code"]))
    point, verdicts = result if result is not None else (None, {})
    st_folium(
        m,
        key=K_MAP,
        height=MAP_HEIGHT,
        use_container_width=True,
        returned_objects=["last_clicked"],
        feature_group_to_add=lookup.point_layer(dataset, point, verdicts) if point else None,
        center=(point.lat, point.lon) if point else None,
        zoom=lookup.POINT_ZOOM if point else None,
        on_change=map_clicked,
        render=False,
    )
    st.caption(
        "Cliquez sur la carte pour situer un point sans saisir d'adresse. Quartiers 2024 en "
        "couleur ; autour du point : le quartier 2024 concerné en trait noir, celui de 2015 en "
        "tirets bleus, et les cercles de 300 m et 500 m."
    )
    with (
        st.expander("Saisir des coordonnées (longitude, latitude)", icon=":material/pin_drop:"),
        st.form("adresse_coordonnees", border=False),
    ):
        lon_column, lat_column = st.columns(2)
        lon_column.text_input("Longitude (degrés)", key=K_LON, placeholder="2,8319")
        lat_column.text_input("Latitude (degrés)", key=K_LAT, placeholder="50,4322")
        st.form_submit_button(
            "Situer ce point", on_click=coordinates_submitted, icon=":material/my_location:"
        )
