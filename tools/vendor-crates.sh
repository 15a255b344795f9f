#!/usr/bin/env bash
# Regenerates src/rust/vendor.tar.xz: the source of every crate in Cargo.lock, so
# that the R source package builds with no network and no cargo configuration.
#
# Run it from anywhere after any change to Cargo.lock (see tools/README.md):
#   bash tools/vendor-crates.sh
#
# It copies the crates from the crate source cargo is configured with (the machine's
# mirror: `cargo vendor --offline --respect-source-config`), then replaces every crate
# the R build never compiles (Windows/wasm-only crates, dev-dependencies such as
# criterion and proptest, anything outside the dependency tree of `dsmhe` on Linux)
# by an empty stub: its Cargo.toml (cargo still reads every manifest in the lock when
# it resolves the workspace), an empty src/lib.rs, and a .cargo-checksum.json that
# keeps the lock's package checksum and lists no files. Cargo.lock itself is not
# touched (the build runs with --locked).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/src/rust/vendor.tar.xz"
# Targets whose dependency trees are kept in full. The R package is built on Linux
# servers (x86_64 and arm64).
targets=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)
max_bytes=$((4 * 1024 * 1024))

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"

echo "vendor-crates: copying crates listed in Cargo.lock"
cargo vendor --quiet --offline --locked --respect-source-config --versioned-dirs \
  --manifest-path "$root/Cargo.toml" "$work/vendor" >/dev/null

# Crates the build of the R package compiles: normal and build dependencies of dsmhe.
target_args=()
for t in "${targets[@]}"; do target_args+=(--target "$t"); done
cargo tree --offline --locked --manifest-path "$root/Cargo.toml" -p dsmhe \
  -e normal,build "${target_args[@]}" --prefix none --format '{p}' |
  awk 'NF >= 2 && $3 !~ /^\(\// { sub(/^v/, "", $2); print $1 "-" $2 }' | sort -u >"$work/needed"

stub() {
  local dir="$1"
  local pkgsum
  pkgsum="$(sed -n 's/.*"package":"\([0-9a-f]*\)".*/\1/p' "$dir/.cargo-checksum.json")"
  find "$dir" -mindepth 1 -maxdepth 1 ! -name Cargo.toml -exec rm -rf {} +
  # Drop build scripts and explicit non-library targets: cargo would look for
  # their files. Library targets keep their (now empty) source file.
  awk '
    /^\[\[(bin|bench|test|example)\]\]/ { skip = 1; next }
    /^\[/ { skip = 0 }
    skip { next }
    /^build *=/ { next }
    { print }
  ' "$dir/Cargo.toml" >"$dir/Cargo.toml.new"
  mv "$dir/Cargo.toml.new" "$dir/Cargo.toml"
  local libpath
  libpath="$(awk '/^\[lib\]/ { inlib = 1; next } /^\[/ { inlib = 0 }
                  inlib && /^path *=/ { gsub(/^path *= *"|"$/, ""); print }' "$dir/Cargo.toml")"
  mkdir -p "$dir/src"
  : >"$dir/src/lib.rs"
  if [ -n "$libpath" ]; then
    mkdir -p "$dir/$(dirname "$libpath")"
    : >"$dir/$libpath"
  fi
  if [ -n "$pkgsum" ]; then
    printf '{"files":{},"package":"%s"}' "$pkgsum" >"$dir/.cargo-checksum.json"
  else
    printf '{"files":{},"package":null}' >"$dir/.cargo-checksum.json"
  fi
}

kept=0
stubbed=0
for dir in "$work"/vendor/*/; do
  dir="${dir%/}"
  name="$(basename "$dir")"
  if grep -qxF "$name" "$work/needed"; then
    kept=$((kept + 1))
  else
    stub "$dir"
    stubbed=$((stubbed + 1))
  fi
done

# Every needed crate must be in the vendor folder, with real sources.
missing=0
while read -r name; do
  if [ ! -d "$work/vendor/$name" ]; then
    echo "vendor-crates: $name is needed but was not vendored" >&2
    missing=1
  fi
done <"$work/needed"
[ "$missing" -eq 0 ] || exit 1

mkdir -p "$(dirname "$out")"
# Reproducible archive: sorted names, fixed owner and time stamps.
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime='2000-01-01 00:00:00Z' -cf - vendor | xz -9e -T1 >"$work/vendor.tar.xz"
size="$(stat -c %s "$work/vendor.tar.xz")"
if [ "$size" -gt "$max_bytes" ]; then
  echo "vendor-crates: archive is $size bytes, over the $max_bytes budget" >&2
  exit 1
fi
mv "$work/vendor.tar.xz" "$out"
echo "vendor-crates: wrote ${out#"$root"/} ($size bytes): $kept crates, $stubbed stubs"
