# The README's two commands and the deployment vignette's Dockerfile (issue 15).
# .ci/run runs the two commands from a fresh clone; these tests pin their form.
# Needs the repository (tools/ and .ci/ are not in the source package):
# $DSMHE_SOURCE_DIR (set by .ci/run and tools/check.sh), else the checkout around
# tests/testthat; skipped only when neither is there (a check of the tarball alone).

readme_files <- c("README.md", "DESCRIPTION", ".ci/run", "tools/install-r-deps.R")

readme_source <- function() {
  env <- Sys.getenv("DSMHE_SOURCE_DIR")
  if (nzchar(env)) {
    # when CI says where the repository is, it must be there: never skip
    missing <- readme_files[!file.exists(file.path(env, readme_files))]
    if (length(missing)) {
      stop("DSMHE_SOURCE_DIR=", env, " lacks ", paste(missing, collapse = ", "), call. = FALSE)
    }
    return(normalizePath(env))
  }
  dir <- file.path("..", "..")
  if (all(file.exists(file.path(dir, readme_files)))) normalizePath(dir)
}

readme_commands <- function(src) {
  lines <- readLines(file.path(src, "README.md"), warn = FALSE)
  start <- match("```bash", lines)
  end <- start + match("```", lines[-seq_len(start)])
  lines[seq(start + 1L, end - 1L)]
}

test_that("the README's first command installs the R dependencies and the package and runs the demo", {
  src <- readme_source()
  skip_if(is.null(src), "package source not found")
  commands <- readme_commands(src)
  expect_length(commands, 2L)
  first <- strsplit(commands[1], " && ", fixed = TRUE)[[1]]
  expect_identical(first, c("Rscript tools/install-r-deps.R", "R CMD INSTALL .",
                            "Rscript inst/scripts/pooled-mean.R"))
  for (f in c("tools/install-r-deps.R", "inst/scripts/pooled-mean.R")) {
    expect_true(file.exists(file.path(src, f)), label = f)
  }
  deps <- readLines(file.path(src, "tools/install-r-deps.R"))
  imports <- c("DSI", "DSLite", "cli", "rlang", "testthat", "knitr", "rmarkdown", "survival")
  for (pkg in imports) expect_true(any(grepl(paste0("\"", pkg, "\""), deps)), label = pkg)
})

test_that("the README's second command installs the system packages and runs the check", {
  src <- readme_source()
  skip_if(is.null(src), "package source not found")
  second <- strsplit(readme_commands(src)[2], " && ", fixed = TRUE)[[1]]
  expect_identical(second, c("bash tools/install-system-deps.sh", "bash tools/check.sh"))
  ci <- readLines(file.path(src, ".ci", "run"))
  expect_true(any(grepl("git clone", ci, fixed = TRUE)))
  expect_true(any(grepl("R_LIBS_USER=\"$fresh/user-lib\"", ci, fixed = TRUE)))
})

test_that("the deployment vignette shows the shipped Dockerfile, read from the file", {
  src <- readme_source()
  skip_if(is.null(src), "package source not found")
  vignette <- readLines(file.path(src, "vignettes", "deployment-opal.Rmd"))
  expect_true(any(grepl("file.path(\"..\", \"inst\", \"docker\", \"Dockerfile\")", vignette, fixed = TRUE)))
  expect_true(any(grepl("system.file(\"docker\", \"Dockerfile\", package = \"dsMHE\"", vignette, fixed = TRUE)))
  # no Dockerfile copied into the text, which could drift from the file
  expect_false(any(grepl("^(FROM|RUN|COPY|USER) ", vignette)))
  expect_identical(readLines(file.path(src, "inst", "docker", "Dockerfile")),
                   readLines(system.file("docker", "Dockerfile", package = "dsMHE")))
})
