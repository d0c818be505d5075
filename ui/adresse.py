"""Widgets, state and callbacks of the « Suis-je en QPV ? » page (``/adresse``).

- Input: an address field that proposes addresses of the territory while typing
  (:func:`address_field`: ``streamlit-keyup``, debounced, and a list of buttons reachable with
  Tab), a search on Enter or on the button, a map click, typed coordinates.
- The answer first (:func:`render_answer`): one large verdict for the perimeters in force, why an
  « Incertain » and what to do, then 2015, the 300 m / 500 m questions, where the point comes
  from (and the nearest address, approximate), the PDF, the details.
- Every action goes through a callback that replaces the answer, or clears it when the search
  fails (a French message says why); bad input (too short, not a number) changes nothing.

Addresses are personal data: nothing here logs them, caches them or writes them anywhere; the
page keeps the current one in ``st.session_state`` only. Every text from a user, the data or the
address service is escaped for Markdown (:func:`ui.markdown.escape_markdown`).
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping

import streamlit as st
from st_keyup import st_keyup

from geo import answer as wording
from geo import generations
from geo.answer import LocatedPoint, PointAnswer
from geo.answersheet import answer_pdf
from geo.coordinates import WGS84, parse_degrees
from geo.errors import GeocoderError, InputError
from geo.format import fr_distance, fr_number
from geo.geocode import (
    GeocodeAnswer,
    GeocodeResult,
    SearchArea,
    Suggestion,
    geocode_address,
    reverse_geocode,
    suggest_addresses,
)
from geo.geocoder import AnswerLimits, RetryPolicy, base_url, user_message
from geo.locate import locate_point
from geo.sources import SIG_VILLE_URL, sig_ville_page
from geo.store import Dataset
from geo.verdict import Verdict, bands_sentence, describe_verdict, headline
from ui import leaflet
from ui.data import get_dataset
from ui.fichier import count_fr
from ui.locator import get_locator
from ui.markdown import escape_markdown, excerpt
from ui.memory import keep_for_process

# A person waits at the page: each look-up has a few seconds, whatever the service does
# (a bulk file has its own, longer budget: geo.geocode_bulk.CSV_LIMITS).
SEARCH_TIMEOUT = (3.0, 5.0)
SEARCH_POLICY = RetryPolicy(attempts=2, backoff=0.5, max_wait=2.0)
SEARCH_LIMITS = AnswerLimits(max_bytes=1_000_000, max_depth=16, deadline_s=6.0)
SUGGEST_TIMEOUT = (2.0, 2.5)
SUGGEST_LIMITS = AnswerLimits(max_bytes=500_000, max_depth=16, deadline_s=2.5)
REVERSE_TIMEOUT = (2.0, 3.0)
REVERSE_POLICY = RetryPolicy(attempts=1)
REVERSE_LIMITS = AnswerLimits(max_bytes=500_000, max_depth=16, deadline_s=3.0)
DEBOUNCE_MS = 300
SUGGESTIONS_SHOWN = 6
MIN_TYPED = 3
# Neutral: QPV_TERRITORY may select any EPCI. The coordinates' hint is the territory's centre.
ADDRESS_PLACEHOLDER = "Numéro, voie et commune"

K_FIELD = "adresse_saisie"  # + _<version>: a new field shows a chosen address
K_FIELD_VERSION = "adresse_saisie_version"
K_FIELD_VALUE = "adresse_saisie_valeur"  # what the current field was created with
K_SUBMITTED = "adresse_recherchee"  # the text last looked up (no suggestions for it)
K_SUGGESTIONS = "adresse_suggestions"  # (typed text, [Suggestion]) or None
K_SUGGEST_HINT = "adresse_suggestions_message"
K_ANSWER = "adresse_candidats"  # GeocodeAnswer of the last search
K_CHOICE = "adresse_choix"
K_RESULT = "adresse_resultat"  # PointAnswer
K_REVERSE = "adresse_inverse_a_faire"  # the PointAnswer waiting for its nearest address
K_MESSAGE = "adresse_message"  # (level, Markdown text)
K_LON = "adresse_longitude"
K_LAT = "adresse_latitude"
K_MAP = "adresse_carte"
K_URL_READ = "adresse_q_lu"  # the ?q= value last looked up

OFFLINE_HINT = (
    "Sans le service d'adresses, la page reste utilisable : cliquez sur la carte ou saisissez "
    "des coordonnées (sous la carte)."
)
SUGGEST_FAILED = (
    "Les suggestions sont indisponibles pour le moment : appuyez sur Entrée (ou « Vérifier "
    "l'adresse ») pour lancer la recherche."
)
OUTSIDE_FRANCE = {
    wording.SOURCE_ADDRESS: "Cette adresse est hors de la France métropolitaine : l'application "
    "ne connaît que les quartiers prioritaires de son territoire.",
    wording.SOURCE_MAP: "Ce point est hors de la France métropolitaine : cliquez sur le "
    "territoire.",
}
STATUS_ICONS = {
    "in": ":material/location_on:",
    "out": ":material/radio_button_unchecked:",
    "uncertain": ":material/help:",
    "outside_territory": ":material/explore_off:",
}


def init_state() -> None:
    """The page's keys, once per session."""
    defaults = {
        K_FIELD_VERSION: 0,
        K_FIELD_VALUE: "",
        K_SUBMITTED: None,
        K_SUGGESTIONS: None,
        K_SUGGEST_HINT: None,
        K_ANSWER: None,
        K_CHOICE: None,
        K_RESULT: None,
        K_REVERSE: None,
        K_MESSAGE: None,
    }
    for key, value in defaults.items():
        st.session_state.setdefault(key, value)


