#!/bin/sh
# The README's PNGs from Textual's SVG screenshots (the snapshot tests' SVGs, or the real-lab
# walk's: MESOSLAB_SCREENSHOTS=DIR .venv/bin/pytest -m lab tests/test_tui_lab.py).
#
# rsvg-convert drops a span's leading space and has no Fira Code here, so words after a
# styled span ran together and indentation was lost. This keeps spaces (xml:space) and
# uses DejaVu Sans Mono spaced to Textual's cell (12.2 px at 20 px: 0.16 px more a glyph).
# Needs: apt-get install librsvg2-bin fonts-dejavu-core
#
# usage: docs/screenshots/render.sh SVG NAME   -> docs/screenshots/NAME.png
set -eu
[ $# -eq 2 ] || { echo "usage: $0 SVG NAME" >&2; exit 2; }
here=$(dirname "$0")
tmp=$(mktemp --suffix=.svg)
trap 'rm -f "$tmp"' EXIT
sed -e 's/font-family: Fira Code, monospace;/font-family: DejaVu Sans Mono, monospace; letter-spacing: 0.16px;/' \
    -e 's/<svg /<svg xml:space="preserve" /' "$1" > "$tmp"
rsvg-convert -w 1200 "$tmp" -o "$here/$2.png"
echo "$here/$2.png"
