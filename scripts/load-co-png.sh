#!/usr/bin/env bash
# The PNG of docs/load.md's coordinated-omission plot: rasterises
# docs/load-co.svg (written by load/examples/co_plot.rs) into
# docs/load-co.png with rsvg-convert (Debian: apt-get install librsvg2-bin).
#
# Usage: scripts/load-co-png.sh [--rerun]
#   --rerun  first runs the example again (a 10 s run against a stalling
#            server), which rewrites the SVG with fresh figures.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v rsvg-convert > /dev/null; then
    echo "rsvg-convert not found: apt-get install librsvg2-bin" >&2
    exit 2
fi
if [[ "${1:-}" == "--rerun" ]]; then
    cargo run --release -p goro-load --example co_plot -- docs/load-co.svg
fi
# A white background: the SVG leaves it transparent, which dark viewers show black.
rsvg-convert --background-color=white --zoom=2 -o docs/load-co.png docs/load-co.svg
echo "wrote docs/load-co.png"
