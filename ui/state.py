"""The view a URL describes: query parameters <-> :class:`ViewState` (and :class:`CompareState`).

A shared link restores a view: ``/?gen=2015&commune=62498&qpv=QP062025``. Parsing is pure
(:func:`parse_view`, :func:`to_params`) and never fails: a parameter that cannot be used is dropped
with a French message saying why, and the rest of the view is kept. :func:`read_view` and
:func:`write_view` are the Streamlit side: show those messages, and keep ``st.query_params``
equal to what the page shows. The comparison page's link (``/comparer?qpv=QP062025,QP062032``)
is read and written the same way (:func:`parse_compare`, :func:`compare_params`).

Parameters (all optional; defaults are left out of the URL):

- ``gen``: generation of the perimeters, ``2024`` (in force, the default) or ``2015``;
- ``commune``: INSEE codes, comma-separated or repeated (``62498,62510``);
- ``qpv``: the quartier whose fact panel is open (``QP062025``); it brings its generation;
- ``voisins=1``: show the neighbouring quartiers;
- ``recherche``: name or code filter (``cité``);
- ``pop``: population range, inclusive (``1000-5000``, ``2000-``, ``-3000``);
- ``part=1``: colour the communes by the share of their population living in a quartier.

A link is anything anyone can type: at most :data:`MAX_CODES` codes are read per parameter,
codes are normalised (``geo.territory.normalize_code``: a zero-width space or lower case does not
make a code unknown), numbers have a bounded number of digits, and the unknown codes of one
parameter make one message, however many there are.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import streamlit as st

from geo import compare, generations
from geo.errors import InputError
from geo.selection import Filters
from geo.store import Dataset
from geo.territory import normalize_code, normalize_name
from ui.derived import per_build
from ui.markdown import escape_markdown, excerpt, excerpt_codes
from ui.memory import keep_for_process

GEN = "gen"
COMMUNE = "commune"
QPV = "qpv"
NEIGHBOURS = "voisins"
QUERY = "recherche"
POPULATION = "pop"
CHOROPLETH = "part"

MAX_QUERY_LENGTH = 60
MAX_CODES = 50  # per parameter: a link names a few quartiers or communes, never thousands
MAX_CODE_LENGTH = 64  # characters of one code looked at (codes have 5 to 8, plus invisibles)
_TRUE = {"1", "oui", "true"}
_FALSE = {"0", "non", "false", ""}
# At most 9 digits a bound: any population fits, and no number overflows a comparison.
_POPULATION_RANGE = re.compile(r"^\s*(\d{0,9})\s*-\s*(\d{0,9})\s*$")


@dataclass(frozen=True)
class ViewState:
    """Everything a URL says about the map page."""

    generation: int = generations.DEFAULT
    communes: tuple[str, ...] = ()
    qpv: str | None = None
    include_neighbouring: bool = False
    query: str = ""
    population: tuple[int | None, int | None] = (None, None)
    choropleth: bool = False

    @property
    def filters(self) -> Filters:
        """The selection this view shows."""
        return Filters(
            generation=self.generation,
            communes=self.communes,
            query=self.query,
            population_min=self.population[0],
            population_max=self.population[1],
            include_neighbouring=self.include_neighbouring,
        )


@dataclass(frozen=True)
class Catalogue:
    """The codes a URL may name: quartiers (with their generation) and communes."""

    qpv_generation: Mapping[str, int]
    commune_names: Mapping[str, str]
    territory_name: str = "ce territoire"
    counterpart: Mapping[str, str] = field(default_factory=dict)  # quartier -> other generation
    qpv_names: Mapping[str, str] = field(default_factory=dict)

    def quartiers(self, generation: int) -> list[str]:
        """Codes of the quartiers of one generation, in alphabetical order of their names."""
        return list(self._by_name.get(generation, ()))

    @functools.cached_property
    def _by_name(self) -> dict[int, tuple[str, ...]]:
        # Sorted once: the map page asks on every rerun, and the catalogue is kept per build.
        by_name = sorted(
            self.qpv_generation, key=lambda code: normalize_name(self.qpv_names.get(code, code))
        )
        return {
            generation: tuple(code for code in by_name if self.qpv_generation[code] == generation)
            for generation in set(self.qpv_generation.values())
        }

    @classmethod
    def from_dataset(cls, dataset: Dataset) -> Catalogue:
        """The catalogue of ``dataset``, built once per process and build of the tables: it
        does not change between reruns (read it, never modify it)."""
        return _catalogue(dataset)

    @classmethod
    def build(cls, dataset: Dataset) -> Catalogue:
        """The catalogue of ``dataset``, built now."""
        qpv = dataset.qpv
        return cls(
            qpv_generation=dict(zip(qpv["code"], qpv["generation"].astype(int), strict=True)),
            commune_names=dict(
                zip(dataset.communes["code"], dataset.communes["name"], strict=True)
            ),
            territory_name=dataset.territory_name,
            counterpart=generations.counterparts(dataset),
            qpv_names=dict(zip(qpv["code"], qpv["name"], strict=True)),
        )


@per_build()
def _catalogue(dataset: Dataset) -> Catalogue:
    return keep_for_process(Catalogue.build(dataset))


def parse_view(
    params: Mapping[str, str | Sequence[str]], catalogue: Catalogue
) -> tuple[ViewState, list[str]]:
    """Read a view from query parameters; return it with the French messages for the user.

    Each value may be a string or a list of strings (a repeated parameter). Unknown parameters
    are ignored; unusable values are dropped with a message naming them.
    """
    messages: list[str] = []
    where = f"du territoire ({escape_markdown(catalogue.territory_name)})"
    raw_gen = _last(params, GEN).strip()
    generation = _parse_generation(raw_gen, messages)
    qpv = _parse_qpv(_last(params, QPV), catalogue, where, messages)
    if qpv is not None:
        qpv_generation = catalogue.qpv_generation[qpv]
        if raw_gen and qpv_generation != generation:
            messages.append(
                f"Le quartier {qpv} fait partie des périmètres {qpv_generation} : "
                f"la carte montre les périmètres {qpv_generation}."
            )
        generation = qpv_generation
    state = ViewState(
        generation=generation,
        communes=_parse_communes(_all(params, COMMUNE), catalogue, where, messages),
        qpv=qpv,
        include_neighbouring=_parse_flag(params, NEIGHBOURS, messages),
        query=_last(params, QUERY).strip()[:MAX_QUERY_LENGTH],
        population=_parse_population(_last(params, POPULATION), messages),
        choropleth=_parse_flag(params, CHOROPLETH, messages),
    )
    return state, messages


def _parse_generation(raw: str, messages: list[str]) -> int:
    if not raw:
        return generations.DEFAULT
    if raw in {str(g) for g in generations.ORDER}:
        return int(raw)
    messages.append(
        f"Génération de périmètres inconnue : « {excerpt(raw)} ». Les périmètres existants sont "
        f"ceux de {' et de '.join(map(str, generations.ORDER))} ; affichage des périmètres "
        f"{generations.DEFAULT}."
    )
    return generations.DEFAULT


def _parse_qpv(raw: str, catalogue: Catalogue, where: str, messages: list[str]) -> str | None:
    code = normalize_code(raw[:MAX_CODE_LENGTH])
    if not code or code in catalogue.qpv_generation:
        return code or None
    messages.append(
        f"Quartier inconnu : « {excerpt(code)} » n'est pas le code d'un quartier prioritaire "
        f"{where}. Choisissez un quartier sur la carte ou dans la liste."
    )
    return None


def _parse_communes(
    raws: list[str], catalogue: Catalogue, where: str, messages: list[str]
) -> tuple[str, ...]:
    codes = split_codes(raws, COMMUNE, messages)
    unknown = [code for code in codes if code not in catalogue.commune_names]
    if len(unknown) == 1:
        messages.append(
            f"Commune inconnue : « {excerpt(unknown[0])} » n'est pas le code Insee d'une commune "
            f"{where} ; ce filtre est ignoré."
        )
    elif unknown:
        messages.append(
            f"Communes inconnues : {excerpt_codes(unknown)} ne sont pas des codes Insee de "
            f"communes {where} ; ces filtres sont ignorés."
        )
    return tuple(code for code in codes if code in catalogue.commune_names)


def split_codes(raws: Sequence[str], name: str, messages: list[str]) -> list[str]:
    """The distinct codes of a parameter (comma-separated or repeated), normalised, in order.

    At most :data:`MAX_CODES` are kept, and the work stays bounded whatever the link holds (a
    value is split at most that many times); more are reported in ``messages``.
    """
    codes: list[str] = []
    more = False
    for raw in raws:
        if len(codes) >= MAX_CODES:
            more = more or bool(raw.strip(" ,"))
            continue
        pieces = raw.split(",", MAX_CODES)
        for piece in pieces[:MAX_CODES]:
            code = normalize_code(piece[:MAX_CODE_LENGTH])
            if not code or code in codes:
                continue
            if len(codes) < MAX_CODES:
                codes.append(code)
            else:
                more = True
        more = more or (len(pieces) > MAX_CODES and bool(pieces[-1].strip(" ,")))
    if more:
        messages.append(
            f"Le lien donne plus de {MAX_CODES} codes pour « {name} » : seuls les "
            f"{MAX_CODES} premiers sont lus."
        )
    return codes


def _parse_population(raw: str, messages: list[str]) -> tuple[int | None, int | None]:
    if not raw:
        return (None, None)
    match = _POPULATION_RANGE.match(raw) if len(raw) <= MAX_QUERY_LENGTH else None
    if match:
        low, high = (int(bound) if bound else None for bound in match.groups())
        if low is None or high is None or low <= high:
            return (low, high)
    messages.append(
        f"Tranche de population illisible : « {excerpt(raw)} » (attendu par exemple "
        "« 1000-5000 ») ; ce filtre est ignoré."
    )
    return (None, None)


def to_params(state: ViewState) -> dict[str, str]:
    """Query parameters describing ``state``; default values are left out."""
    params: dict[str, str] = {}
    if state.generation != generations.DEFAULT:
        params[GEN] = str(state.generation)
    if state.communes:
        params[COMMUNE] = ",".join(state.communes)
    if state.qpv:
        params[QPV] = state.qpv
    if state.include_neighbouring:
        params[NEIGHBOURS] = "1"
    if state.query:
        params[QUERY] = state.query
    low, high = state.population
    if low is not None or high is not None:
        params[POPULATION] = f"{'' if low is None else low}-{'' if high is None else high}"
    if state.choropleth:
        params[CHOROPLETH] = "1"
    return params


def _all(params: Mapping[str, str | Sequence[str]], key: str) -> list[str]:
    value = params.get(key)
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _last(params: Mapping[str, str | Sequence[str]], key: str) -> str:
    values = _all(params, key)
    return values[-1] if values else ""


def _parse_flag(params: Mapping[str, str | Sequence[str]], key: str, messages: list[str]) -> bool:
    raw = _last(params, key).strip().lower()
    if raw in _TRUE:
        return True
    if raw not in _FALSE:
        messages.append(f"Valeur ignorée pour « {key} » : « {excerpt(raw)} » (attendu 1 ou 0).")
    return False


# ---------------------------------------------------------------------------------------------
# The comparison's link: ?qpv=CODE,CODE&gen=2015


@dataclass(frozen=True)
class CompareState:
    """The quartiers a comparison link names (resolved in ``generation``) and its perimeters."""

    codes: tuple[str, ...] = ()
    generation: int = generations.DEFAULT


def parse_compare(
    params: Mapping[str, str | Sequence[str]], data: Dataset
) -> tuple[CompareState, list[str]]:
    """Read a comparison from query parameters; return it with French messages for the user.

    ``gen`` picks the perimeters, else the first known code brings its own, else the default;
    codes of the other generation are replaced by their counterparts (:func:`usable_codes`).
    """
    messages: list[str] = []
    codes = split_codes(_all(params, QPV), QPV, messages)
    raw = _last(params, GEN).strip()
    if raw in {str(g) for g in generations.ORDER}:
        generation = int(raw)
    else:
        known = data.qpv.set_index("code")["generation"]
        first = next((code for code in codes if code in known.index), None)
        generation = int(known[first]) if first else generations.DEFAULT
    kept, problems = usable_codes(data, codes, generation)
    return CompareState(tuple(kept), generation), messages + problems


def usable_codes(data: Dataset, codes: Sequence[str], generation: int) -> tuple[list[str], list]:
    """The codes that resolve in ``generation`` (at most ``geo.compare.MAX_QUARTIERS``), and
    French messages for the others (one for all the unknown codes, however many)."""
    known = set(data.qpv["code"])
    unknown = [code for code in codes if code not in known]
    problems = [f"code(s) de quartier inconnu(s) : {excerpt_codes(unknown)}"] if unknown else []
    kept: list[str] = []
    for code in (c for c in codes if c in known):
        try:
            kept.extend(c for c in compare.resolve_codes(data, [code], generation) if c not in kept)
        except InputError as exc:
            problems.append(escape_markdown(str(exc)))
    if len(kept) > compare.MAX_QUARTIERS:
        problems.append(f"{compare.MAX_QUARTIERS} quartiers au plus : les suivants sont ignorés")
    return kept[: compare.MAX_QUARTIERS], problems


def compare_params(state: CompareState) -> dict[str, str]:
    """Query parameters describing a comparison; the default perimeters are left out."""
    params = {QPV: ",".join(state.codes)} if state.codes else {}
    if state.generation != generations.DEFAULT:
        params[GEN] = str(state.generation)
    return params


# ---------------------------------------------------------------------------------------------
# Streamlit side


def read_view(catalogue: Catalogue) -> ViewState:
    """The view in the page's URL; each unusable parameter is reported with ``st.warning``."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    state, messages = parse_view(params, catalogue)
    for message in messages:
        st.warning(message, icon=":material/link_off:")
    return state


