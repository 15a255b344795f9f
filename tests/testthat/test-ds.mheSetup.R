test_that("setup returns a session with one distinct key fingerprint per site", {
  conns <- federation("cnsim")
  session <- dsMHE:::mhe_session_get(conns)
  expect_s3_class(session, "mhe_session")
  expect_identical(session$sites, names(conns))
  expect_identical(session$params, "default")
  expect_identical(names(session$fingerprints), names(conns))
  expect_false(anyDuplicated(session$fingerprints) > 0)
  expect_true(is.character(session$key) && nzchar(session$key))
  expect_message(print(session), "sim1")
})

test_that("setup warns when no site pinned its peers", {
  conns <- fresh_federation(setup = FALSE)
  expect_warning(session <- ds.mheSetup(conns), class = "dsMHE_warning_unpinned")
  expect_false(any(session$pinned))
  expect_equal(ds.mheMean("D$LAB_HDL", datasources = conns)$n,
               sum(!is.na(pooled(conns)$LAB_HDL)))
})

test_that("two sites never share key material or state", {
  conns <- federation("cnsim")
  servers <- attr(conns, "servers")
  parties <- lapply(names(conns), function(site) {
    server <- get(paste0("dslite_", site), envir = servers)
    get("mhe.party", envir = server$getSession(conns[[site]]@sid), inherits = FALSE)
  })
  expect_true(all(vapply(parties, typeof, "") == "externalptr"))
  expect_false(identical(parties[[1]], parties[[2]]))
  expect_false(identical(parties[[2]], parties[[3]]))
  fingerprints <- vapply(parties, dsMHE:::rs_party_fingerprint, "")
  expect_equal(length(unique(fingerprints)), 3L)
  expect_equal(unname(fingerprints), unname(dsMHE:::mhe_session_get(conns)$fingerprints))
  # no site state in the package namespace: only functions and constants
  ns <- asNamespace("dsMHE")
  kinds <- vapply(ls(ns, all.names = TRUE), function(n) typeof(get(n, envir = ns)), "")
  expect_false(any(kinds == "externalptr"))
})

test_that("one site's decryption share alone does not decrypt", {
  conns <- federation("cnsim")
  sites <- names(conns)
  query <- dsMHE:::rs_random_id()
  contributions <- DSI::datashield.aggregate(
    conns, call("mheMeanDS", "D$LAB_TSC", query = query, sites = paste(sites, collapse = ","))
  )
  pool <- dsMHE:::rs_pool(unname(contributions), sites)
  request <- dsMHE:::rs_b64_encode(pool$request)
  share <- DSI::datashield.aggregate(conns[1], call("mheDecryptDS", query, request))
  truth <- colSums(do.call(rbind, lapply(attr(conns, "data"), function(d) {
    c(sum(d$LAB_TSC, na.rm = TRUE), sum(!is.na(d$LAB_TSC)), sum(is.na(d$LAB_TSC)))
  })))
  alone <- tryCatch(dsMHE:::rs_combine(pool$pooled, unname(share)), error = function(e) e)
  if (!inherits(alone, "error") && !inherits(alone, "extendr_error")) {
    expect_false(isTRUE(all.equal(alone, truth, tolerance = 1e-3)))
  } else {
    succeed()
  }
})

test_that("setup validates its arguments before calling any site", {
  conns <- federation("cnsim")
  expect_error(ds.mheSetup(conns, params = "bad name"), class = "dsMHE_error_input")
  expect_error(ds.mheSetup(conns, threshold = 5), class = "dsMHE_error_input")
  expect_error(ds.mheSetup(list(1, 2)), class = "dsMHE_error_input")
})
