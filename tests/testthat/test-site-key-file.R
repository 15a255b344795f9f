# A site's long-term signing key (option `mhe.key.file`): its fingerprint is the
# same in every session, so peers pin it once. DSLite runs all sites in one R
# process with one set of options(), so a federation cannot give each site its
# own key file; these tests drive the parties through the bindings as the
# server functions do, and mheInitDS() for one site.

key_files <- function(n) {
  paths <- file.path(withr_tempdir(), paste0("site", seq_len(n), ".key"))
  fps <- vapply(paths, mheKeyCreate, "")
  list(paths = paths, fps = unname(fps))
}

withr_tempdir <- function() {
  dir <- tempfile("mhe-keys-")
  dir.create(dir, mode = "0700")
  dir
}

roster_join <- function(parties, pinned) {
  ids <- lapply(parties, function(p) dsMHE:::rs_call(dsMHE:::rs_party_identity(p)))
  roster <- dsMHE:::rs_call(dsMHE:::rs_roster_build(ids))
  lapply(seq_along(parties), function(i) {
    tryCatch(
      dsMHE:::rs_call(dsMHE:::rs_party_join(parties[[i]], roster, 0L, 2L, -1L, pinned[[i]],
                                            FALSE, "")),
      dsMHE_error = function(e) e
    )
  })
}

test_that("a key file gives the same fingerprint in every session", {
  keys <- key_files(3)
  for (round in 1:2) {
    session <- dsMHE:::rs_random_id()
    parties <- lapply(1:3, function(i) {
      dsMHE:::rs_party_new(paste0("site", i), session, "default", keys$paths[i])
    })
    got <- vapply(parties, dsMHE:::rs_party_fingerprint, "")
    expect_identical(got, keys$fps)
    expect_identical(vapply(keys$paths, mheKeyFingerprint, "", USE.NAMES = FALSE), keys$fps)
    # Every site pins the other two: the roster of the same three keys is accepted.
    pinned <- lapply(1:3, function(i) keys$fps[-i])
    joined <- roster_join(parties, pinned)
    expect_true(all(vapply(joined, is.raw, TRUE)))
  }
})

test_that("with pinned peers, a substituted member is refused in a later session", {
  keys <- key_files(3)
  session <- dsMHE:::rs_random_id()
  parties <- lapply(1:2, function(i) {
    dsMHE:::rs_party_new(paste0("site", i), session, "default", keys$paths[i])
  })
  # site3 replaced by a party the analyst made, with a fresh key, same name.
  parties[[3]] <- dsMHE:::rs_party_new("site3", session, "default")
  pinned <- list(keys$fps[-1], keys$fps[-2], character())
  joined <- roster_join(parties, pinned)
  for (i in 1:2) {
    expect_s3_class(joined[[i]], "dsMHE_error_refused_pin_mismatch")
    expect_match(conditionMessage(joined[[i]]), "site3.*not among the peers pinned")
  }
})

test_that("mheInitDS() signs with the key file named by mhe.key.file", {
  keys <- key_files(1)
  old <- options(mhe.key.file = keys$paths[1])
  on.exit(options(old))
  env <- new.env()
  party <- local(mheInitDS(dsMHE:::rs_random_id(), "default", "siteA"), envir = env)
  expect_identical(dsMHE:::rs_party_fingerprint(party), keys$fps[1])
})

test_that("key files are never overwritten, and unsafe or broken ones are refused", {
  keys <- key_files(1)
  expect_error(mheKeyCreate(keys$paths[1]), class = "dsMHE_error")
  expect_error(mheKeyCreate(NA_character_), class = "dsMHE_error_input")
  Sys.chmod(keys$paths[1], "0644")
  expect_error(mheKeyFingerprint(keys$paths[1]), "chmod 600")
  old <- options(mhe.key.file = keys$paths[1])
  on.exit(options(old))
  err <- expect_error(
    local(mheInitDS(dsMHE:::rs_random_id(), "default", "siteA"), envir = new.env()),
    class = "dsMHE_error"
  )
  expect_match(conditionMessage(err), "siteA")
  broken <- file.path(dirname(keys$paths[1]), "broken.key")
  writeLines("not a key", broken)
  Sys.chmod(broken, "0600")
  expect_error(mheKeyFingerprint(broken), "not a dsMHE key file")
  expect_error(mheKeyFingerprint(file.path(dirname(broken), "missing.key")), "site key file")
})
