# DSLite federations, built the way an analyst would: one DSLiteServer per
# site holding table D, logged in with DSI. Key generation makes setup costly,
# so each federation is built once per test run and reused (`federation()`).

options(datashield.progress = FALSE, datashield.progress.clear = TRUE)

# Server options for every test site, unless a test gives a site others: the
# test federations are unpinned (every site runs in this process, with a fresh
# signing key per session), so their admins opt in to unpinned rosters. A
# fallback audit file in the session's temp directory keeps direct calls of
# the server functions from ever writing to the user's home (R CMD check);
# every DSLite site gets its own file (`site_options()`).
options(
  mhe.allow.unpinned = TRUE,
  mhe.audit.file = file.path(tempdir(), "dsMHE-test-audit", "fallback.log"),
  # the analyst's key for DP budgets (ds.mheSetup() creates it on first use)
  mhe.analyst.key = file.path(tempdir(), "dsMHE-test-audit", "analyst.key")
)

# Per-site server options. DSLite applies a server's options to the whole R
# process once, at login; separate Opal/Rock processes would each have their
# own. So each DSLite server's aggregate and assign methods are wrapped to set
# the site's options for the duration of every call (NULL removes an option).
# Each site gets its own audit file, fresh for each login.
site_options <- function(server, site, opts = list()) {
  defaults <- list(
    mhe.allow.unpinned = TRUE,
    mhe.audit.file = tempfile(paste0("audit-", site, "-"),
                              tmpdir = file.path(tempdir(), "dsMHE-test-audit"))
  )
  opts <- utils::modifyList(defaults, opts, keep.null = TRUE)
  wrap <- function(method) {
    original <- server[[method]]
    unlockBinding(method, server)
    assign(method, function(sid, ...) {
      old <- options(opts)
      on.exit(options(old))
      original(sid, ...)
    }, envir = server)
    lockBinding(method, server)
  }
  wrap("aggregate")
  wrap("assignExpr")
  attr(server, "mhe_options") <- opts
  invisible(opts)
}

cnsim_data <- function() {
  sites <- c("CNSIM1", "CNSIM2", "CNSIM3")
  data <- lapply(sites, function(name) {
    env <- new.env()
    utils::data(list = name, package = "DSLite", envir = env)
    df <- as.data.frame(env[[name]])
    attr(df, "spec") <- NULL
    df
  })
  names(data) <- c("sim1", "sim2", "sim3")
  data
}

# Ten sites with missing values and factors; deterministic.
ten_site_data <- function() {
  old <- .Random.seed_save()
  on.exit(.Random.seed_restore(old))
  set.seed(20240611)
  data <- lapply(1:10, function(i) {
    n <- 120L + 15L * i
    age <- round(rnorm(n, 40 + i, 12), 1)
    bmi <- rnorm(n, 26, 4) + 0.05 * age
    sbp <- 100 + 0.5 * age + 0.8 * bmi + rnorm(n, 0, 8)
    age[sample(n, 5 + i %% 3)] <- NA
    bmi[sample(n, 3)] <- NA
    sex <- factor(sample(c("F", "M"), n, TRUE), levels = c("F", "M"))
    sex[sample(n, 2)] <- NA
    group <- factor(sample(c("a", "b", "c"), n, TRUE, prob = c(0.5, 0.3, 0.2)))
    tiny <- rep(NA_real_, n)
    if (i == 3L) tiny[1:2] <- c(1.5, 2.5) else tiny[1:10] <- as.numeric(1:10)
    rare <- factor(rep("y", n), levels = c("y", "z"))
    if (i == 5L) rare[1] <- "z"
    data.frame(age, bmi, sbp, sex, group, tiny, rare, label = rep("x", n),
               stringsAsFactors = FALSE)
  })
  names(data) <- sprintf("s%02d", 1:10)
  data
}

# survival::lung split by row order across 3 sites (76 rows each), status
# coded 1/2 as in lung, plus columns for degenerate and bad inputs.
lung_data <- function() {
  lung <- survival::lung[, c("time", "status", "sex")]
  site <- rep(c("l1", "l2", "l3"), each = 76L)
  data <- split(lung, site)
  for (s in names(data)) {
    d <- data[[s]]
    rownames(d) <- NULL
    n <- nrow(d)
    d$dead <- d$status == 2                                   # logical event
    d$alive <- rep(FALSE, n)                                  # no events anywhere
    d$none <- if (s == "l3") rep(1, n) else d$status          # l3: no events
    d$arm <- rep(if (s == "l2") c("a", "b") else c("a", "b", "c"), length.out = n)
    d$time_na <- d$time
    if (s == "l1") d$time_na[c(3, 10, 40)] <- NA
    d$neg <- d$time
    if (s == "l2") d$neg[5] <- -1
    d$bad <- d$status
    if (s == "l1") d$bad[7] <- 3
    d$mixed <- if (s == "l1") d$status - 1 else d$status      # l1 codes 0/1
    d$small <- factor(rep("x", n), levels = c("x", "y"))
    if (s == "l1") d$small[1:2] <- "y"                        # 2 rows < nfilter.tab
    data[[s]] <- d
  }
  data
}

