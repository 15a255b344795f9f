# Fuzzing every server function with malformed arguments. Each input must
# give a value or an R error of class `dsMHE_error`: never another error, a
# warning, or a crash (the R process staying alive is the crash check).
#
# Most calls go straight to the functions, evaluated in a fake DataSHIELD
# session environment (the server functions find their party as `mhe.party`
# in `parent.frame()`) that holds a real party of a federation simulated in
# this process, so that valid-looking inputs reach the Rust decoders and the
# policy. A smaller number go through DSLite, with only arguments that
# Opal's parser would let through (helper-opal-rules.R checks each as it is sent).

fuzz_setup <- function() {
  set.seed(20240917)
  fed <- local_federation(c("f1", "f2", "f3"))
  enc <- dsMHE:::rs_b64_encode
  query <- dsMHE:::rs_random_id()
  contributions <- local_contributions(fed, query, c(1, 2, 3))
  pool <- dsMHE:::rs_pool(unname(contributions), names(fed$parties))
  share <- dsMHE:::rs_party_decrypt(fed$parties$f2, pool$request)
  keygen <- fed$shares$f1
  bundle <- dsMHE:::rs_keygen_bundles(unname(fed$shares))$f1
  blobs <- list(
    identity = dsMHE:::rs_party_identity(fed$parties$f1), roster = fed$roster,
    keygen = keygen, bundle = bundle, contribution = contributions$f1, request = pool$request,
    pooled = pool$pooled, share = share
  )
  n <- 60L
  data <- data.frame(
    x = c(stats::rnorm(n - 3L), NA, NA, NA), n = seq_len(n),
    g = factor(sample(c("a", "b"), n, TRUE)), s = sample(c("u", "v"), n, TRUE),
    stringsAsFactors = FALSE
  )
  env <- new.env()
  env$mhe.party <- fed$parties$f1
  env$D <- data
  wiped <- dsMHE:::rs_party_new("f9", dsMHE:::rs_random_id(), "default")
  attr(wiped, "mhe_site") <- "f9"
  dsMHE:::rs_party_wipe(wiped)
  list(
    fed = fed, env = env, data = data, query = query, blobs = blobs,
    b64 = lapply(blobs, enc),
    long = list(strrep("A", 1e6 + 1L), enc(as.raw(sample(0:255, 3e5, TRUE))),
                strrep("AAAA", 250001L)),
    # what else an analyst could leave in `mhe.party`
    bad_parties = list(
      NULL, 1, "f1", as.raw(1:16), data, list(), new("externalptr"),
      getNativeSymbolInfo("wrap__rs_random_id", "dsMHE")$address,
      structure(new("externalptr"), mhe_site = "f1"), wiped
    )
  )
}

fz <- fuzz_setup()

# Malformed values of every kind, each drawn at random.
junk_value <- function(fz) {
  enc <- dsMHE:::rs_b64_encode
  blob <- fz$blobs[[sample(length(fz$blobs), 1L)]]
  flip <- function(b) {
    at <- sample(length(b), min(length(b), sample(1:8, 1L)))
    b[at] <- xor(b[at], as.raw(2L^sample(0:7, length(at), TRUE)))
    b
  }
  switch(sample(14L, 1L),
    enc(as.raw(sample(0:255, sample(0:3000, 1L), TRUE))),        # random bytes
    enc(blob[seq_len(sample(0:(length(blob) - 1L), 1L))]),         # truncated blob
    enc(flip(blob)),                                               # bit-flipped blob
    enc(blob),                                                     # a valid blob
    sub("[A-Za-z]", sample(c("+", "/", "=", " ", "\u00e9", "\n", "%", "("), 1L), enc(blob)),
    paste0(enc(blob), "=="),                                       # padded base64
    fz$long[[sample(3L, 1L)]],                                      # oversize
    paste0("buf:", sample(c("none", "x", "../etc", "a b", "", strrep("b", 80)), 1L)),
    sample(list(NULL, NA, NA_character_, NA_real_, NA_integer_, TRUE, FALSE), 1L)[[1]],
    sample(list(0, -1, 1.5, 1e300, -1e300, Inf, -Inf, NaN, 2L, .Machine$integer.max), 1L)[[1]],
    sample(list(c("a", "b"), character(), c(fz$query, fz$query), 1:2, numeric()), 1L)[[1]],
    sample(list(list(), list("a"), list(enc(blob)), blob, fz$data, factor("D$x")), 1L)[[1]],
    sample(c("", " ", "D$x;q()", "D[1]", "mhe.party", "D$", "$x", "D$x$y", "\u00e9"), 1L),
    paste(sample(c(letters, LETTERS, 0:9, "_", "-", ".", ",", ":", ";", "$", "+"),
                 sample(1:120, 1L), TRUE), collapse = "")
  )
}

