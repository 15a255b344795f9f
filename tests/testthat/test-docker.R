# The Rock image of inst/docker/ (issue 15): pinned base, two stages, no
# toolchain in the final image, the base image's user handling kept, and the
# deployment vignette showing this very file.

dockerfile_lines <- function() {
  path <- system.file("docker", "Dockerfile", package = "dsMHE", mustWork = TRUE)
  lines <- readLines(path, warn = FALSE)
  # instructions only: comments out, continuation lines joined
  lines <- lines[!grepl("^\\s*#", lines)]
  text <- paste(lines, collapse = "\n")
  text <- gsub("\\\\\n", " ", text)
  trimws(Filter(nzchar, strsplit(text, "\n", fixed = TRUE)[[1]]))
}

test_that("the Dockerfile pins its base image and builds in two stages from it", {
  lines <- dockerfile_lines()
  base <- sub("^ARG ROCK_BASE=", "", grep("^ARG ROCK_BASE=", lines, value = TRUE))
  expect_length(base, 1L)
  expect_match(base, "^datashield/rock-base:[0-9]+\\.[0-9]+\\.[0-9]+-R[0-9.]+$")
  from <- grep("^FROM ", lines, value = TRUE)
  expect_identical(from, c("FROM ${RUST_IMAGE} AS rust", "FROM ${ROCK_BASE} AS builder",
                           "FROM ${ROCK_BASE}"))
  expect_false(any(grepl("latest", lines, fixed = TRUE)))
})

test_that("the final stage copies only the installed library and keeps the entrypoint's user", {
  lines <- dockerfile_lines()
  final <- lines[seq(max(grep("^FROM ", lines)), length(lines))]
  expect_false(any(grepl("^USER ", final)))
  expect_false(any(grepl("^(ENTRYPOINT|CMD) ", final)))
  expect_false(any(grepl("cargo|rustup|rustc|build-essential|apt-get", final)))
  copies <- grep("^COPY ", final, value = TRUE)
  expect_identical(copies,
                   "COPY --from=builder --chown=rock /opt/dsmhe/library/ /var/lib/rock/R/library/")
  expect_identical(sum(grepl("^RUN ", final)), 0L)
})

test_that("the builder pins Rust at or above the package's minimum and loads the package", {
  lines <- dockerfile_lines()
  rust <- sub("^ARG RUST_IMAGE=rust:([0-9.]+)-.*$", "\\1",
              grep("^ARG RUST_IMAGE=rust:", lines, value = TRUE))
  expect_length(rust, 1L)
  req <- utils::packageDescription("dsMHE")$SystemRequirements
  need <- sub("rustc >= ", "", regmatches(req, regexpr("rustc >= [0-9]+\\.[0-9]+", req)))
  expect_length(need, 1L)
  expect_true(package_version(rust) >= package_version(need))
  expect_true(any(grepl("R CMD INSTALL --library=\"$DSMHE_LIB\"", lines, fixed = TRUE)))
  expect_true(any(grepl("ENV DSMHE_LIB=/opt/dsmhe/library ", lines, fixed = TRUE)))
  expect_true(any(grepl("library(dsMHE)", lines, fixed = TRUE)))
})
