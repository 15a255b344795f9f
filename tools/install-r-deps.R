# Installs the R packages dsMHE needs to build, test and check, on a fresh machine.
# DSI >= 1.6 needs R >= 4.3: on older R, DSI 1.5.0 comes from the CRAN archive.
repos <- getOption("repos")
if (is.null(repos) || identical(repos[["CRAN"]], "@CRAN@")) {
  stop("set options(repos = c(CRAN = <mirror>)) before running this script", call. = FALSE)
}
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
