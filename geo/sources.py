"""The datasets the map is built from: one table, one place per fact.

Each :class:`Source` is one file the build reads. It can come from three places, tried in this
order by :mod:`geo.fetch`: the local cache (``data/cache``), a mirror folder holding the unmodified
files (``--mirror`` / ``QPV_DATA_MIRROR``), or the official URL. ``sha256`` is the checksum of
the unmodified file as published (and mirrored); it is checked wherever the file comes from when
``stable`` is true. Dynamic API answers (``stable=False``) are validated by their parser instead.

A logical input may have alternatives (``ALTERNATIVES``): the 2024 perimeters are wanted at full
resolution (official ZIP) but the mirror only holds a simplified copy, which the build accepts
and reports, with its larger boundary uncertainty.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from geo.format import fr_distance

ETALAB_2 = "Licence Ouverte / Etalab 2.0"
NPM = "https://registry.npmjs.org"
DATAGOUV_QPV = "5a561801c751df42d7fca9b6"
SIG_VILLE_URL = "https://sig.ville.gouv.fr"
"""The official reference for whether an address is in a quartier prioritaire."""
# The mirror's 2024 perimeters against the official full-resolution file (mirror README).
SIMPLIFIED_2024_MEDIAN_M = 13.0
SIMPLIFIED_2024_MAX_M = 120.0
COG_YEAR = 2026
"""Year of the official geographic code the communes and EPCI tables describe (their EPCIs)."""
CONTOURS_YEAR = 2018
"""Year of the commune contours (IGN ADMIN EXPRESS) of the mirror."""


def sig_ville_page(code: str) -> str:
    """The SIG Ville's page of a quartier (``…/territoire/QN06225M``)."""
    return f"{SIG_VILLE_URL}/territoire/{quote(code, safe='')}"


@dataclass(frozen=True)
class Publication:
    """A published dataset, as shown on the sources page."""

    key: str
    title: str
    producer: str
    vintage: str
    licence: str
    page: str
    notes: str = ""


@dataclass(frozen=True)
class Source:
    """One file of a dataset and where to get it."""

    key: str
    dataset: str
    path: str  # relative path in the mirror and in the cache
    sha256: str | None = None
    url: str | None = None  # direct file or archive URL
    member: str | None = None  # path inside the archive at ``url``
    datagouv_resource: str | None = None  # regex on a resource URL of the data.gouv dataset
    stable: bool = True  # the published bytes are fixed: the checksum applies to downloads too
    boundary_error_m: float | None = None  # positional uncertainty of perimeters, for lookups
    simplified: bool = False  # a simplified copy of the official perimeters, not the official file
    description: str = ""  # what this file is, when a dataset has several (French)


