#!/usr/bin/env bash
# One build for every recipe: the whole workspace, every library, binary and test, exactly as
# `just test` (cargo nextest) selects it. Cargo resolves features per selection, so a recipe that
# built `-p one-crate` would resolve them differently (a dev-dependency turns on tokio's
# `test-util`, for one) and rebuild most of the dependency graph a second time. With one
# selection, `just up`, `just token`, `just attack`, `just openapi`, `just load` and `just test`
# share every artefact, and whichever runs first builds for all of them.
#
#   scripts/build.sh            # build quietly
#   scripts/build.sh --verbose  # extra arguments go to cargo build

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build -q --workspace --lib --bins --tests "$@"
