# Disclosure settings, read in one place ------------------------------------
#
# dsBase's order: the admin's value (`nfilter.tab`), then the package default
# declared in inst/DATASHIELD (`default.nfilter.tab`), then the built-in value.

nfilter_defaults <- list(
  nfilter.tab = 3,
  nfilter.subset = 3,
  nfilter.glm = 0.33,
  nfilter.string = 80,
  nfilter.stringShort = 20,
  nfilter.kNN = 3,
  nfilter.levels.density = 0.33,
  nfilter.levels.max = 40,
  nfilter.noise = 0.25
)

mhe_nfilter <- function(name) {
  stopifnot(name %in% names(nfilter_defaults))
  value <- getOption(name) %||%
    getOption(paste0("default.", name)) %||%
    nfilter_defaults[[name]]
  value <- suppressWarnings(as.numeric(value)[1])
  if (is.na(value) || value < 0) nfilter_defaults[[name]] else value
}

# The site's minimum number of contributing sites (option `mhe.min.parties`).
mhe_min_parties <- function() {
  value <- suppressWarnings(as.integer(getOption("mhe.min.parties", 2L))[1])
  if (is.na(value) || value < 2L) 2L else value
}

# Fingerprints the site admin pinned (option `mhe.peers`), character(0) if none.
mhe_pinned_peers <- function() {
  value <- getOption("mhe.peers")
  if (is.null(value) || all(is.na(value))) {
    return(character())
  }
  value <- trimws(unlist(strsplit(as.character(value), "[,[:space:]]+")))
  value[nzchar(value)]
}
