# A malicious analyst: server functions called directly, through
# DSI::datashield.aggregate / datashield.assign.expr, with blobs built and
# relayed by hand with the Rust bindings (`dsMHE:::rs_*`). Every attack must
# fail with an error naming the rule, and the session must still answer a
# normal query, equal to base R, afterwards. See also test-direct-calls.R
# (malformed blobs, a plain replay, a request of another session).
#
# DSLite caveat: all sites run in this one R process and share `options()`,
# so a server option set here (mhe.min.parties, mhe.peers) is set at every
# site at once. A site reads `mhe.min.parties` and `mhe.peers` when it joins
# the roster (mheJoinDS), so the options are set before setup, after login
# (a DSLite login applies the defaults declared in inst/DATASHIELD).

test_that("one site's contribution cannot be decrypted alone", {
  conns <- federation("cnsim")
  # a query naming one site only is refused before anything is encrypted
  query <- dsMHE:::rs_random_id()
  expect_refused(conns["sim1"], call("mheMeanDS", "D$LAB_TSC", query, "sim1"),
                 "sim1: refused: .*mhe.min.parties is 2")
  # the client library will not pool one contribution of a three-site query
  c1 <- mean_contributions(conns)
  err <- expect_error(dsMHE:::rs_call(dsMHE:::rs_pool(unname(c1$blobs[1]), "sim1")),
                      class = "dsMHE_error_crypto")
  expect_match(conditionMessage(err), "missing: sim2, sim3")
  # the whole pool decrypted by one site alone is refused (N-of-N)
  r <- pool_request(c1$blobs, "sim1")
  expect_refused(conns["sim1"], decrypt_call(c1$query, r$request),
                 "sim1: refused: without a threshold every roster site must decrypt")
  still_works(conns)
})

test_that("a set below the sites' mhe.min.parties is refused, also in a t-of-N session", {
  conns <- fresh_federation(setup = FALSE)
  withr_options <- options(mhe.min.parties = 3L, mhe.min.threshold = 2L)
  on.exit(options(withr_options))
  suppressWarnings(ds.mheSetup(conns, threshold = 2))
  # two sites would be enough to decrypt (threshold 2), not to contribute
  query <- dsMHE:::rs_random_id()
  errors <- expect_site_error(
    DSI::datashield.aggregate(conns[c("sim1", "sim2")],
                              call("mheMeanDS", "D$LAB_TSC", query, "sim1,sim2")),
    conns, "refused: the query names 2 sites; mhe.min.parties is 3"
  )
  expect_named(errors, c("sim1", "sim2"))
  # three contribute, any two decrypt: allowed, and exact
  c3 <- mean_contributions(conns)
  expect_pooled_sum(conns, c3$query, c3$blobs, sum(pooled(conns)$LAB_TSC, na.rm = TRUE),
                    decryptors = c("sim1", "sim3"))
  # the client knows mhe.min.parties too: with one site down, two are too few
  DSI::datashield.rm(conns["sim3"], "D")
  err <- expect_error(ds.mheMean("D$LAB_TSC", datasources = conns), class = "dsMHE_error_dropout")
  expect_match(conditionMessage(err), "2, 3 needed")
  restore_table(conns, "sim3")
  still_works(conns)
})

test_that("a decryption request is served once per query, whatever its form", {
  conns <- federation("cnsim")
  c1 <- mean_contributions(conns)
  first <- pool_request(c1$blobs, names(conns))
  DSI::datashield.aggregate(conns, decrypt_call(c1$query, first$request))
  # the same contributions pooled again give a request of other bytes
  again <- pool_request(c1$blobs, names(conns))
  expect_refused(conns, decrypt_call(c1$query, again$request),
                 "refused: this query was already decrypted \\(replay\\)")
  # the query id cannot be reused for a fresh contribution either
  expect_refused(conns, call("mheMeanDS", "D$LAB_TSC", c1$query, "sim1,sim2,sim3"),
                 "refused: this query id was already used")
  still_works(conns)
})

test_that("a t-of-N site never decrypts one query for two sets of decrypting sites", {
  conns <- federation("four")
  c4 <- mean_contributions(conns)
  expect_pooled_sum(conns, c4$query, c4$blobs, sum(pooled(conns)$age, na.rm = TRUE))
  # the same contributions, now to be decrypted by three of the four
  three <- pool_request(c4$blobs, c("site1", "site2", "site3"))
  errors <- expect_site_error(
    DSI::datashield.aggregate(conns[1:3], decrypt_call(c4$query, three$request)),
    conns, "refused: this query was already decrypted \\(replay\\)"
  )
  expect_named(errors, c("site1", "site2", "site3"))
  still_works(conns)
})

