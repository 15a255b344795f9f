#!/usr/bin/env bash
# Tests ./configure through a real installation of the source tarball:
#  1. with no cargo anywhere (not on the PATH, not in ~/.cargo/bin), installation
#     stops at configure with the message to the server administrator;
#  2. with a Rust older than Cargo.toml's rust-version, the same, naming the version.
#  3. configure leaves out of PKG_LIBS a native library that the linker lacks.
# Usage: bash tools/test-configure.sh dsMHE_<version>.tar.gz
set -euo pipefail

tarball="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lib" "$work/home" "$work/shadow"
r_bin="$(dirname "$(command -v R)")"

# A PATH without cargo or rustc: directories that hold them are replaced by a
# shadow directory with links to everything else in them.
new_path=""
i=0
IFS=: read -r -a dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  [ -d "$dir" ] || continue
  if [ -e "$dir/cargo" ] || [ -e "$dir/rustc" ]; then
    i=$((i + 1))
    mkdir -p "$work/shadow/$i"
    for f in "$dir"/*; do
      case "$(basename "$f")" in cargo* | rustc* | rustup*) continue ;; esac
      ln -s "$f" "$work/shadow/$i/"
    done
    dir="$work/shadow/$i"
  fi
  new_path="${new_path:+$new_path:}$dir"
done

fail() { echo "test-configure: FAIL: $*" >&2; exit 1; }

# The libraries R sees now (the personal one under HOME included, where the
# dependencies may have been installed): the empty HOME below must not hide them,
# or the installation would stop at a missing dependency before configure runs.
libs="$("$r_bin/Rscript" -e 'cat(.libPaths(), sep = ":")')"

# install_with PATH: runs R CMD INSTALL with an empty HOME, no CARGO_HOME; prints the log
install_with() {
  env -u CARGO_HOME -u RUSTUP_HOME HOME="$work/home" PATH="$1" R_LIBS="$libs" \
    "$r_bin/R" CMD INSTALL --no-test-load -l "$work/lib" "$tarball" >"$work/log" 2>&1 &&
    return 0
  return 1
}

echo "test-configure: 1. no cargo on the PATH nor in ~/.cargo/bin"
if env PATH="$new_path" HOME="$work/home" sh -c 'command -v cargo' >/dev/null 2>&1; then
  fail "could not hide cargo from the PATH"
fi
if install_with "$new_path"; then
  cat "$work/log"; fail "installation succeeded without cargo"
fi
grep -q "dsMHE cannot be installed: cargo (Rust's package manager) was not found" "$work/log" ||
  { cat "$work/log"; fail "no administrator message"; }
grep -q "To the server administrator" "$work/log" && grep -q "Debian / Ubuntu" "$work/log" &&
  grep -q "RHEL" "$work/log" && grep -q "rustup" "$work/log" ||
  { cat "$work/log"; fail "administrator message incomplete"; }
grep -q "ERROR: configuration failed for package" "$work/log" ||
  { cat "$work/log"; fail "installation did not stop at configure"; }
[ ! -e "$work/lib/dsMHE" ] || fail "a package was installed"
sed -n '/^----/,/^----/p' "$work/log" | head -n 4

echo "test-configure: 2. a Rust toolchain older than the minimum"
mkdir -p "$work/old"
for tool in cargo rustc; do
  printf '#!/bin/sh\necho "%s 1.75.0 (82e1608df 2023-12-21)"\n' "$tool" >"$work/old/$tool"
  chmod +x "$work/old/$tool"
done
if install_with "$work/old:$new_path"; then
  cat "$work/log"; fail "installation succeeded with rustc 1.75"
fi
grep -q "dsMHE cannot be installed: rustc 1.75.0 (.*) is older than 1\.[0-9]*\." "$work/log" ||
  { cat "$work/log"; fail "no message about the old rustc"; }
grep "dsMHE cannot be installed" "$work/log"

echo "test-configure: 3. a native library the linker lacks is left out of PKG_LIBS"
# configure only, in an unpacked copy of the tarball, with a rustc that names
# one more native library (one no linker has) for static libraries.
real_rustc="$(command -v rustc || echo "$HOME/.cargo/bin/rustc")"
real_cargo="$(command -v cargo || echo "$HOME/.cargo/bin/cargo")"
mkdir -p "$work/extra" "$work/src"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$real_cargo" >"$work/extra/cargo"
{
  echo '#!/bin/sh'
  echo 'case " $* " in'
  echo '  *" --print native-static-libs "*)'
  echo "    \"$real_rustc\" \"\$@\" 2>&1 | sed 's/native-static-libs: /native-static-libs: -ldsmhe_no_such_library /' >&2 ;;"
  echo "  *) exec \"$real_rustc\" \"\$@\" ;;"
  echo 'esac'
} >"$work/extra/rustc"
chmod +x "$work/extra/cargo" "$work/extra/rustc"
tar -xzf "$tarball" -C "$work/src"
(cd "$work/src/dsMHE" && PATH="$work/extra:$PATH" ./configure) >"$work/log" 2>&1 ||
  { cat "$work/log"; fail "configure failed"; }
grep -q "the linker does not take -ldsmhe_no_such_library: left out" "$work/log" ||
  { cat "$work/log"; fail "no message about the library left out"; }
libs="$(sed -n 's/^PKG_LIBS = //p' "$work/src/dsMHE/src/Makevars")"
case "$libs" in
  *dsmhe_no_such_library*) fail "PKG_LIBS keeps a library the linker lacks: $libs" ;;
  *-lpthread*) echo "PKG_LIBS = $libs" ;;
  *) fail "PKG_LIBS lost the native libraries: $libs" ;;
esac

echo "test-configure: OK"