.Random.seed_save <- function() {
  if (exists(".Random.seed", envir = globalenv())) get(".Random.seed", envir = globalenv())
}
.Random.seed_restore <- function(seed) {
  if (is.null(seed)) {
    if (exists(".Random.seed", envir = globalenv())) rm(".Random.seed", envir = globalenv())
  } else {
    assign(".Random.seed", seed, envir = globalenv())
  }
}

# Log into one DSLite server per site; returns the connections. `options`:
# per-site server options (a list of lists, named by site), on top of the
# defaults of `site_options()`.
dslite_login <- function(data, options = list()) {
  servers <- new.env(parent = emptyenv())
  builder <- DSI::newDSLoginBuilder()
  for (site in names(data)) {
    server <- DSLite::newDSLiteServer(
      tables = list(D = data[[site]]),
      config = DSLite::defaultDSConfiguration(include = "dsMHE")
    )
    opal_record_server(server, site)
    site_options(server, site, options[[site]] %||% list())
    assign(paste0("dslite_", site), server, envir = servers)
    builder$append(server = site, url = paste0("dslite_", site), table = "D",
                   driver = "DSLiteDriver")
  }
  old <- base::options(datashield.env = servers)
  on.exit(base::options(old))
  conns <- suppressMessages(DSI::datashield.login(builder$build(), assign = TRUE, symbol = "D"))
  attr(conns, "servers") <- servers
  conns
}

# Four sites (the first four of the ten), named site1 to site4.
four_site_data <- function() {
  data <- ten_site_data()[1:4]
  names(data) <- paste0("site", 1:4)
  data
}

federations <- new.env()

# A federation logged in and set up once per test run: "cnsim" (3 sites),
# "ten" (10 sites), "lung" (3 sites) or "four" (4 sites, threshold 3: any 3
# can decrypt).
federation <- function(name = c("cnsim", "ten", "lung", "four"), setup = TRUE) {
  name <- match.arg(name)
  key <- paste0(name, if (setup) "_setup")
  if (!exists(key, envir = federations)) {
    data <- switch(name, cnsim = cnsim_data(), ten = ten_site_data(), lung = lung_data(),
                   four = four_site_data())
    # "four" runs 3-of-4: its sites' admins allow thresholds from 3.
    opts <- if (name == "four") {
      stats::setNames(rep(list(list(mhe.min.threshold = 3L)), 4L), names(data))
    } else {
      list()
    }
    conns <- dslite_login(data, opts)
    attr(conns, "data") <- data
    threshold <- if (name == "four") 3L
    if (setup) suppressWarnings(ds.mheSetup(conns, threshold = threshold))
    assign(key, conns, envir = federations)
  }
  get(key, envir = federations)
}

# The DSLite server of one site.
dslite_server <- function(conns, site) {
  get(paste0("dslite_", site), envir = attr(conns, "servers"))
}

# Make `site` fail, as a lost connection does, on every aggregate call to
# `fun` for which `when(expr)` is TRUE, until the returned function is
# called. Other calls go through.
break_site <- function(conns, site, fun, when = function(expr) TRUE) {
  server <- dslite_server(conns, site)
  original <- server$aggregate
  replace <- function(f) {
    unlockBinding("aggregate", server)
    assign("aggregate", f, envir = server)
    lockBinding("aggregate", server)
  }
  replace(function(sid, expr) {
    e <- if (is.character(expr)) str2lang(expr) else expr
    if (is.call(e) && identical(as.character(e[[1]]), fun) && when(e)) {
      stop("connection to ", site, " lost")
    }
    original(sid, expr)
  })
  function() replace(original)
}

# Put table D back at sites whose D a test removed.
restore_table <- function(conns, sites) {
  DSI::datashield.assign.table(conns[sites], "D", "D")
}

pooled_over <- function(conns, sites) {
  do.call(rbind, unname(attr(conns, "data")[sites]))
}

# A fresh federation (not cached), for tests that break or close a session;
# `options` and `threshold` as for `dslite_login()` and `ds.mheSetup()`.
fresh_federation <- function(data = cnsim_data(), setup = TRUE, options = list(),
                             threshold = NULL) {
  conns <- dslite_login(data, options)
  attr(conns, "data") <- data
  if (setup) suppressWarnings(ds.mheSetup(conns, threshold = threshold))
  conns
}

# A fresh "four" (4 sites, threshold 3, their admins' mhe.min.threshold 3),
# with fresh audit files: for tests whose releases would tie variables to sets
# that later tests on the shared federation use.
fresh_four <- function() {
  data <- four_site_data()
  opts <- stats::setNames(rep(list(list(mhe.min.threshold = 3L)), 4L), names(data))
  fresh_federation(data, options = opts, threshold = 3)
}

# The audit file of one DSLite site.
site_audit_file <- function(conns, site) {
  server <- dslite_server(conns, site)
  attr(server, "mhe_options")$mhe.audit.file
}

pooled <- function(conns) {
  do.call(rbind, unname(attr(conns, "data")))
}

expect_rel_equal <- function(object, expected, tolerance = 1e-9) {
  expect_equal(object, expected, tolerance = tolerance)
}