# ---------------------------------------------------------------------------------------------
# Calls to the address service (never cached: an address is personal data)


@st.cache_resource(show_spinner=False)
def _search_area(siren: str, *, _dataset: Dataset) -> SearchArea:
    """The territory's communes and centre, once per process (``siren`` keys the cache)."""
    centre = _dataset.territory.to_crs(WGS84).geometry.iloc[0].centroid
    communes = _dataset.communes
    return keep_for_process(
        SearchArea.from_communes(
            communes["code"].astype(str),
            communes["name"].astype(str),
            communes["postal_codes"].astype(str),
            (centre.x, centre.y),
        )
    )


def search_area(dataset: Dataset) -> SearchArea:
    """Where the territory's addresses are (to bias and filter the address service)."""
    return _search_area(dataset.siren, _dataset=dataset)


def coordinates_hint(dataset: Dataset) -> tuple[str, str]:
    """Placeholders of the coordinate fields ``(longitude, latitude)``: the territory's centre."""
    lon, lat = search_area(dataset).centre
    return fr_number(lon, 4), fr_number(lat, 4)


def search_address(address: str, dataset: Dataset) -> GeocodeAnswer:
    """Candidates for an address typed by a user, flagged in or out of the territory.

    Raises
    ------
    InputError
        Unusable address (French message).
    GeocoderError
        The service failed: show :func:`geo.geocoder.user_message`.
    """
    area = search_area(dataset)
    return geocode_address(
        address,
        territory_citycodes=area.citycodes,
        near=area.centre,
        timeout=SEARCH_TIMEOUT,
        policy=SEARCH_POLICY,
        limits=SEARCH_LIMITS,
    )


def suggest(text: str, dataset: Dataset) -> list[Suggestion]:
    """Addresses of the territory starting like ``text`` (raises like :func:`search_address`)."""
    return suggest_addresses(
        text,
        area=search_area(dataset),
        limit=SUGGESTIONS_SHOWN,
        timeout=SUGGEST_TIMEOUT,
        limits=SUGGEST_LIMITS,
    )


def nearest_address(point: LocatedPoint, dataset: Dataset) -> GeocodeResult | None:
    """The address nearest to a point, or None (service down, nothing around: verdict alone)."""
    try:
        return reverse_geocode(
            point.lon,
            point.lat,
            territory_citycodes=search_area(dataset).citycodes,
            timeout=REVERSE_TIMEOUT,
            policy=REVERSE_POLICY,
            limits=REVERSE_LIMITS,
        )
    except (GeocoderError, InputError):
        return None  # the verdict stands on its own; the address was only a help


# ---------------------------------------------------------------------------------------------
# Callbacks: each replaces the answer, or clears it and says why


