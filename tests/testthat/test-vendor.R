# The source package builds offline from src/rust/vendor.tar.xz (see tools/README.md):
# the archive must hold exactly the registry crates of Cargo.lock, with the same
# versions and checksums. Regenerate it with `bash tools/vendor-crates.sh`.
#
# Needs the package source: $DSMHE_SOURCE_DIR (set by .ci/run and tools/check.sh),
# else the source tree around tests/testthat (devtools::test()), else the copy that
# R CMD check keeps in dsMHE.Rcheck/00_pkg_src. Skipped only when none is there.

find_package_source <- function() {
  env <- Sys.getenv("DSMHE_SOURCE_DIR")
  if (nzchar(env)) {
    # when CI says where the source is, it must be there: never skip
    if (!file.exists(file.path(env, "Cargo.lock"))) {
      stop("DSMHE_SOURCE_DIR=", env, " holds no Cargo.lock", call. = FALSE)
    }
    return(normalizePath(env))
  }
  candidates <- c(
    file.path("..", ".."),
    file.path("..", "..", "00_pkg_src", "dsMHE")
  )
  for (dir in candidates) {
    if (file.exists(file.path(dir, "Cargo.lock")) &&
        file.exists(file.path(dir, "DESCRIPTION"))) {
      return(normalizePath(dir))
    }
  }
  NULL
}

# Registry packages of Cargo.lock: data frame name, version, checksum.
lock_registry_crates <- function(path) {
  lines <- readLines(path, warn = FALSE)
  starts <- which(lines == "[[package]]")
  ends <- c(starts[-1] - 1L, length(lines))
  field <- function(block, key) {
    hit <- grep(paste0("^", key, " = \""), block, value = TRUE)
    if (length(hit)) sub(paste0("^", key, " = \"(.*)\"$"), "\\1", hit[[1]]) else NA_character_
  }
  rows <- lapply(seq_along(starts), function(i) {
    block <- lines[starts[i]:ends[i]]
    data.frame(
      name = field(block, "name"), version = field(block, "version"),
      source = field(block, "source"), checksum = field(block, "checksum"),
      stringsAsFactors = FALSE
    )
  })
  crates <- do.call(rbind, rows)
  crates <- crates[!is.na(crates$source) & startsWith(crates$source, "registry+"), ]
  crates[order(crates$name, crates$version), c("name", "version", "checksum")]
}

# Crates in the archive, read from each vendor/<dir>/Cargo.toml [package] section
# and .cargo-checksum.json: data frame dir, name, version, checksum.
archive_crates <- function(archive) {
  listing <- utils::untar(archive, list = TRUE, tar = "internal")
  wanted <- grep("^vendor/[^/]+/(Cargo\\.toml|\\.cargo-checksum\\.json)$", listing, value = TRUE)
  exdir <- tempfile("vendor-test")
  on.exit(unlink(exdir, recursive = TRUE), add = TRUE)
  utils::untar(archive, files = wanted, exdir = exdir, tar = "internal")
  dirs <- unique(sub("^vendor/([^/]+)/.*$", "\\1", grep("^vendor/[^/]+/", listing, value = TRUE)))
  rows <- lapply(dirs, function(dir) {
    manifest <- file.path(exdir, "vendor", dir, "Cargo.toml")
    checksum_file <- file.path(exdir, "vendor", dir, ".cargo-checksum.json")
    name <- version <- checksum <- NA_character_
    if (file.exists(manifest)) {
      toml <- readLines(manifest, warn = FALSE)
      start <- match("[package]", toml)
      if (!is.na(start)) {
        rest <- toml[-seq_len(start)]
        next_section <- grep("^\\[", rest)
        section <- if (length(next_section)) rest[seq_len(next_section[1] - 1L)] else rest
        get <- function(key) {
          hit <- grep(paste0("^", key, " *= *\""), section, value = TRUE)
          if (length(hit)) sub(paste0("^", key, " *= *\"(.*)\"$"), "\\1", hit[[1]]) else NA_character_
        }
        name <- get("name")
        version <- get("version")
      }
    }
    if (file.exists(checksum_file)) {
      json <- paste(readLines(checksum_file, warn = FALSE), collapse = "")
      if (grepl("\"package\":\"[0-9a-f]+\"", json)) {
        checksum <- sub(".*\"package\":\"([0-9a-f]+)\".*", "\\1", json)
      }
    }
    data.frame(dir = dir, name = name, version = version, checksum = checksum,
               stringsAsFactors = FALSE)
  })
  crates <- do.call(rbind, rows)
  crates[order(crates$name, crates$version), ]
}

test_that("the vendored crates archive matches Cargo.lock", {
  src <- find_package_source()
  if (is.null(src)) {
    skip("package source (Cargo.lock) not found; set DSMHE_SOURCE_DIR")
  }
  archive <- file.path(src, "src", "rust", "vendor.tar.xz")
  expect_true(file.exists(archive), label = "src/rust/vendor.tar.xz exists")
  skip_if_not(file.exists(archive))
  refresh <- "regenerate it: bash tools/vendor-crates.sh (see tools/README.md)"

  lock <- lock_registry_crates(file.path(src, "Cargo.lock"))
  vendored <- archive_crates(archive)
  expect_gt(nrow(lock), 0)

  lock_ids <- paste(lock$name, lock$version)
  vendored_ids <- paste(vendored$name, vendored$version)
  missing <- setdiff(lock_ids, vendored_ids)
  extra <- setdiff(vendored_ids, lock_ids)
  expect(
    length(missing) == 0,
    sprintf("in Cargo.lock but not in the archive: %s; %s",
            paste(missing, collapse = ", "), refresh)
  )
  expect(
    length(extra) == 0,
    sprintf("in the archive but not in Cargo.lock: %s; %s",
            paste(extra, collapse = ", "), refresh)
  )
  expect(
    !anyNA(vendored$name) && !anyDuplicated(vendored_ids),
    sprintf("unreadable or duplicated crates in the archive: %s; %s",
            paste(vendored$dir[is.na(vendored$name) | duplicated(vendored_ids)],
                  collapse = ", "), refresh)
  )
  expect_identical(vendored$dir, paste0(vendored$name, "-", vendored$version))

  both <- merge(lock, vendored, by = c("name", "version"), suffixes = c(".lock", ".vendor"))
  differ <- both[is.na(both$checksum.vendor) | both$checksum.lock != both$checksum.vendor, ]
  expect(
    nrow(differ) == 0,
    sprintf("checksums differ between Cargo.lock and the archive for: %s; %s",
            paste(differ$name, differ$version, collapse = ", "), refresh)
  )
})
