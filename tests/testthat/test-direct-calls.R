# A malicious or careless analyst calls the server functions directly.

test_that("malformed, truncated and wrongly encoded blobs give clear errors", {
  conns <- federation("cnsim")
  c1 <- mean_contributions(conns)
  pool <- dsMHE:::rs_pool(unname(c1$blobs), names(conns))
  request <- dsMHE:::rs_b64_encode(pool$request)
  expect_site_error(DSI::datashield.aggregate(conns, call("mheDecryptDS", c1$query, "AAAA")),
                    conns, "sim1: ")
  truncated <- substr(request, 1, nchar(request) %/% 2)
  expect_site_error(DSI::datashield.aggregate(conns, call("mheDecryptDS", c1$query, truncated)),
                    conns, "sim2: ")
  expect_site_error(DSI::datashield.aggregate(conns, call("mheDecryptDS", c1$query, "abc+def")),
                    conns, "base64url")
  expect_site_error(DSI::datashield.aggregate(conns, call("mheDecryptDS", "short", request)),
                    conns, "`query` must be a query id")
  expect_site_error(DSI::datashield.aggregate(conns, call("mheJoinDS", "buf:nothing", 0L)),
                    conns, "sim3: ")
  expect_site_error(DSI::datashield.aggregate(conns, call("mheMeanDS", "D$LAB_TSC", c1$query, "sim1,sim1")),
                    conns, "refused: the list of sites names a site twice")
  still_works(conns)
})

test_that("replaying a decryption request is refused", {
  conns <- federation("cnsim")
  c1 <- mean_contributions(conns)
  pool <- dsMHE:::rs_pool(unname(c1$blobs), names(conns))
  request <- dsMHE:::rs_b64_encode(pool$request)
  shares <- DSI::datashield.aggregate(conns, call("mheDecryptDS", c1$query, request))
  expect_length(shares, 3L)
  expect_site_error(DSI::datashield.aggregate(conns, call("mheDecryptDS", c1$query, request)),
                    conns, "refused")
  err <- tryCatch(dsMHE:::mhe_aggregate(conns, call("mheDecryptDS", c1$query, request)),
                  error = function(e) e)
  expect_s3_class(err, "dsMHE_error_refused")
  still_works(conns)
})

test_that("a request of another session is refused", {
  a <- federation("cnsim")
  b <- fresh_federation()
  c1 <- mean_contributions(a)
  pool <- dsMHE:::rs_pool(unname(c1$blobs), names(a))
  request <- dsMHE:::rs_b64_encode(pool$request)
  expect_site_error(DSI::datashield.aggregate(b, call("mheDecryptDS", c1$query, request)),
                    b, "sim1: ")
  still_works(a)
  still_works(b)
})

test_that("one site's contribution cannot be decrypted alone", {
  conns <- federation("cnsim")
  c1 <- mean_contributions(conns)
  pool <- tryCatch(dsMHE:::rs_pool(unname(c1$blobs[1]), names(conns)[1]), error = function(e) NULL)
  if (inherits(pool, "extendr_error") || is.null(pool)) {
    succeed("the client library refuses to pool a single contribution")
  } else {
    request <- dsMHE:::rs_b64_encode(pool$request)
    expect_site_error(DSI::datashield.aggregate(conns[1], call("mheDecryptDS", c1$query, request)),
                      conns[1], "sim1: refused")
  }
  still_works(conns)
})

test_that("bad arguments to the assign method leave the session intact", {
  conns <- federation("cnsim")
  id <- dsMHE:::rs_random_id()
  init <- function(session, params, site = NULL) {
    dsMHE:::mhe_calls(conns, function(name) call("mheInitDS", session, params, site %||% name))
  }
  expect_site_error(DSI::datashield.assign.expr(conns, "mhe.party", init("short", "default")),
                    conns, "`session` must be a session id")
  expect_site_error(DSI::datashield.assign.expr(conns, "mhe.party", init(id, "nope")),
                    conns, "sim2: ")
  expect_site_error(DSI::datashield.assign.expr(conns, "mhe.party", init(id, "default", "a;b")),
                    conns, "`site` must be a site name", named = FALSE)
  still_works(conns)
})

test_that("server functions resolve only plain variable names", {
  conns <- federation("cnsim")
  query <- dsMHE:::rs_random_id()
  expect_site_error(DSI::datashield.aggregate(conns, call("mheMeanDS", "D$LAB_TSC;q", query, "sim1,sim2,sim3")),
                    conns, "must be a variable name")
  expect_site_error(DSI::datashield.aggregate(conns, call("mheMeanDS", "mhe.party", query, "sim1,sim2,sim3")),
                    conns, "does not exist")
  expect_site_error(DSI::datashield.aggregate(conns, call("mheMeanDS", "D$LAB_TSC", query, "sim1,sim2")),
                    conns, "sim3: refused: the list of sites does not include this site")
  still_works(conns)
})

test_that("blobs above the chunk size travel through the party's buffer", {
  conns <- federation("cnsim")
  # A decryption request is a few hundred characters: force it into chunks.
  old <- options(mhe.chunk.size = 128)
  on.exit(options(old))
  mark <- length(opal_recorder$calls)
  still_works(conns)
  uploads <- Filter(function(r) identical(as.character(r$expr[[1]]), "mheUploadDS"),
                    opal_recorder$calls[-seq_len(mark)])
  expect_gt(length(uploads), 0L)
  expect_true(all(vapply(uploads, function(r) nchar(r$expr[[4]]) <= 128, TRUE)))
})

test_that("the signed call text is built from the server function's own matched call", {
  text <- dsMHE:::srv_call_text
  # the same arguments give the same text whatever the call's form
  a <- text(quote(mheMeanDS(x = "D$age", query = "q1", sites = "s1,s2")), "s1")
  b <- text(quote(dsMHE::mheMeanDS(x = "D$age", query = "q2", sites = "s2,s3")), "s2")
  expect_identical(a, 'mheMeanDS(x = "D$age")')
  expect_identical(a, b)
  expect_identical(text(quote(mheVarDS(x = "D$a", mean = "3fe0000000000000", query = "q")), "s"),
                   'mheVarDS(x = "D$a", mean = "3fe0000000000000")')
  expect_identical(text(quote(mheGLMDS(formula = "eQ", family = "binomial", maxit = 2.5)), "s"),
                   'mheGLMDS(formula = "eQ", family = "binomial", maxit = 2.5)')
  # only a dsMHE server function's call signs a contribution
  for (call in list(quote(mean(x = 1)), quote(f()(x = 1)), "mheMeanDS", NULL)) {
    expect_error(text(call, "s1"), "a contribution must be made by a dsMHE server function",
                 class = "dsMHE_error")
  }
  # each server function passes match.call(): the text names its arguments
  body <- lapply(c("mheMeanDS", "mheVarDS", "mheTableDS", "mheHistogramDS", "mheCorDS",
                   "mheGLMDS", "mheSurvfitDS"), function(f) {
    paste(deparse(body(get(f, envir = asNamespace("dsMHE")))), collapse = "\n")
  })
  expect_true(all(grepl("call = match.call()", body, fixed = TRUE)))
})