def _say(level: str, text: str) -> None:
    st.session_state[K_MESSAGE] = (level, text)


def _clear_answer() -> None:
    st.session_state[K_RESULT] = None
    st.session_state[K_REVERSE] = None
    st.session_state[K_ANSWER] = None
    st.session_state[K_CHOICE] = None


def _show(point: LocatedPoint, *, reverse: bool = False) -> bool:
    """Answer for ``point``; False (a message, nothing changed) when it is unusable."""
    try:
        verdicts = locate_point(get_locator(), point.lon, point.lat, result_type=point.result_type)
    except InputError as exc:
        # The locator's message is about typed coordinates; an address or a click needs its own.
        _say("error", OUTSIDE_FRANCE.get(point.source) or escape_markdown(str(exc)))
        return False
    result = PointAnswer(point, verdicts)
    st.session_state[K_RESULT] = result
    st.session_state[K_REVERSE] = result if reverse else None
    return True


def _show_field(text: str) -> None:
    """Recreate the address field showing ``text`` (the component cannot be set otherwise)."""
    if st.session_state[K_FIELD_VALUE] != text:
        st.session_state[K_FIELD_VERSION] += 1
        st.session_state[K_FIELD_VALUE] = text


def search(text: str, *, chosen: Suggestion | None = None) -> None:
    """Look ``text`` up and answer for the best candidate, or ask the user to choose.

    ``chosen`` is the suggestion the user picked: the candidate bearing its label is answered
    at once, even when others score close.
    """
    st.session_state[K_MESSAGE] = None
    st.session_state[K_SUGGESTIONS] = None
    st.session_state[K_SUGGEST_HINT] = None
    st.session_state[K_SUBMITTED] = text
    dataset = get_dataset()
    try:
        answer = search_address(text, dataset)
    except InputError as exc:
        _say("error", escape_markdown(user_message(exc)))
        return  # nothing was asked: the previous answer stays
    except GeocoderError as exc:
        _say("error", f"{escape_markdown(user_message(exc))}\n\n{OFFLINE_HINT}")
        _clear_answer()
        return
    picked = answer.matching(chosen.label) if chosen is not None else None
    if not answer.found:
        _clear_answer()
        _say(
            "warning",
            f"Aucune adresse trouvée pour « {excerpt(text.strip())} ». Vérifiez l'orthographe et "
            "ajoutez la commune, ou cliquez sur la carte.",
        )
        return
    if picked is None and answer.needs_choice:
        _clear_answer()
        st.session_state[K_ANSWER] = answer
        _say(
            "info",
            "Plusieurs adresses peuvent correspondre : choisissez la bonne ci-dessous."
            if answer.is_ambiguous
            else "L'adresse trouvée ne correspond peut-être pas à votre saisie : confirmez-la "
            "ci-dessous, ou précisez l'adresse (numéro, rue, commune).",
        )
        return
    best = picked or answer.best
    if _show(LocatedPoint.from_candidate(best)):
        st.session_state[K_ANSWER] = answer
        st.session_state[K_CHOICE] = answer.candidates.index(best)
        _show_field(best.label)


def field_submitted() -> None:
    """Enter in the address field, or the « Vérifier l'adresse » button."""
    search(st.session_state.get(_field_key()) or "")


def field_typed() -> None:
    """A pause in typing: propose addresses of the territory (never an error: a hint at most)."""
    text = (st.session_state.get(_field_key()) or "").strip()
    st.session_state[K_SUGGEST_HINT] = None
    if len(text) < MIN_TYPED or text == (st.session_state[K_SUBMITTED] or "").strip():
        st.session_state[K_SUGGESTIONS] = None
        return
    try:
        found = suggest(text, get_dataset())
    except InputError:
        st.session_state[K_SUGGESTIONS] = None  # not yet an address: wait for more letters
        return
    except GeocoderError:
        st.session_state[K_SUGGESTIONS] = None
        st.session_state[K_SUGGEST_HINT] = SUGGEST_FAILED
        return
    st.session_state[K_SUGGESTIONS] = (text, found)