# Plausible values per argument, so that many calls get past the first check.
valid_value <- function(arg, fz) {
  enc <- dsMHE:::rs_b64_encode
  hex <- function(x) dsMHE:::mhe_dbl_encode(x)
  switch(arg,
    query = sample(c(dsMHE:::rs_random_id(), fz$query), 1L),
    sites = sample(c("f1,f2,f3", "f1,f2", "f1", "f1,f1,f2", "f1,f2,zz", "f2,f3"), 1L),
    x = sample(c("D$x", "D$n", "D$g", "D$s", "D", "D$x,D$n", "D$nope", "E$x"), 1L),
    rvar = , cvar = sample(c("D$g", "D$s", "D$n", "D$x", NA), 1L),
    rlevels = , clevels = sample(c(dsMHE:::mhe_levels_encode(c("a", "b")),
                                   dsMHE:::mhe_levels_encode(c("u", "v", "u")),
                                   enc(charToRaw("a\nb"))), 1L),
    mean = , means = sample(c(hex(0.5), hex(c(0, 1)), hex(NaN), "0123"), 1L),
    breaks = sample(c(hex(c(-3, 0, 3)), hex(c(1, 0)), hex(seq(-4, 4, 0.5))), 1L),
    mode = sample(c("range", "counts", "both"), 1L),
    kind = sample(c("mean", "table", "cor", "var"), 1L),
    threshold = sample(list(0L, 2L, 3L, 10001L), 1L)[[1]],
    name = sample(c("b1", "b2", strrep("n", 65)), 1L),
    index = sample(list(1L, 2L, 3, 0L), 1L)[[1]],
    chunk = sample(c(fz$b64$request, substr(fz$b64$roster, 1, 400)), 1L),
    roster = fz$b64$roster, bundle = fz$b64$bundle,
    request = sample(c(fz$b64$request, fz$b64$contribution), 1L),
    session = sample(c(fz$fed$session, dsMHE:::rs_random_id()), 1L),
    params = sample(c("default", "test", "none"), 1L),
    site = sample(c("f1", "f4", "a.b-c"), 1L),
    junk_value(fz)
  )
}

server_functions <- function() unlist(opal_declared(), use.names = FALSE)

# One call: "ok", "dsMHE" (a classed error), or a description of the problem.
fuzz_outcome <- function(fun, args, env) {
  f <- get(fun, envir = asNamespace("dsMHE"))
  expr <- as.call(c(list(f), args))
  warned <- NULL
  outcome <- withCallingHandlers(
    tryCatch({
      eval(expr, env)
      "ok"
    }, dsMHE_error = function(e) "dsMHE", error = function(e) {
      paste0("error <", class(e)[1], ">: ", conditionMessage(e))
    }),
    warning = function(w) {
      warned <<- conditionMessage(w)
      invokeRestart("muffleWarning")
    }
  )
  if (!is.null(warned)) outcome <- paste0("warning: ", warned)
  outcome
}

describe <- function(x) {
  if (is.character(x) && length(x) == 1L && !is.na(x)) {
    return(paste0("\"", substr(x, 1, 40), "\"[", nchar(x), "]"))
  }
  paste(utils::capture.output(utils::str(x, vec.len = 2, nchar.max = 40))[1], collapse = "")
}

test_that("every server function gives a value or a dsMHE error for malformed input", {
  set.seed(1)
  n_calls <- 5000L
  funs <- setdiff(server_functions(), c("mheCloseDS", "mheInitDS"))
  counts <- c(ok = 0L, dsMHE = 0L)
  problems <- character()
  for (i in seq_len(n_calls)) {
    fun <- funs[[(i - 1L) %% length(funs) + 1L]]
    formals <- names(formals(get(fun, envir = asNamespace("dsMHE"))))
    args <- lapply(formals, function(a) {
      if (stats::runif(1) < 0.75) valid_value(a, fz) else junk_value(fz)
    })
    names(args) <- formals
    env <- fz$env
    if (stats::runif(1) < 0.05) {
      env <- new.env()
      env$D <- fz$data
      party <- fz$bad_parties[[sample(length(fz$bad_parties), 1L)]]
      if (!is.null(party)) env$mhe.party <- party
    }
    outcome <- fuzz_outcome(fun, args, env)
    if (outcome %in% names(counts)) {
      counts[[outcome]] <- counts[[outcome]] + 1L
    } else {
      problems <- c(problems, paste0(fun, "(", paste(names(args), vapply(args, describe, ""),
                                                       sep = " = ", collapse = ", "), "): ", outcome))
    }
  }
  expect(length(problems) == 0L,
         paste(c(sprintf("%d of %d calls failed badly:", length(problems), n_calls), head(problems, 15)),
               collapse = "\n"))
  expect_gt(counts[["ok"]], 100L)
  expect_gt(counts[["dsMHE"]], 1500L)
})

