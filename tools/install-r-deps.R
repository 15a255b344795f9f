# Installs the R packages dsMHE needs to build, test and check, on a fresh machine.
# DSI >= 1.6 needs R >= 4.3: on older R, DSI 1.5.0 comes from the CRAN archive.
# Packages already installed in any library (site or user) are used as they are;
# missing ones go to the personal library.
repos <- getOption("repos")
if (is.null(repos) || identical(unname(repos["CRAN"]), "@CRAN@")) {
  # No mirror set: take the first of the list R ships with itself (no host is
  # written here), as install.packages() would suggest it first.
  utils::chooseCRANmirror(graphics = FALSE, ind = 1L,
                          local.only = TRUE)
  repos <- getOption("repos")
  message("CRAN mirror not set: using ", repos[["CRAN"]])
}
# R adds the personal library (R_LIBS_USER) to .libPaths() only when it exists at
# start-up: create it, so that the missing packages here, and dsMHE in the README's
# next step (R CMD INSTALL .), go there rather than into the site library that
# other users share (or fail, when the site library is not writable).
user_lib <- strsplit(Sys.getenv("R_LIBS_USER"), .Platform$path.sep, fixed = TRUE)[[1]]
if (length(user_lib) && nzchar(user_lib[1])) {
  user_lib <- path.expand(user_lib[1])
  dir.create(user_lib, recursive = TRUE, showWarnings = FALSE)
  .libPaths(c(user_lib, .libPaths()))
}
message("R libraries: ", paste(.libPaths(), collapse = ", "))
have <- function(pkg, version = "0") {
  nzchar(system.file(package = pkg)) &&
    utils::packageVersion(pkg) >= version
}
need <- function(pkgs) {
  missing <- pkgs[!vapply(pkgs, have, logical(1))]
  if (length(missing)) install.packages(missing, Ncpus = 2L)
}
need(c("R6", "progress", "cli", "rlang", "testthat", "knitr", "rmarkdown", "survival"))
if (!have("DSI")) {
  if (getRversion() >= "4.3.0") {
    install.packages("DSI")
  } else {
    install.packages(
      paste0(repos[["CRAN"]], "/src/contrib/Archive/DSI/DSI_1.5.0.tar.gz"),
      repos = NULL, type = "source"
    )
  }
}
need("DSLite")
stopifnot(have("DSI"), have("DSLite"))
message("R dependencies: DSI ", utils::packageVersion("DSI"),
        ", DSLite ", utils::packageVersion("DSLite"))