def suggestion_chosen(index: int) -> None:
    """A proposed address was chosen: its verdict at once."""
    proposal = st.session_state[K_SUGGESTIONS]
    if not proposal or index >= len(proposal[1]):
        return
    chosen = proposal[1][index]
    _show_field(chosen.label)
    search(chosen.label, chosen=chosen)


def candidate_chosen() -> None:
    st.session_state[K_MESSAGE] = None
    answer, choice = st.session_state[K_ANSWER], st.session_state[K_CHOICE]
    if answer is not None and choice is not None:
        candidate = answer.candidates[choice]
        if _show(LocatedPoint.from_candidate(candidate)):
            _show_field(candidate.label)


def _point_given(point: LocatedPoint) -> None:
    st.session_state[K_MESSAGE] = None
    st.session_state[K_SUGGESTIONS] = None
    if _show(point, reverse=True):
        st.session_state[K_ANSWER] = None  # the candidates were about another point
        st.session_state[K_CHOICE] = None


def coordinates_submitted() -> None:
    try:
        lon = parse_degrees(st.session_state.get(K_LON, ""), "longitude")
        lat = parse_degrees(st.session_state.get(K_LAT, ""), "latitude")
    except InputError as exc:
        _say("error", escape_markdown(str(exc)))
        return
    _point_given(LocatedPoint(lon=lon, lat=lat, source=wording.SOURCE_COORDINATES))


def map_clicked(clicked: Mapping[str, float]) -> None:
    """A click on the map (``{"lat", "lng"}``, checked by ``ui.leaflet``): its answer."""
    _point_given(LocatedPoint(lon=clicked["lng"], lat=clicked["lat"], source=wording.SOURCE_MAP))


def read_query_string() -> None:
    """``?q=``: look the address up when the page opens with it (once per value)."""
    url_address = st.query_params.get("q", "")
    if url_address and st.session_state.get(K_URL_READ) != url_address:
        st.session_state[K_URL_READ] = url_address
        _show_field(url_address)
        search(url_address)


# ---------------------------------------------------------------------------------------------
# Input widgets


def _field_key() -> str:
    return f"{K_FIELD}_{st.session_state[K_FIELD_VERSION]}"


def address_field(dataset: Dataset) -> None:
    """The address field (suggestions while typing), its button, and the suggestions."""
    st_keyup(
        "Adresse (des suggestions s'affichent dès 3 caractères)",
        value=st.session_state[K_FIELD_VALUE],
        key=_field_key(),
        debounce=DEBOUNCE_MS,
        max_chars=400,
        on_change=field_typed,
        on_submit=field_submitted,
        placeholder=ADDRESS_PLACEHOLDER,
    )
    st.button(
        "Vérifier l'adresse", on_click=field_submitted, icon=":material/search:", type="primary"
    )
    hint = st.session_state[K_SUGGEST_HINT]
    if hint:
        st.caption(hint)
    proposal = st.session_state[K_SUGGESTIONS]
    if proposal is None:
        return
    typed, found = proposal
    if not found:
        st.caption(
            f"Aucune adresse de la {escape_markdown(dataset.territory_name)}"
            f" ne commence par « {excerpt(typed)} ». Continuez la saisie, appuyez sur Entrée pour "
            "chercher quand même, ou cliquez sur la carte."
        )
        return
    with st.container(border=True):
        st.caption(
            f"{count_fr(len(found), 'adresse proposée', 'adresses proposées')} : choisissez-en "
            "une (touche Tab puis Entrée, ou un clic)."
        )
        for i, suggestion in enumerate(found):
            st.button(
                escape_markdown(suggestion.label),
                key=f"adresse_suggestion_{i}",
                on_click=suggestion_chosen,
                args=(i,),
                type="tertiary",
            )


def candidate_label(candidate: GeocodeResult, territory_name: str) -> str:
    """A candidate as the radio shows it (Markdown-escaped): label, precision, territory."""
    parts = [escape_markdown(candidate.label)]
    precision = wording.TYPE_PRECISION_FR.get(candidate.type)
    if precision and candidate.type != "housenumber":
        parts.append(f"localisée {precision}")
    if candidate.in_territory is False:
        parts.append(f"hors du territoire ({escape_markdown(territory_name)})")
    return " — ".join(parts)