test_that("a contribution cannot be counted in two different sums", {
  # a fresh federation: the contributions over three sites below tie D$age to
  # that set in the sites' ledgers
  conns <- fresh_four()
  pool_error <- function(blobs, decryptors = names(conns)) {
    expect_error(dsMHE:::rs_call(dsMHE:::rs_pool(unname(blobs), decryptors)),
                 class = "dsMHE_error_crypto")
  }
  c4 <- mean_contributions(conns)
  # a sum over three of the four sites the contributions were made for
  expect_match(conditionMessage(pool_error(c4$blobs[1:3], names(conns)[1:3])), "missing: site4")
  # one contribution counted twice (the sum scaled by 2 for that site)
  expect_match(conditionMessage(pool_error(c(c4$blobs, c4$blobs[2]))), "repeated")
  # site1's contribution reused in another query over another set
  other <- mean_contributions(conns[2:4], sites = names(conns)[2:4], x = "D$bmi")
  expect_match(conditionMessage(pool_error(c(c4$blobs[1], other$blobs), names(conns)[2:4])),
               "belongs to another query")
  # the untouched query still decrypts exactly once, to the true sum
  expect_pooled_sum(conns, c4$query, c4$blobs, sum(pooled(conns)$age, na.rm = TRUE))
  still_works(conns)
})

test_that("a modified (scaled, subtracted) contribution is refused by every site", {
  conns <- federation("cnsim")
  c1 <- mean_contributions(conns)
  blob <- c1$blobs$sim1
  # change one bit of the ciphertext (just before the 64-byte signature);
  # a flip that puts a residue above its modulus is refused by the parser
  tampered <- NULL
  for (offset in seq(length(blob) - 70L, by = -37L, length.out = 40L)) {
    candidate <- blob
    candidate[offset] <- xor(candidate[offset], as.raw(1L))
    pool <- dsMHE:::rs_pool(unname(c(list(candidate), c1$blobs[-1])), names(conns))
    if (!inherits(pool, "extendr_error")) {
      tampered <- pool
      break
    }
  }
  expect_false(is.null(tampered))
  request <- dsMHE:::rs_b64_encode(tampered$request)
  errors <- expect_site_error(DSI::datashield.aggregate(conns, decrypt_call(c1$query, request)),
                              conns, "contribution from 'sim1' is not signed by the roster key")
  expect_named(errors, names(conns))
  # the honest pool of the same query is still served, and exact
  expect_pooled_sum(conns, c1$query, c1$blobs, sum(pooled(conns)$LAB_TSC, na.rm = TRUE))
  still_works(conns)
})

test_that("fabricated contributions from parties the analyst runs are refused", {
  conns <- federation("cnsim")
  session <- dsMHE:::mhe_session_get(conns)$session
  # a bare party of the analyst's own cannot contribute at all
  bare <- dsMHE:::rs_party_new("sim2", session, "default")
  err <- expect_error(dsMHE:::rs_call(dsMHE:::rs_party_contribute(
    bare, dsMHE:::rs_random_id(), "mean", "mheMeanDS(x = D$x)", "D$x", names(conns), c(1, 1, 0)
  )), class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), "refused: key generation is not finished")
  # a whole federation simulated by the analyst, same site names and session
  fake <- local_federation(names(conns), session = session)
  c1 <- mean_contributions(conns)
  forged <- local_contributions(fake, c1$query, c(1e6, 1, 0))
  r <- pool_request(forged, names(conns))
  expect_refused(conns, decrypt_call(c1$query, r$request),
                 "refused: the request was made for another roster")
  # one forged contribution among real ones does not even pool
  mixed <- c(c1$blobs[c("sim1", "sim3")], forged["sim2"])
  err <- expect_error(dsMHE:::rs_call(dsMHE:::rs_pool(unname(mixed), names(conns))),
                      class = "dsMHE_error_crypto")
  expect_match(conditionMessage(err), "belongs to another query")
  still_works(conns)
})

test_that("a site outside the roster cannot take part in a query", {
  conns <- federation("cnsim")
  query <- dsMHE:::rs_random_id()
  expect_refused(conns, call("mheMeanDS", "D$LAB_TSC", query, "sim1,sim2,sim3,evil"),
                 "refused: 'evil' is not in the roster")
  # nor can a site of the roster be named twice to reach mhe.min.parties
  expect_refused(conns["sim1"], call("mheMeanDS", "D$LAB_TSC", dsMHE:::rs_random_id(), "sim1,sim1"),
                 "refused: the list of sites names a site twice")
  still_works(conns)
})

test_that("contributions of two sessions or two queries do not pool", {
  a <- federation("cnsim")
  b <- federation("four")
  ca <- mean_contributions(a)
  cb <- mean_contributions(b)
  err <- expect_error(dsMHE:::rs_call(dsMHE:::rs_pool(unname(c(ca$blobs, cb$blobs)), names(a))),
                      class = "dsMHE_error_crypto")
  expect_match(conditionMessage(err), "session", ignore.case = TRUE)
  # a request of one session is refused by the other's sites
  r <- pool_request(ca$blobs, names(a))
  expect_site_error(DSI::datashield.aggregate(b, decrypt_call(ca$query, r$request)),
                    b, "site1: .*session")
  # two queries of one session
  c2 <- mean_contributions(a)
  err <- expect_error(dsMHE:::rs_call(dsMHE:::rs_pool(unname(c(ca$blobs[1:2], c2$blobs[3])), names(a))),
                      class = "dsMHE_error_crypto")
  expect_match(conditionMessage(err), "belongs to another query")
  still_works(a)
  still_works(b)
})

