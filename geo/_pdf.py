"""The A4 page every PDF of the app is printed on, and the pieces of its layout.

Private plumbing of ``geo.factsheet`` (sheets, dossier) and ``geo.answersheet`` (a point's
answer): one page setup (A4 portrait, the DejaVu Sans font bundled with matplotlib so that
accents print, margins, a footer with a rule and two texts, French metadata), titled sections,
notes, tables of plain text and a map's legend in vector form, in ``geo.style``'s colours and
dashes. Every string goes through fpdf's plain-text API (no HTML, no markdown), and numbers keep
their thousands together with narrow no-break spaces (:func:`nonbreaking`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from geo import style

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
FONT = "DejaVu"
ACCENT = style.rgb(style.TERRITORY.stroke)  # "bleu France" of the app's theme
INK = style.rgb(style.TEXT)
MUTED = style.rgb(style.MUTED_TEXT)
A4_MM = (210.0, 297.0)
# French typography's narrow no-break space, in numbers (« 56 398 ») and before a unit. fpdf
# keeps it as is (a plain no-break space it prints as a space), so it can be read back.
NO_BREAK = "\u202f"

_DIGIT_GROUP = re.compile(r"(?<=\d) (?=\d{3}(?!\d))")
_DIGIT_UNIT = re.compile(
    r"(?<=\d) (?=(%|€|ha\b|hab\.|m\b|km\b|logements|ménages|pers\.|allocataires))"
)


def nonbreaking(text: str) -> str:
    """``"56 398 hab."`` with no-break spaces inside the number and before its unit."""
    return _DIGIT_UNIT.sub(NO_BREAK, _DIGIT_GROUP.sub(NO_BREAK, text))


class A4Page(FPDF):
    """A4 portrait in the DejaVu fonts, with a footer: a rule, then two texts.

    ``footer_left`` and ``footer_right`` are the footer's texts (``{page}`` is the page's number,
    ``{nb}`` the page count);
    content running into the footer starts another page (the tests count pages).
    """

    def __init__(self, *, title: str, creator: str, margin_mm: float, footer_mm: float):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_mm = footer_mm
        self.footer_left = ""
        self.footer_right = ""
        self.add_font(FONT, "", str(FONT_REGULAR))
        self.add_font(FONT, "B", str(FONT_BOLD))
        self.set_margins(margin_mm, margin_mm, margin_mm)
        self.set_auto_page_break(True, margin=footer_mm)
        self.set_lang("fr-FR")
        self.set_creator(creator)
        self.set_title(title)

    def normalize_text(self, text: str) -> str:
        # Every string printed goes through here: thousands and units never break apart.
        return super().normalize_text(nonbreaking(text))

    def multi_cell(self, *args, align="L", **kwargs):  # ragged right, never justified
        return super().multi_cell(*args, align=align, **kwargs)

    @property
    def content_width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def footer(self) -> None:
        self.set_y(-self.footer_mm + 3.5)
        self.set_draw_color(*ACCENT)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 5, self.footer_left, align="L")
        self.cell(0, 5, self.footer_right.replace("{page}", str(self.page_no())), align="R")


def section(
    pdf: A4Page, title: str, *, x: float | None = None, width: float = 0, size: float = 11
) -> None:
    if x is not None:
        pdf.set_x(x)
    pdf.set_font(FONT, "B", size)
    pdf.set_text_color(*ACCENT)
    pdf.cell(width, size * 0.55, title, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)


def note(pdf: A4Page, text: str) -> None:
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 3.2, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)


def table(
    pdf: A4Page,
    rows: Sequence[Sequence[str]],
    *,
    widths: tuple[float, ...],
    x: float,
    header: tuple[str, ...] | None = None,
    size: float = 8.5,
    align: tuple[str, ...] | None = None,
) -> None:
    """Rows of plain text in fixed-width columns, wrapping within each cell."""
    align = align or ("L",) * len(widths)
    line = size * 0.45
    if header:
        pdf.set_font(FONT, "B", size - 0.5)
        _row(pdf, header, widths, x, line, align, fill=True)
    pdf.set_font(FONT, "", size)
    for i, row in enumerate(rows):
        _row(pdf, row, widths, x, line, align, fill=False, rule=i > 0 or header is None)


def _row(pdf, cells, widths, x, line, align, *, fill: bool, rule: bool = True) -> None:
    heights = [
        len(pdf.multi_cell(w - 1.5, line, text, dry_run=True, output="LINES")) * line
        for w, text in zip(widths, cells, strict=True)
    ]
    height = max(heights) + 1.6
    y = pdf.get_y()
    if fill:
        pdf.set_fill_color(230, 230, 242)
        pdf.rect(x, y, sum(widths), height, style="F")
    elif rule:
        pdf.set_draw_color(200, 200, 200)
        pdf.line(x, y, x + sum(widths), y)
    cx = x
    for w, text, a in zip(widths, cells, align, strict=True):
        pdf.set_xy(cx + 0.75, y + 0.8)
        pdf.multi_cell(w - 1.5, line, text, align=a)
        cx += w
    pdf.set_xy(x, y + height)


LEGEND_ROW_MM = 3.8
LEGEND_SWATCH_MM = (7.0, 3.0)


def draw_legend(
    pdf: A4Page, kinds: Sequence[style.Kind], *, territory: str, x: float, y: float, width: float
) -> None:
    """A legend in vector form under a PDF map, in ``geo.style``'s styles.

    Each swatch is a rectangle filled, stroked and dashed like the kind on the map; the label
    is text (it can be searched, read aloud and extracted). Two entries per line when every
    label fits half the width, else one.
    """
    pt = 25.4 / 72  # mm per point
    sw, sh = LEGEND_SWATCH_MM
    pdf.set_font(FONT, "", 6.5)
    pdf.set_text_color(*INK)
    labels = [style.legend_label(kind, territory) for kind in kinds]
    per_line = 2 if all(pdf.get_string_width(t) <= width / 2 - sw - 4 for t in labels) else 1
    column = width / per_line
    for i, (kind, label) in enumerate(zip(kinds, labels, strict=True)):
        cx = x + (i % per_line) * column
        cy = y + (i // per_line) * LEGEND_ROW_MM
        if kind.halo:
            pdf.set_draw_color(*style.rgb(style.PAPER))
            pdf.set_line_width(kind.halo_pt * pt)
            pdf.rect(cx + 0.8, cy + 0.6, sw, sh, style="D")
        with pdf.local_context(fill_opacity=kind.fill_opacity):
            if kind.fill:
                pdf.set_fill_color(*style.rgb(kind.fill))
                pdf.rect(cx + 0.8, cy + 0.6, sw, sh, style="F")
        pdf.set_draw_color(*style.rgb(kind.stroke))
        pdf.set_line_width(kind.width_pt * pt)
        if kind.dash_pt:
            dash, gap = kind.dash_pt[:2]
            pdf.set_dash_pattern(dash=dash * pt, gap=gap * pt)
        pdf.rect(cx + 0.8, cy + 0.6, sw, sh, style="D")
        pdf.set_dash_pattern()
        pdf.set_xy(cx + sw + 2, cy)
        pdf.cell(column - sw - 3, LEGEND_ROW_MM, label)
    pdf.set_line_width(0.2)
    lines = (len(kinds) + per_line - 1) // per_line
    pdf.set_xy(x, y + lines * LEGEND_ROW_MM + 1)