def candidates(dataset: Dataset) -> None:
    """The service's candidates: asked first when doubtful, folded under a confident answer."""
    answer = st.session_state[K_ANSWER]
    if answer is None or not (len(answer.candidates) > 1 or answer.needs_choice):
        return
    asking = st.session_state[K_RESULT] is None
    where = (
        st.container()
        if asking
        else st.expander(
            "Ce n'est pas la bonne adresse ? "
            + count_fr(len(answer.candidates) - 1, "autre proposition", "autres propositions")
        )
    )
    where.radio(
        "Adresses proposées par le service d'adresses de la Géoplateforme (IGN)",
        range(len(answer.candidates)),
        format_func=lambda i: candidate_label(answer.candidates[i], dataset.territory_name),
        key=K_CHOICE,
        on_change=candidate_chosen,
    )


# ---------------------------------------------------------------------------------------------
# The answer


def quartier_link(generation: int, code: str, name: str) -> str:
    """Markdown link to a quartier's fact panel on the map page (``./?gen=G&qpv=CODE``)."""
    url = f"./?gen={generation}&qpv={urllib.parse.quote(code, safe='')}"
    return f"[{escape_markdown(name)}]({url}) ({escape_markdown(code)})"


def _headline(verdict: Verdict, dataset: Dataset) -> str:
    return headline(
        verdict,
        territory_name=dataset.territory_name,
        quartier=quartier_link,
        escape=escape_markdown,
    )


def render_answer(dataset: Dataset) -> None:
    """The answer, perimeters in force first, then the rest (nothing when there is none)."""
    result: PointAnswer | None = st.session_state[K_RESULT]
    if result is None:
        return
    first, *others = generations.ORDER
    verdict = result.verdicts[first]
    with st.container(border=True, key="adresse_reponse"):
        st.caption(generations.LABELS[first])
        # No icon: its ligature name (« help ») would be read aloud, in English.
        st.subheader(_headline(verdict, dataset), anchor=False)
        _uncertainty(verdict, result.point, dataset)
        for generation in others:
            later = result.verdicts[generation]
            st.markdown(f"**{generations.NAMES[generation]} :** {_headline(later, dataset)}.")
        st.markdown(bands_sentence(verdict).replace("prioritaire :", f"prioritaire ({first}) :", 1))
        result = _origin(result, dataset)
        st.download_button(
            "Télécharger le résultat (PDF)",
            data=lambda: answer_pdf(dataset, result),
            file_name="resultat-quartier-prioritaire.pdf",
            mime="application/pdf",
            icon=":material/picture_as_pdf:",
            on_click="ignore",
        )
    with st.expander("Détail des réponses"):
        _details(result.verdicts, dataset)