test_that("with mhe.peers set, a roster with a substituted member is refused", {
  conns <- fresh_federation(setup = FALSE)
  sites <- names(conns)
  # setup by hand, to pin the fingerprints between identities and join
  session <- dsMHE:::rs_random_id()
  DSI::datashield.assign.expr(conns, "mhe.party", dsMHE:::mhe_calls(conns, function(site) {
    call("mheInitDS", session, "default", site)
  }))
  ids <- DSI::datashield.aggregate(conns, call("mheIdentityDS"))[sites]
  roster <- dsMHE:::rs_roster_build(unname(ids))
  fingerprints <- dsMHE:::rs_roster_info(roster)$fingerprint
  old <- options(mhe.peers = paste(fingerprints, collapse = ","))
  on.exit(options(old))
  # the analyst replaces sim2 by a party of its own, under the same name
  impostor <- dsMHE:::rs_party_new("sim2", session, "default")
  forged <- dsMHE:::rs_roster_build(list(ids$sim1, dsMHE:::rs_party_identity(impostor), ids$sim3))
  forged_arg <- dsMHE:::rs_b64_encode(forged)
  errors <- expect_site_error(DSI::datashield.aggregate(conns, call("mheJoinDS", forged_arg, 0L)),
                              conns, "roster member 'sim2' \\(key [0-9a-f]+\\) is not among the peers pinned in mhe.peers")
  expect_match(errors$sim2, "sim2: refused: site 'sim2' with its own key is not in the roster")
  # the genuine roster is accepted, and each site reports that it is pinned
  joined <- DSI::datashield.aggregate(conns, call("mheJoinDS", dsMHE:::rs_b64_encode(roster), 0L))
  expect_true(all(vapply(joined, `[[`, TRUE, "pinned")))
  shares <- unname(lapply(joined[sites], `[[`, "share"))
  bundles <- dsMHE:::rs_keygen_bundles(shares)
  bundle_arg <- dsMHE:::mhe_send_blobs(conns, bundles[sites])
  evaluations <- DSI::datashield.aggregate(conns, dsMHE:::mhe_calls(conns, function(site) {
    call("mheFinalizeDS", bundle_arg[[site]])
  }))
  checked <- dsMHE:::rs_keygen_evaluations(shares, unname(evaluations[sites]))
  confirmations <- DSI::datashield.aggregate(
    conns, call("mheConfirmDS", dsMHE:::rs_b64_encode(checked))
  )
  key <- dsMHE:::rs_confirmations_check(unname(confirmations[sites]))
  dsMHE:::mhe_session_set(structure(list(
    session = session, sites = sites, params = "default", threshold = 3L,
    fingerprints = stats::setNames(fingerprints, sites), key = key,
    pinned = stats::setNames(rep(TRUE, 3), sites)
  ), class = "mhe_session"), conns)
  still_works(conns)
  # Limitation: a site's signing key is made afresh for every session
  # (mheInitDS), so a new setup under the same pins is refused by every site:
  # pinning in this form holds for one session only.
  err <- expect_error(ds.mheSetup(conns), class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), "not among the peers pinned in mhe.peers")
  options(old)
  suppressWarnings(ds.mheSetup(conns))
  # D$LAB_TSC went to the pinned members, known in the ledger by their keys of
  # that session: the sites now count these as another set, and refuse it
  expect_error(ds.mheMean("D$LAB_TSC", datasources = conns),
               class = "dsMHE_error_refused_set_changed")
  still_works(conns, "D$LAB_HDL")
})

test_that("one query cannot mix contributions computed from different arguments", {
  # Summing D$LAB_TSC at two sites and D$LAB_HDL at the third, then subtracting
  # an honest D$LAB_TSC query, would give one site's aggregate. Each
  # contribution is signed over a digest of its server call's arguments, so the
  # mixed contributions do not pool, and a request relabelled to pool them is
  # refused by every site.
  conns <- federation("cnsim")
  query <- dsMHE:::rs_random_id()
  calls <- dsMHE:::mhe_calls(conns, function(site) {
    x <- if (site == "sim2") "D$LAB_HDL" else "D$LAB_TSC"
    call("mheMeanDS", x, query, "sim1,sim2,sim3")
  })
  blobs <- DSI::datashield.aggregate(conns, calls)
  err <- expect_error(dsMHE:::rs_call(dsMHE:::rs_pool(unname(blobs), names(conns))),
                      class = "dsMHE_error")
  expect_match(conditionMessage(err), "'sim2' was computed from other arguments")
  # The audit log would name what each site computed.
  still_works(conns)
  audit <- ds.mheAudit(datasources = conns)
  expect_true(any(grepl('mheMeanDS(x = "D$LAB_TSC")', audit$call, fixed = TRUE)))
})
