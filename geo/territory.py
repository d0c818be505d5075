"""Which EPCI, communes and QPVs the app covers (the CA de Lens-Liévin by default).

Everything is derived from the EPCI SIREN and the official data: member communes from the EPCI
membership file, QPVs from INSEE's attribution (2015: ``epci1``/``epci2``; 2024: ``siren_epci``).
The only hand-written facts are in ``data/territories.json``: QPVs the data attributes to the EPCI
but that belong to a neighbouring contract.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from geo.errors import SchemaError, UnknownTerritoryError

DEFAULT_TERRITORY = "246200364"
SETTINGS_FILE = Path(__file__).resolve().parent.parent / "data" / "territories.json"

STATUS_CONTRACT = "contrat"
STATUS_NEIGHBOURING = "voisin"


@dataclass(frozen=True)
class Territory:
    """An EPCI and its member communes."""

    siren: str
    name: str
    communes: pd.DataFrame  # code, name, siren, pmun_2022 (from the EPCI file)
    contract: str = ""
    neighbouring: dict[str, str] = field(default_factory=dict)  # QPV code -> reason (French)

    @property
    def commune_codes(self) -> frozenset[str]:
        """INSEE codes of the member communes."""
        return frozenset(self.communes["code"])


def load_settings(path: Path = SETTINGS_FILE) -> dict[str, dict]:
    """Read the per-territory settings (neighbouring QPVs and their reasons)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def load_territory(siren: str, epci: list[dict], *, settings: dict | None = None) -> Territory:
    """Build the :class:`Territory` of an EPCI from the EPCI membership records.

    Parameters
    ----------
    siren
        SIREN of the EPCI (9 digits).
    epci
        Records of ``epci.json`` (``code``, ``nom``, ``membres``).
    settings
        Per-territory settings; defaults to ``data/territories.json``.
    """
    siren = str(siren).strip()
    if not re.fullmatch(r"\d{9}", siren):
        raise UnknownTerritoryError(f"SIREN d'EPCI invalide : {siren!r} (9 chiffres attendus)")
    record = next((e for e in epci if e.get("code") == siren), None)
    if record is None:
        raise UnknownTerritoryError(f"EPCI inconnu dans le fichier des EPCI : {siren!r}")
    members = record.get("membres") or []
    if not members:
        raise SchemaError(f"l'EPCI {siren} n'a aucune commune membre dans le fichier des EPCI")
    communes = pd.DataFrame(
        {
            "code": [m["code"] for m in members],
            "name": [m["nom"] for m in members],
            "siren": [m.get("siren") for m in members],
            "pmun_2022": pd.array([m.get("populationMunicipale") for m in members], "Int64"),
        }
    ).sort_values("code", ignore_index=True)
    own = (settings if settings is not None else load_settings()).get(siren, {})
    return Territory(
        siren=siren,
        name=record["nom"],
        communes=communes,
        contract=own.get("contract", ""),
        neighbouring=dict(own.get("neighbouring", {})),
    )


def normalize_name(name: str) -> str:
    """Fold a commune name for matching: accents, case, hyphens, apostrophes, spaces.

    ``"Éleu-dit-Leauwette"``, ``"eleu dit  leauwette"`` and ``"ELEU-DIT-LEAUWETTE"`` all give
    ``"eleu dit leauwette"``; ``"St"``/``"Ste"`` are expanded as in official names.
    """
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[-'’`\s]+", " ", text).strip()
    text = re.sub(r"\bste\b", "sainte", text)
    return re.sub(r"\bst\b", "saint", text)


def normalize_code(code: str) -> str:
    """A QPV or INSEE code as typed or pasted, in the form the tables use.

    Compatibility forms are folded (NFKC: full-width ``ＱＰ０６２０２５``), invisible format
    characters (zero-width space, joiners, bidi marks), controls and spaces removed, letters
    upper-cased: ``"\u200bqp062025 "`` gives ``"QP062025"``.
    """
    text = unicodedata.normalize("NFKC", code)
    return "".join(c for c in text if unicodedata.category(c)[0] not in "CZ").upper()


class CommuneNameResolver:
    """Map official commune names (as written in the QPV files) to INSEE codes.

    Resolution is by folded name, preferring the département given; a name that matches no
    commune, or several communes with no way to choose, raises :class:`SchemaError`.
    """

    def __init__(self, communes: list[dict]):
        self._by_name: dict[str, list[dict]] = {}
        for c in communes:
            if c.get("type", "commune-actuelle") != "commune-actuelle":
                continue
            self._by_name.setdefault(normalize_name(c["nom"]), []).append(c)

    def resolve(self, name: str, *, departement: str, context: str = "") -> tuple[str, str]:
        """Return ``(insee_code, official_name)`` for one commune name."""
        candidates = self._by_name.get(normalize_name(name), [])
        if len(candidates) > 1:
            candidates = [c for c in candidates if c.get("departement") == departement]
        if len(candidates) != 1:
            found = "aucune commune" if not candidates else f"{len(candidates)} communes"
            raise SchemaError(
                f"nom de commune non résolu {name!r} ({found} trouvée(s)"
                f"{', ' + context if context else ''})"
            )
        return candidates[0]["code"], candidates[0]["nom"]

    def resolve_list(self, names: str, *, departement: str, context: str = "") -> list[tuple]:
        """Resolve a comma-separated list of names, keeping its order, without duplicates."""
        out: list[tuple[str, str]] = []
        for raw in str(names).split(","):
            if not raw.strip():
                continue
            pair = self.resolve(raw, departement=departement, context=context)
            if pair not in out:
                out.append(pair)
        if not out:
            raise SchemaError(f"aucune commune dans {names!r} ({context})")
        return out


def departement_of_qpv(code: str) -> str:
    """Département of a QPV code.

    ``QP062025`` and ``QN06225M`` give ``"62"``, ``QP971001`` gives ``"971"``.
    """
    digits = code[2:5]
    return digits[1:] if digits.startswith("0") else digits