DATASETS: dict[str, Publication] = {
    d.key: d
    for d in (
        Publication(
            key="qpv2015",
            title="Quartiers prioritaires de la politique de la ville, périmètres 2015",
            producer="ANCT (ex-CGET) sur data.gouv.fr",
            vintage="2015 (décrets 2014-1750 et 2014-1751, révisés en août 2015)",
            licence=ETALAB_2,
            page=f"https://www.data.gouv.fr/fr/datasets/{DATAGOUV_QPV}/",
            notes="Périmètres officiels au 1:4 000, Lambert-93 ; quelques polygones invalides "
            "réparés à la construction.",
        ),
        Publication(
            key="pop2013",
            title="Population municipale des quartiers prioritaires 2015 (RP 2013)",
            producer="Insee",
            vintage="Recensement de la population 2013",
            licence=ETALAB_2,
            page="https://www.insee.fr/fr/statistiques/2500431",
        ),
        Publication(
            key="qpv2024",
            title="Quartiers prioritaires de la politique de la ville, périmètres 2024",
            producer="ANCT sur data.gouv.fr",
            vintage="2024 (décret du 28 décembre 2023, en vigueur le 1er janvier 2024)",
            licence=ETALAB_2,
            page=f"https://www.data.gouv.fr/fr/datasets/{DATAGOUV_QPV}/",
            notes="Deux fichiers possibles, décrits ci-dessous : celui de l'ANCT, téléchargé, ou "
            "une copie simplifiée dans le miroir hors ligne. Le fichier utilisé est nommé ici et "
            "dans le rapport de préparation.",
        ),
        Publication(
            key="indicateurs2024",
            title="Indicateurs par quartier prioritaire 2024 (compilation)",
            producer="Compilation tierce déclarée issue de SIG Ville / Insee",
            vintage="non précisé par colonne",
            licence=f"{ETALAB_2} (présumée)",
            page="https://www.insee.fr/fr/statistiques/8243167",
            notes="Aucune année de référence par colonne ; valeurs manquantes ; le nombre de "
            "logements sociaux rapporté au nombre de ménages (colonne taux_logements_sociaux, "
            "recalculée par la compilation) dépasse 100 % pour certains quartiers, qui comptent "
            "plus de logements sociaux que de ménages dans la source (valeurs montrées telles "
            "que publiées et signalées, jamais corrigées).",
        ),
        Publication(
            key="decoupage",
            title="Découpage administratif : communes et EPCI",
            producer="Etalab, @etalab/decoupage-administratif 6.0.0 (sources Insee COG, DGCL)",
            vintage=f"COG {COG_YEAR} ; populations municipales millésime 2023 (communes), "
            "2022 (EPCI)",
            licence=ETALAB_2,
            page="https://www.npmjs.com/package/@etalab/decoupage-administratif",
        ),
        Publication(
            key="poplegales2023",
            title="Populations légales des communes, millésime 2023",
            producer="Insee",
            vintage="millésime 2023",
            licence=ETALAB_2,
            page="https://www.insee.fr/fr/statistiques?debut=0&theme=1&categorie=1",
        ),
        Publication(
            key="populations_call",
            title="Populations municipales et totales 2021, 2022, 2023 des 36 communes de la CALL",
            producer="Dérivé des fichiers Insee / DGCL ci-dessus (miroir du projet)",
            vintage="millésimes 2021, 2022, 2023",
            licence=ETALAB_2,
            page="https://www.insee.fr/fr/statistiques?debut=0&theme=1&categorie=1",
            notes="Fichier dérivé, disponible seulement dans le miroir ; couvre la CALL.",
        ),
        Publication(
            key="contours_communes",
            title="Contours des communes du Pas-de-Calais",
            producer=f"IGN ADMIN EXPRESS {CONTOURS_YEAR}, simplifié (mapshaper) ; en ligne : "
            "geo.api.gouv.fr",
            vintage=f"{CONTOURS_YEAR} (les 36 communes de la CALL sont inchangées depuis)",
            licence=ETALAB_2,
            page="https://geo.api.gouv.fr/decoupage-administratif",
            notes="Contours simplifiés : limites communales approximatives, utilisées pour "
            "l'affichage et l'emprise du territoire, jamais pour rattacher un quartier à une "
            "commune.",
        ),
    )
}

_DECOUPAGE_TGZ = f"{NPM}/@etalab/decoupage-administratif/-/decoupage-administratif-6.0.0.tgz"

SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        *(
            Source(
                key=f"qpv2015_{ext}",
                dataset="qpv2015",
                path=f"qpv-2015/QP_METROPOLE_LB93.{ext}",
                sha256=sha,
                datagouv_resource=r"(?i)QP_METROPOLE_LB93.*\.zip$",
                member=f"QP_METROPOLE_LB93.{ext}",
                boundary_error_m=5.0,
            )
            for ext, sha in (
                ("shp", "921fa57a4ad3d8ad34a219d0a20228cfba551e99763f3cd1f5db584cc66a3a22"),
                ("shx", "22467ee472f48174d7dba3583cfa9026f7726000c6a602675ae96bd2272c25ba"),
                ("dbf", "653e9ecdf9da1531c4ae9250194b3f1d72e89466fc8c86330f0f5e9e07c69860"),
                ("prj", "487b77472e9a777944236cd237bc070c90ccc81c58d8138ee70146e3f8128853"),
            )
        ),
        Source(
            key="pop2013",
            dataset="pop2013",
            path="qpv-2015/pop_qp_2013.csv",
            sha256="b85ef8055aeb60420a2cad3ee51b98c5d39f10f22c7d3d08eba21b6e3b07e046",
            # No stable direct URL is known for this INSEE file: mirror only (see its page).
        ),
        Source(
            key="qpv2024_full",
            dataset="qpv2024",
            path="qpv-2024/QP2024_France_hexagonale_LB93.gpkg",
            url="https://www.data.gouv.fr/api/1/datasets/r/942d4ee8-8142-4556-8ea1-335537ce1119",
            member="GPKG/QP2024_France_hexagonale_LB93.gpkg",
            stable=False,
            boundary_error_m=5.0,
            description="fichier de l'ANCT en pleine résolution (Lambert-93), téléchargé",
        ),
        Source(
            key="qpv2024_simplified",
            dataset="qpv2024",
            path="qpv-2024/qpv2024_simplified.geojson",
            sha256="578c36a475ea6867789b0367d5c311cc6c88f389ac1a5604be38add7e38fcb15",
            boundary_error_m=SIMPLIFIED_2024_MAX_M,
            simplified=True,
            description="copie simplifiée du miroir hors ligne (environ 40 % des sommets, écart "
            f"médian {fr_distance(SIMPLIFIED_2024_MEDIAN_M)}, jusqu'à environ "
            f"{fr_distance(SIMPLIFIED_2024_MAX_M)}) : bonne pour l'affichage, pas pour trancher "
            "seule près d'une limite ; surfaces et densités approchées",
        ),
        Source(
            key="indicateurs2024",
            dataset="indicateurs2024",
            path="qpv-2024/analyse_qpv.csv",
            sha256="fc6ffceda2c84e47aa745a04a15d525c5077ecb608f1057fa7af4a6d81f9fcb5",
        ),
        Source(
            key="communes",
            dataset="decoupage",
            path="communes/communes.json",
            sha256="6cafec09b4e127d08edc47f366b28261bee70cca323fbfcb957dd169fcad9284",
            url=_DECOUPAGE_TGZ,
            member="package/data/communes.json",
        ),
        Source(
            key="epci",
            dataset="decoupage",
            path="communes/epci.json",
            sha256="40758ace686311837c484da81c2a8ba00a9f356bc6210f3316c6b19daa4dc967",
            url=_DECOUPAGE_TGZ,
            member="package/data/epci.json",
        ),
        Source(
            key="poplegales2023",
            dataset="poplegales2023",
            path="communes/donnees_communes.csv",
            sha256="ccfe782e04ebde04a1706214157b288a0d055eb3ab913ff9f7bab5a3571f67ab",
        ),
        Source(
            key="populations_call",
            dataset="populations_call",
            path="communes/call-36-communes.csv",
            sha256="ab2b9b4d0fd5373eb2a40bce3ee6a310692ac719cc18d7316f21511d2d53aba1",
        ),
        Source(
            key="contours_communes",
            dataset="contours_communes",
            path="communes/communes-62-pas-de-calais.geojson",
            sha256="d25243420aea3ed2613cb14928e83c3201b5395dc8e6f9c3905b76de94c21fa2",
            url="https://geo.api.gouv.fr/departements/62/communes"
            "?fields=nom,code&format=geojson&geometry=contour",
            stable=False,
            # Not measured (no full-resolution reference in the mirror): a deliberately wide
            # margin for simplified outlines, so that a point near the territory's edge is
            # "uncertain" rather than confidently "outside the territory".
            boundary_error_m=150.0,
            simplified=True,  # mapshaper: areas and densities of communes are approximate
        ),
    )
}

# Logical inputs of the build, each satisfied by the first alternative that can be obtained.
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "qpv2024": ("qpv2024_full", "qpv2024_simplified"),
}

# Inputs the build can do without (their columns are then missing and reported).
# Without the indicators the 2024 fact panels show them as missing; without the INSEE legal
# populations file the 2023 populations of communes.json (same vintage) are used.
OPTIONAL = frozenset({"populations_call", "indicateurs2024", "poplegales2023"})


def sources_of(dataset: str) -> list[Source]:
    """Return the sources of one dataset, in table order."""
    return [s for s in SOURCES.values() if s.dataset == dataset]
