"""Vérifier un fichier (``/fichier``): a CSV or Excel table -> each row in or out of a QPV.

The file is read in memory (``geo.tabular``), checked by ``geo.checkfile.check_table`` with a
progress bar, and the annotated rows are offered as French CSV and Excel. Nothing is written to
disk: the table and the result live in this session's ``st.session_state`` only. With longitude
and latitude columns nothing leaves the machine; address columns are sent to the address
service of the Géoplateforme (IGN).
"""

import math
import re
from pathlib import PurePath

import streamlit as st

from geo import generations
from geo.checkfile import check_table
from geo.errors import GeocoderError, InputError
from geo.format import fr_int, fr_number
from geo.geocoder import user_message
from geo.tabular import UPLOAD_LIMITS, guess_address_columns, guess_lonlat_columns, load_table
from ui import downloads, fichier, leaflet, mapview
from ui.data import get_dataset
from ui.locator import get_locator
from ui.markdown import escape_markdown

K_FILE = "fichier_televerse"
K_TABLE = "fichier_table"  # (file_id, UserTable)
K_RESULT = "fichier_resultat"  # (file_id, description of the columns used, CheckResult)
K_MODE = "fichier_mode"
K_ADDRESS_COLUMNS = "fichier_colonnes_adresse"
K_CITYCODE = "fichier_colonne_insee"
K_LON = "fichier_colonne_longitude"
K_LAT = "fichier_colonne_latitude"
K_MAP_GENERATION = "fichier_carte_generation"
K_MAP = "fichier_carte"
COLUMN_KEYS = (K_MODE, K_ADDRESS_COLUMNS, K_CITYCODE, K_LON, K_LAT)
MODE_ADDRESS = "adresses"
MODE_LONLAT = "coordonnees"
MODE_LABELS = {
    MODE_ADDRESS: "Des colonnes d'adresse (envoyées au service d'adresses de la Géoplateforme)",
    MODE_LONLAT: "Des colonnes de longitude et de latitude (rien n'est envoyé)",
}
MAP_HEIGHT = 520
LIMITS = UPLOAD_LIMITS

dataset = get_dataset()

st.title("Vérifier un fichier", anchor=False)
st.markdown(
    "Déposez un tableau d'adresses ou de coordonnées (CSV ou Excel) : chaque ligne est située "
    "par rapport aux quartiers prioritaires de la "
    f"{escape_markdown(dataset.territory_name)}, pour les périmètres 2024 (en vigueur) et 2015. "
    "Vous récupérez le même tableau avec, pour chaque ligne, le statut (dans, hors, incertain, "
    "hors territoire, non localisée), le quartier et la distance au quartier le plus proche."
)
st.markdown(
    f"**Taille maximale : {LIMITS.describe()}.** CSV séparé par « ; » ou « , » (UTF-8, "
    "UTF-16, Windows-1252, ISO-8859-15 ou MacRoman), ou classeur Excel .xlsx (première "
    "feuille).  \n"
    "Le fichier est lu en mémoire, le temps de votre session : il n'est pas conservé. Les "
    "colonnes d'adresse (et elles seules) sont envoyées au service d'adresses de la "
    "Géoplateforme (IGN) pour être localisées ; des coordonnées ne sont envoyées nulle part."
)

uploaded = st.file_uploader(
    "Fichier CSV ou Excel",
    # .xls is let through so that read_table explains, in French, how to convert it.
    type=["csv", "txt", "tsv", "xlsx", "xls"],
    key=K_FILE,
    max_upload_size=math.ceil(LIMITS.max_bytes / (1024 * 1024)),
)
if uploaded is None:
    st.session_state.pop(K_TABLE, None)
    st.info("Déposez un fichier pour commencer.", icon=":material/upload_file:")
    st.stop()

stored = st.session_state.get(K_TABLE)
if stored is None or stored[0] != uploaded.file_id:
    try:
        user_table = load_table(uploaded.getvalue(), uploaded.name, limits=LIMITS)
    except InputError as exc:
        st.error(escape_markdown(str(exc)), icon=":material/error:")
        st.stop()
    st.session_state[K_TABLE] = (uploaded.file_id, user_table)
    # A new file: the column choices of the previous one mean nothing.
    columns = list(user_table.frame.columns)
    lonlat = guess_lonlat_columns(columns)
    st.session_state[K_MODE] = MODE_LONLAT if lonlat else MODE_ADDRESS
    st.session_state[K_ADDRESS_COLUMNS] = guess_address_columns(columns)
    st.session_state[K_LON], st.session_state[K_LAT] = lonlat or (None, None)
    st.session_state[K_CITYCODE] = None
user_table = st.session_state[K_TABLE][1]
table = user_table.frame
columns = list(table.columns)

st.caption(
    f"{escape_markdown(uploaded.name)} : {fr_int(len(table))} ligne"
    f"{'s' if len(table) > 1 else ''}, {fr_int(len(columns))} colonne"
    f"{'s' if len(columns) > 1 else ''} ({escape_markdown(user_table.source)})."
)
for note in user_table.notes:
    st.warning(escape_markdown(note), icon=":material/info:")
