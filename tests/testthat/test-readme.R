# The README's two commands and the deployment vignette's Dockerfile (issue 15).
# .ci/run runs the two commands from a fresh clone; these tests pin their form.
# Needs the package source, found as in test-vendor.R: $DSMHE_SOURCE_DIR (set by
# .ci/run and tools/check.sh), the source tree around tests/testthat, or R CMD
# check's copy; skipped only when none is there.

readme_source <- function() {
  env <- Sys.getenv("DSMHE_SOURCE_DIR")
  if (nzchar(env)) {
    if (!file.exists(file.path(env, "DESCRIPTION"))) {
      stop("DSMHE_SOURCE_DIR=", env, " holds no DESCRIPTION", call. = FALSE)
    }
    return(normalizePath(env))
  }
  for (dir in c(file.path("..", ".."), file.path("..", "..", "00_pkg_src", "dsMHE"))) {
    if (file.exists(file.path(dir, "README.md")) && file.exists(file.path(dir, "DESCRIPTION"))) {
      return(normalizePath(dir))
    }
  }
  NULL
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