def _uncertainty(verdict: Verdict, point: LocatedPoint, dataset: Dataset) -> None:
    doubt = wording.uncertainty(
        verdict,
        point,
        simplified=generations.contours_simplified(dataset, verdict.generation),
    )
    if doubt is None:
        return
    reasons = "\n".join(f"- {escape_markdown(_sentence(r))}." for r in doubt.reasons)
    quartier = verdict.nearest.code if verdict.nearest else None
    official = sig_ville_page(quartier) if quartier else SIG_VILLE_URL
    st.markdown(
        f"{reasons}\n\n{escape_markdown(doubt.advice)}  \n"
        f"[Voir ce point sur le Géoportail]({doubt.map_url}) · "
        f"[SIG Ville]({official})"
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _origin(result: PointAnswer, dataset: Dataset) -> PointAnswer:
    """Where the point comes from; the nearest address for a click or coordinates.

    Returns the answer with its nearest address once the reverse look-up is done.
    """
    point = result.point
    if point.source == wording.SOURCE_ADDRESS:
        precision = wording.TYPE_PRECISION_FR.get(point.result_type or "", "")
        st.markdown(
            f"**Adresse trouvée :** {escape_markdown(point.label or '')}  \n"
            f"Localisée {precision} par le service d'adresses de la Géoplateforme (IGN) "
            f"({point.coordinates_fr})."
        )
    elif point.source == wording.SOURCE_MAP:
        st.markdown(f"**Point choisi sur la carte :** {point.coordinates_fr}.")
    else:
        st.markdown(f"**Coordonnées saisies :** {point.coordinates_fr}.")
    if st.session_state[K_REVERSE] is result:
        # After the verdict is on screen: the look-up may take a moment, or fail quietly.
        found = nearest_address(point, dataset)
        result = result.with_nearest_address(found)
        st.session_state[K_RESULT] = result
        st.session_state[K_REVERSE] = None
    if result.nearest_address is not None:
        st.markdown(escape_markdown(wording.nearest_address_sentence(result.nearest_address)))
    if point.in_territory is False:
        st.warning(
            f"Cette adresse n'est pas dans une commune de {escape_markdown(dataset.territory_name)}"
            " : l'application ne connaît que les quartiers de ce territoire.",
            icon=":material/warning:",
        )
    return result


def _details(verdicts: Mapping[int, Verdict], dataset: Dataset) -> None:
    """Each generation's verdict in full (2024 first), then the notice on official answers."""
    for generation in generations.ORDER:
        verdict = verdicts.get(generation)
        if verdict is None:
            continue
        with st.container(border=True):
            st.markdown(f"**{generations.LABELS[generation]}**")
            headline, *details = describe_verdict(
                verdict, quartier=quartier_link, escape=escape_markdown
            )
            st.markdown(f"{STATUS_ICONS[verdict.status]} **{headline}**")
            if details:
                st.markdown("\n".join(f"- {line}" for line in details))
            # Not for an imprecise address (infinite tolerance): its reason is elsewhere.
            near_boundary = (
                verdict.status == "uncertain"
                and math.isfinite(verdict.tolerance_m)
                and verdict.distance_m <= verdict.tolerance_m
            )
            if near_boundary and generations.contours_simplified(dataset, generation):
                st.caption(
                    f"Les périmètres {generation} disponibles ici sont une copie simplifiée (écart "
                    f"jusqu'à environ {fr_distance(dataset.tolerance_m(generation))}) : près "
                    "d'une limite, seule la carte officielle peut trancher."
                )
    st.markdown(
        ":material/info: Réponse indicative, calculée d'après les périmètres publiés : elle ne "
        "remplace pas l'attestation officielle, à obtenir sur le "
        f"[SIG Ville]({SIG_VILLE_URL}) (sig.ville.gouv.fr)."
    )


def render_message() -> None:
    if st.session_state[K_MESSAGE]:
        level, text = st.session_state[K_MESSAGE]
        getattr(st, level)(text)


# ---------------------------------------------------------------------------------------------
# Privacy: exactly what leaves the server and the browser


def privacy_note() -> str:
    """What is sent where, from the configured address service and basemaps (Markdown)."""
    service = escape_markdown(urllib.parse.urlsplit(base_url()).netloc)
    shown = leaflet.get_basemap(leaflet.default_basemap())
    tiles = [b for b in leaflet.BASEMAPS if b.tiles]
    hosts = "; ".join(
        f"{escape_markdown(b.name)} : {escape_markdown(urllib.parse.urlsplit(b.tiles).netloc)}"
        for b in tiles
    )
    if shown.tiles:
        basemap = (
            f"Votre navigateur charge le fond de carte ({escape_markdown(shown.name)} au départ) "
            f"depuis son serveur ({hosts}) : ces demandes d'images révèlent la zone affichée, "
            "centrée sur le point après une réponse. Choisissez « "
            f"{escape_markdown(leaflet.NO_BASEMAP.name)} » dans le sélecteur de couches de la "
            "carte pour qu'aucune ne parte."
        )
    else:
        basemap = (
            "Aucun fond de carte n'est chargé au départ : le navigateur n'envoie rien à un "
            f"serveur de cartes tant que vous n'en choisissez pas un ({hosts})."
        )
    return (
        "Ce qui quitte cette application : l'adresse saisie (et, pour les suggestions, les "
        "caractères tapés dès le troisième) est envoyée par le serveur au service d'adresses de "
        f"la Géoplateforme (IGN, {service}) ; un point cliqué sur la carte ou des coordonnées "
        "saisies lui sont envoyés pour trouver l'adresse la plus proche. Rien n'est enregistré "
        f"ni conservé par cette application. {basemap}"
    )