def seed_widgets(values: Mapping[str, object]) -> None:
    """Give widgets (by key) their first value, from the URL; later runs keep the user's.

    A widget's state is dropped when its page is left, so coming back seeds it again.
    """
    for key, value in values.items():
        if key not in st.session_state:
            st.session_state[key] = value


def write_view(state: ViewState, *, extra: Mapping[str, str] | None = None) -> None:
    """Make the page's URL describe ``state`` (plus a page's own ``extra`` parameters).

    Any other parameter is dropped; the URL is only touched when it differs.
    """
    write_params({**to_params(state), **(extra or {})})


def perimeters_radio(
    key: str,
    *,
    labels: Callable[[int], str] = generations.LABELS.__getitem__,
    on_change: Callable[..., None] | None = None,
    args: tuple = (),
    horizontal: bool = False,
    where=st,
) -> int:
    """The « Périmètres » radio of every page: the generations in display order (in force
    first), its value in ``st.session_state[key]``; returns the generation chosen."""
    return where.radio(
        "Périmètres",
        generations.ORDER,
        format_func=labels,
        key=key,
        on_change=on_change,
        args=args,
        horizontal=horizontal,
    )


def read_compare(data: Dataset) -> CompareState:
    """The comparison in the page's URL; what cannot be used is said in one warning."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    state, messages = parse_compare(params, data)
    if messages:
        # One warning for the whole link, however many codes it held.
        text = " ; ".join(message.rstrip(".") for message in messages)
        st.warning(f"Lien : {text}.", icon=":material/link_off:")
    return state


def write_params(wanted: Mapping[str, str]) -> None:
    """Make the page's URL hold exactly ``wanted``; it is only touched when it differs."""
    current = {key: ",".join(st.query_params.get_all(key)) for key in st.query_params}
    if current != dict(wanted):
        st.query_params.from_dict(wanted)
