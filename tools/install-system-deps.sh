#!/usr/bin/env bash
# Debian packages for building vignettes and checking the package; prebuilt R
# packages from Debian are far faster than compiling them from CRAN sources.
set -euo pipefail
# devscripts (checkbashisms, run on configure) and qpdf: `R CMD check --as-cran` needs both
pkgs=(pandoc r-cran-knitr r-cran-rmarkdown r-cran-roxygen2 r-cran-cli r-cran-rlang devscripts qpdf)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