test_that("setup and close functions refuse malformed input and foreign parties", {
  set.seed(2)
  problems <- character()
  for (i in seq_len(300L)) {
    env <- new.env()
    party <- fz$bad_parties[[sample(length(fz$bad_parties), 1L)]]
    if (!is.null(party)) env$mhe.party <- party
    args <- lapply(c(session = "session", params = "params", site = "site"), function(a) {
      if (stats::runif(1) < 0.6) valid_value(a, fz) else junk_value(fz)
    })
    for (call in list(list("mheInitDS", args), list("mheCloseDS", list()),
                      list("mheIdentityDS", list()), list("mheAuditDS", list()))) {
      outcome <- fuzz_outcome(call[[1]], call[[2]], env)
      if (!outcome %in% c("ok", "dsMHE")) {
        problems <- c(problems, paste0(call[[1]], " with mhe.party = ", describe(party), ": ", outcome))
      }
    }
  }
  expect(length(problems) == 0L, paste(head(problems, 15), collapse = "\n"))
  # a foreign external pointer never reaches the Rust bindings
  env <- new.env()
  env$mhe.party <- getNativeSymbolInfo("wrap__rs_random_id", "dsMHE")$address
  expect_error(eval(quote(mheIdentityDS()), env), "is not a dsMHE party", class = "dsMHE_error_setup")
})

test_that("malformed calls through DSLite give errors naming the site, and the session survives", {
  conns <- federation("cnsim")
  set.seed(3)
  c1 <- mean_contributions(conns)
  r <- pool_request(c1$blobs, names(conns))
  real <- list(dsMHE:::rs_b64_decode(r$request), c1$blobs$sim1)
  # only what Opal's parser accepts: strings of its alphabet, numbers >= 0,
  # TRUE/FALSE, NULL
  opal_junk <- function() {
    blob <- real[[sample(2L, 1L)]]
    enc <- dsMHE:::rs_b64_encode
    switch(sample(7L, 1L),
      enc(as.raw(sample(0:255, sample(1:2000, 1L), TRUE))),
      enc(blob[seq_len(sample(min(length(blob) - 1L, 20000L), 1L))]),
      { at <- sample(length(blob), 4L); blob[at] <- xor(blob[at], as.raw(1L)); enc(blob) },
      paste(sample(c(letters, 0:9, "_", "-", ".", ",", ":", ";", "$", "+"), sample(1:80, 1L), TRUE),
            collapse = ""),
      sample(list(0, 1, 2L, 1e6, 0.5, 10001L), 1L)[[1]],
      sample(list(TRUE, FALSE, NULL), 1L)[[1]],
      paste0("buf:", sample(c("b1", "b2", "none"), 1L))
    )
  }
  funs <- c("mheJoinDS", "mheFinalizeDS", "mheConfirmDS", "mheUploadDS", "mheColnamesDS", "mheLevelsDS",
            "mheMeanDS", "mheVarDS", "mheTableDS", "mheHistogramDS", "mheCorDS",
            "mheDecryptDS", "mheSurvfitDS", "mheGLMDS")
  unnamed <- character()
  for (i in seq_len(72L)) {
    fun <- funs[[(i - 1L) %% length(funs) + 1L]]
    formals <- names(formals(get(fun, envir = asNamespace("dsMHE"))))
    args <- lapply(formals, function(a) opal_junk())
    expr <- as.call(c(list(as.name(fun)), args))
    try(DSI::datashield.aggregate(conns, expr), silent = TRUE)
    errors <- DSI::datashield.errors()
    for (site in names(errors)) {
      if (!startsWith(errors[[site]], paste0(site, ": ")) &&
          !startsWith(errors[[site]], "this site: ")) {
        unnamed <- c(unnamed, paste0(site, " ", fun, ": ", errors[[site]]))
      }
    }
  }
  expect(length(unnamed) == 0L, paste(head(unnamed, 10), collapse = "\n"))
  still_works(conns)
})
