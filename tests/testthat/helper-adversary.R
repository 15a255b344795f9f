# The hand-crafting analyst: server functions called directly, blobs built
# and relayed with the package's own Rust bindings (`dsMHE:::rs_*`).

`%||%` <- function(x, y) if (is.null(x)) y else x

# A numeric variable every site of the federation has.
probe_variable <- function(conns) {
  if ("LAB_TSC" %in% names(pooled(conns))) "D$LAB_TSC" else "D$age"
}

# Every site's contribution to a mean query, by a direct call.
mean_contributions <- function(conns, query = dsMHE:::rs_random_id(),
                               sites = names(conns), x = probe_variable(conns)) {
  list(query = query, blobs = DSI::datashield.aggregate(
    conns, call("mheMeanDS", x, query = query, sites = paste(sites, collapse = ","))
  ))
}

# Pool contributions and return the request as the base64url argument.
pool_request <- function(blobs, decryptors) {
  pool <- dsMHE:::rs_pool(unname(blobs), decryptors)
  expect_false(inherits(pool, "extendr_error"))
  list(pooled = pool$pooled, request = dsMHE:::rs_b64_encode(pool$request))
}

decrypt_call <- function(query, request) call("mheDecryptDS", query, request)

# Pool `blobs`, have the `decryptors` decrypt, and compare the first pooled
# value (a mean query's sum) with `truth`.
expect_pooled_sum <- function(conns, query, blobs, truth, decryptors = names(conns)) {
  r <- pool_request(blobs, decryptors)
  shares <- DSI::datashield.aggregate(conns[decryptors], decrypt_call(query, r$request))
  expect_rel_equal(dsMHE:::rs_combine(r$pooled, unname(shares))[1], truth)
}

# The sites' errors, each prefixed with its site's name, matching `pattern`.
expect_site_error <- function(expr, conns, pattern, named = TRUE) {
  expect_error(expr)
  errors <- DSI::datashield.errors()
  expect_true(length(errors) > 0)
  if (named) {
    for (site in names(errors)) expect_match(errors[[site]], paste0("^", site, ": "))
  }
  expect_match(paste(unlist(errors), collapse = "\n"), pattern)
  invisible(errors)
}

# Through the client's error handling: a classed error naming the rule.
expect_refused <- function(conns, expr, pattern) {
  err <- expect_error(dsMHE:::mhe_aggregate(conns, expr), class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), pattern)
  invisible(err)
}

# The session still answers a normal query, equal to base R.
still_works <- function(conns, x = probe_variable(conns)) {
  column <- sub("^D\\$", "", x)
  expect_rel_equal(ds.mheMean(x, datasources = conns)$mean,
                   mean(pooled(conns)[[column]], na.rm = TRUE))
}

# A site's real party, from its DSLite session.
site_party <- function(conns, site) {
  server <- dslite_server(conns, site)
  get("mhe.party", envir = server$getSession(conns[[site]]@sid), inherits = FALSE)
}

# A federation the analyst simulates in its own R process: parties it
# controls, named like real sites, in a session id of its choice.
local_federation <- function(sites, session = dsMHE:::rs_random_id(), threshold = 0L) {
  parties <- lapply(sites, function(site) {
    party <- dsMHE:::rs_party_new(site, session, "default")
    attr(party, "mhe_site") <- site
    party
  })
  names(parties) <- sites
  roster <- dsMHE:::rs_roster_build(unname(lapply(parties, dsMHE:::rs_party_identity)))
  shares <- lapply(parties, dsMHE:::rs_party_join, roster = roster,
                   threshold = as.integer(threshold), min_parties = 2L, min_threshold = 2L,
                   pinned = character(), allow_unpinned = TRUE, audit_file = "")
  local_keygen(parties, shares)
  list(session = session, parties = parties, roster = roster, shares = shares)
}

# The analyst's side of key generation for parties in this R process: the
# aggregated key to each, then every party's evaluations to each.
local_keygen <- function(parties, shares) {
  bundles <- dsMHE:::rs_keygen_bundles(unname(shares))
  evaluations <- lapply(names(parties), function(site) {
    dsMHE:::rs_party_finalize(parties[[site]], bundles[[site]])
  })
  checked <- dsMHE:::rs_keygen_evaluations(unname(shares), evaluations)
  invisible(lapply(parties, dsMHE:::rs_party_confirm, evaluations = checked))
}

local_contributions <- function(fed, query, values, kind = "mean", sites = names(fed$parties)) {
  lapply(fed$parties[sites], dsMHE:::rs_party_contribute, query = query, kind = kind,
         call_text = "D$x", variables = "D$x", sites = sites, values = values)
}
