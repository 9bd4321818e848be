# Baton's task runner. `just` lists the recipes; `just up` starts the platform.
#
# Recipes are thin: anything longer than a few lines lives in `scripts/`, where it can be read
# and shellchecked like any other program.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Where `just token` logs in: by default, the gateway `just up` starts.
gateway_url := env("BATON_GATEWAY_URL", "https://127.0.0.1:8443")

# List the recipes.
default:
    @{{ just_executable() }} --list --unsorted

# Build the whole workspace once, as `just test` selects it (every recipe shares this build).
build:
    @scripts/build.sh

# Where the binaries of that build are.
bin := env("CARGO_TARGET_DIR", "target") / "debug"

# Start every component on localhost (SQLite, mTLS from a development CA); `--detach` returns once all are healthy.
[no-exit-message]
up *args:
    @scripts/up.sh {{ args }}

# Stop what `just up --detach` left running.
down:
    @scripts/down.sh

# Log a demo user in through the gateway (authorization-code flow with PKCE) and print the access token.
token user:
    @scripts/build.sh && {{ bin }}/baton-login {{ quote(user) }} --gateway {{ quote(gateway_url) }}

# Run every test on SQLite; with DATABASE_URL set, run the whole-platform suites on PostgreSQL too.
test:
    #!/usr/bin/env bash
    set -euo pipefail
    postgres_url="${DATABASE_URL:-}"
    # With nextest, the later runs pick their tests with a filter over the whole workspace rather
    # than `-p`, so cargo unifies features the same way and builds nothing twice.
    if cargo nextest --version >/dev/null 2>&1; then
        runner=(cargo nextest run --no-tests=pass --workspace)
        platform_suite=(-E 'package(baton-e2e)')
        platform_suites=(-E 'package(baton-e2e) | package(baton-securitytests)')
    else
        echo "cargo-nextest not found; falling back to cargo test" >&2
        runner=(cargo test)
        platform_suite=(-p baton-e2e)
        platform_suites=(-p baton-e2e -p baton-securitytests)
    fi
    sqlite=(env -u DATABASE_URL -u STS_DATABASE_URL -u USERS_DATABASE_URL
        -u ACCOUNTS_DATABASE_URL -u ORDERS_DATABASE_URL -u BATON_TEST_TRUST_MODE)
    echo "== every test, on SQLite, trust mode e2e =="
    if [[ ${runner[1]} == test ]]; then
        "${sqlite[@]}" "${runner[@]}" --workspace
    else
        "${sqlite[@]}" "${runner[@]}"
    fi
    # The attack suite proves each attack in both trust modes itself; the whole-platform suite
    # follows BATON_TEST_TRUST_MODE, so it runs once per mode.
    echo "== whole-platform tests, on SQLite, trust mode exchange =="
    "${sqlite[@]}" BATON_TEST_TRUST_MODE=exchange "${runner[@]}" "${platform_suite[@]}"
    if [[ -n "$postgres_url" ]]; then
        echo "== whole-platform and attack suites, on PostgreSQL, trust mode e2e (attacks: both) =="
        DATABASE_URL="$postgres_url" BATON_TEST_TRUST_MODE=e2e "${runner[@]}" "${platform_suites[@]}"
        echo "== whole-platform tests, on PostgreSQL, trust mode exchange =="
        DATABASE_URL="$postgres_url" BATON_TEST_TRUST_MODE=exchange "${runner[@]}" "${platform_suite[@]}"
    fi
    # The real binaries, killed at random under a stream of orders, on ports of their own (beside
    # a running `just up`); every cent checked after. BATON_CHAOS_SECONDS per run.
    scripts/build.sh
    for mode in e2e exchange; do
        echo "== chaos, on SQLite, trust mode $mode =="
        "${sqlite[@]}" python3 scripts/chaos.py "${BATON_CHAOS_SECONDS:-20}" --trust-mode "$mode"
        if [[ -n "$postgres_url" ]]; then
            echo "== chaos, on PostgreSQL, trust mode $mode =="
            python3 scripts/chaos.py "${BATON_CHAOS_SECONDS:-20}" --trust-mode "$mode" --postgres "$postgres_url"
        fi
    done

# Prove every attack (OWASP API Top 10) in both trust modes against in-process platforms; the report goes to target/attack-report/.
[positional-arguments]
attack *args:
    @scripts/build.sh && {{ bin }}/baton-attack "$@"

# Fuzz the running platform from its API description (schemathesis, every check on), `seconds` per demo user.
fuzz seconds="180":
    @scripts/fuzz.sh {{ seconds }}

# Kill accounts and orders at random under a stream of orders, refunds and retries, then check every cent (`just chaos 60 --trust-mode exchange --postgres URL`).
[positional-arguments]
chaos *args:
    @scripts/build.sh && python3 scripts/chaos.py "$@"

# Regenerate docs/openapi.json from the code (a test fails when the two disagree).
openapi:
    @scripts/build.sh && {{ bin }}/baton-openapi > docs/openapi.json

# Format every crate (`just fmt --check` only checks).
fmt *args:
    cargo fmt --all {{ args }}

# Clippy on every crate and target, warnings as errors.
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Goose load test against `just up`'s gateway (started and stopped for you if it is not running); Goose options pass through.
[no-exit-message]
[positional-arguments]
load *args:
    @scripts/load.sh "$@"

# What each security layer costs: one table, every row measured in one run (target/bench/bench.md and .json).
[no-exit-message]
bench:
    @scripts/bench.sh