if not guess_address_columns(columns) and not guess_lonlat_columns(columns):
    st.warning(
        "Aucune colonne ne ressemble à une adresse (adresse, rue, commune, code postal…) ni à "
        "des coordonnées (longitude, latitude) : choisissez ci-dessous les colonnes à utiliser.",
        icon=":material/warning:",
    )

st.radio("Les lignes sont situées par", list(MODE_LABELS), format_func=MODE_LABELS.get, key=K_MODE)
if st.session_state[K_MODE] == MODE_ADDRESS:
    address_columns = st.multiselect(
        "Colonnes formant l'adresse, dans l'ordre (numéro et rue, code postal, commune…)",
        columns,
        key=K_ADDRESS_COLUMNS,
        placeholder="Choisir les colonnes…",
    )
    citycode = st.selectbox(
        "Colonne du code Insee de la commune (facultatif : limite la recherche à cette commune)",
        columns,
        key=K_CITYCODE,
        index=None,
        placeholder="Aucune",
    )
    ready = bool(address_columns)
    settings = {"address_columns": address_columns, "citycode_column": citycode}
    used = "adresses des colonnes " + ", ".join(f"« {c} »" for c in address_columns)
else:
    lon_column, lat_column = st.columns(2)
    lon = lon_column.selectbox("Colonne de longitude", columns, key=K_LON, index=None)
    lat = lat_column.selectbox("Colonne de latitude", columns, key=K_LAT, index=None)
    ready = bool(lon and lat)
    settings = {"lonlat_columns": (lon, lat)}
    used = f"coordonnées des colonnes « {lon} » et « {lat} »"

if st.button(
    f"Vérifier les {fr_int(len(table))} lignes",
    type="primary",
    disabled=not ready,
    icon=":material/fact_check:",
    help=None if ready else "Choisissez d'abord les colonnes à utiliser.",
):
    bar = st.progress(0.0, text="Préparation…")
    try:
        result = check_table(
            table,
            get_locator(),
            on_progress=lambda fraction, text: bar.progress(min(fraction, 1.0), text=text),
            timeout=fichier.BULK_TIMEOUT,
            **settings,
        )
    except InputError as exc:
        st.error(escape_markdown(str(exc)), icon=":material/error:")
    except GeocoderError as exc:
        st.error(
            f"{escape_markdown(user_message(exc))}\n\nAucune ligne n'a été vérifiée. Si le "
            "tableau a des colonnes de longitude et de latitude, choisissez-les : la "
            "vérification se fait alors sans le service d'adresses.",
            icon=":material/cloud_off:",
        )
    else:
        st.session_state[K_RESULT] = (uploaded.file_id, used, result)
    bar.empty()

stored_result = st.session_state.get(K_RESULT)
if stored_result is None or stored_result[0] != uploaded.file_id:
    st.stop()
_, used, result = stored_result
rows = result.rows

st.header("Résultat", anchor=False)
not_located = fichier.not_located_count(result.counts)
duration = (
    "en moins d'une seconde"
    if result.seconds < 1
    else f"en {fr_number(result.seconds, 1)} secondes"
)
st.markdown(
    f"{fichier.count_fr(result.total, 'ligne vérifiée', 'lignes vérifiées')} {duration} "
    f"({escape_markdown(used)}) : {fichier.count_fr(result.located, 'située', 'situées')}, "
    f"{fichier.count_fr(not_located, 'non localisée', 'non localisées')}."
)
st.table(fichier.counts_table(result.counts), hide_index=True)
if not_located:
    st.caption(
        "« Non localisée » : adresse introuvable ou coordonnées inutilisables ; la colonne "
        "« remarque » dit pourquoi. Ces lignes ne sont jamais comptées « hors »."
    )

generation = st.radio(
    "Statut montré sur la carte",
    generations.ORDER,
    format_func=generations.LABELS.get,
    key=K_MAP_GENERATION,
    horizontal=True,
)
spec = mapview.territory_map(
    dataset, generation=generation, codes=list(dataset.qpv_of(generation).code)
)
points = fichier.points_layer(rows, generation)
if points is not None:
    spec = spec.adding(points).viewing(
        leaflet.View.fit(points.bounds, padding_top_left=(20, 20), padding_bottom_right=(20, 20))
    )
leaflet.show_map(spec, key=K_MAP, height=f"{MAP_HEIGHT}px")
st.html(fichier.status_legend_html())

st.subheader("Aperçu", anchor=False)
if len(rows) > fichier.PREVIEW_ROWS:
    st.caption(f"Les {fichier.PREVIEW_ROWS} premières lignes ; le fichier complet se télécharge.")
st.dataframe(fichier.preview(rows, geocoded=result.geocoded), hide_index=True, width="stretch")

stem = re.sub(r"[^\w-]+", "_", PurePath(uploaded.name).stem)[:60].strip("_") or "fichier"
csv_column, excel_column = st.columns(2)
downloads.csv_button("Télécharger le résultat (CSV)", rows, f"{stem}-qpv.csv", where=csv_column)
downloads.excel_button(
    "Télécharger le résultat (Excel)",
    rows,
    f"{stem}-qpv.xlsx",
    sheet_name="Vérification QPV",
    where=excel_column,
)
