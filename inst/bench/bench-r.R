# Benchmark: dsMHE's encrypted pooled statistics against a plaintext
# DataSHIELD aggregate of the same per-site vector (mhePlainSumDS, the
# baseline: what dsBase's meanDS/tableDS would disclose), over DSLite.
#
# The plaintext methods are NOT part of the package (inst/DATASHIELD declares
# none: a site must never publish a per-site aggregate in the clear). They
# are defined here and registered only in this benchmark's own DSLite
# configuration, as script methods over the package's local-aggregate code,
# so that baseline and encrypted statistics compute exactly the same vector.
#
# Rscript inst/bench/bench-r.R [runs] [part] [rows]
# part "stats" (mean, table, correlation over 3 and 10 sites x 1e5 rows each),
# "summary" (ds.mheSummary() of 20 variables over 3 and 10 sites x 1e5 rows
# against 20 plaintext mean calls, and against a plaintext summary of the same
# two rounds), "glm" (a 10-covariate binomial GLM over 3 sites x 1e5 rows: ds.mheGLM()
# against the same IRLS with each site's aggregates in the clear through
# mhePlainGLMDS()), "survival" (the exact Kaplan-Meier curve of ds.mheSurvfit()
# on a public grid of 8192 points over 3 sites x 1e5 rows, against the same
# curve from each site's counts in the clear through mhePlainSurvDS()) or "all"
# (default). Reports the median wall time of `runs`
# runs (default 5), the ratio to plaintext, the same for the process's CPU
# time (user + system; steadier than wall time on a shared machine), the bytes the analyst sends to the
# sites per query (the calls' text, as DSLite/Opal receive it), the number of
# calls and, for the GLM, the IRLS iterations. `rows` (default 1e5) is the
# number of rows per site.
#
# Rscript inst/bench/bench-r.R [runs] setup [sites]
# part "setup" times ds.mheSetup() alone over `sites` DSLite sites (default
# 10,20,30; a comma-separated list), 20 rows each: the median of `runs` setups
# on servers whose parser is built (DSLite builds each server's parser at its
# first call, about 0.3 s here, a cost Opal and Rock do not have; it is
# reported apart as `first_call_s`), with the bytes and calls sent per setup.

suppressPackageStartupMessages({
  library(DSI)
  library(DSLite)
  library(dsMHE)
})
options(datashield.progress = FALSE, cli.progress_show_after = Inf)
# the sites' admins' options (DSLite: one R process): unpinned roster, temp audit file
options(mhe.allow.unpinned = TRUE, mhe.audit.file = tempfile("dsMHE-bench-audit-"))
args <- commandArgs(TRUE)
runs <- if (length(args)) as.integer(args[1]) else 5L
part <- if (length(args) > 1L) args[2] else "all"
if (part == "dp") {
  # the utility of differential privacy lives in its own script beside this one
  this_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1])
  source(sub("bench-r\\.R$", "bench-dp.R", this_file))
  quit(save = "no")
}
stopifnot(part %in% c("all", "stats", "summary", "glm", "survival", "setup"))
rows <- if (length(args) > 2L && part != "setup") as.numeric(args[3]) else 1e5
setup_sites <- if (length(args) > 2L && part == "setup") {
  as.integer(strsplit(args[3], ",", fixed = TRUE)[[1]])
} else {
  c(10L, 20L, 30L)
}

# The plaintext baseline methods (DSLite "script" methods: evaluated in the
# site's session, where `parent.frame()` is the session environment).
mhePlainSumDS <- function(x, kind = "mean", means = NULL) {
  env <- parent.frame()
  site <- "this site"
  switch(kind,
    mean = dsMHE:::srv_mean(x, env, site),
    summary = {
      vars <- dsMHE:::srv_variable_list(x, site, dsMHE:::mhe_summary_max_variables)
      if (is.null(means)) {
        unlist(lapply(vars, dsMHE:::srv_mean, env = env, site = site))
      } else {
        means <- dsMHE:::srv_doubles(means, site, "means", n = length(vars))
        unlist(lapply(seq_along(vars), function(j) dsMHE:::srv_ss(vars[j], env, site, means[j])))
      }
    },
    table = {
      levels <- dsMHE:::srv_var_levels(x, env, site)$levels
      dsMHE:::srv_table(env, site, x, NULL, levels, NULL)
    },
    cor = dsMHE:::srv_cor(x, env, site),
    stop("kind must be mean, summary, table or cor")
  )
}

mhePlainGLMDS <- function(formula, family, data, weights = NULL, offset = NULL, levels = NULL,
                          round = "init", model = "full", beta = NULL, start = NULL,
                          wtdmu = NULL) {
  dsMHE:::srv_glm_site_values(parent.frame(), "this site", formula, family, data, weights, offset,
                          levels, round, model, beta, start, wtdmu)$values
}

# The two rounds of ds.mheSurvfit() on a given grid, each site's tallies and
# counts in the clear.
mhePlainSurvDS <- function(time, event, mode, grid = NULL, coding = NULL) {
  env <- parent.frame()
  site <- "this site"
  data <- dsMHE:::srv_surv_data(env, site, time, event, NULL, NULL)
  if (mode == "status") {
    return(dsMHE:::srv_surv_tallies(data, scale = FALSE))
  }
  dsMHE:::srv_surv_counts(data, site, dsMHE:::srv_doubles(grid, site, "grid"), coding)
}

# dsMHE's declared methods plus the plaintext baseline.
bench_config <- function() {
  config <- defaultDSConfiguration(include = "dsMHE")
  methods <- config$AggregateMethods
  for (name in c("mhePlainSumDS", "mhePlainGLMDS", "mhePlainSurvDS")) {
    row <- methods[1L, , drop = FALSE]
    row$name <- name
    row$value <- paste(deparse(get(name)), collapse = "\n")
    row$package <- NA
    row$version <- NA
    row$class <- "script"
    methods <- rbind(methods, row)
  }
  config$AggregateMethods <- methods
  config
}

sent <- new.env()
sent$bytes <- 0
sent$calls <- 0L
record <- function(server) {
  for (method in c("aggregate", "assignExpr")) local({
    original <- server[[method]]
    unlockBinding(method, server)
    assign(method, function(sid, ...) {
      args <- list(...)
      expr <- args[[length(args)]]
      text <- if (is.language(expr)) paste(deparse(expr, width.cutoff = 500L), collapse = "\n") else expr
      sent$bytes <- sent$bytes + nchar(text, type = "bytes")
      sent$calls <- sent$calls + 1L
      original(sid, ...)
    }, envir = server)
    lockBinding(method, server)
  })
}

make_data <- function(sites) {
  set.seed(1)
  lapply(seq_len(sites), function(i) {
    age <- rnorm(rows, 50, 10)
    age[sample(rows, rows / 50)] <- NA
    data.frame(
      age = age,
      bmi = rnorm(rows, 26, 4),
      sbp = rnorm(rows, 130, 15),
      group = factor(sample(c("a", "b", "c", "d"), rows, TRUE))
    )
  })
}

login <- function(data) {
  # each federation's sites keep their own audit file (their durable ledger): a
  # site of the 3-site federation and its namesake among 10 sites are not one site
  options(mhe.audit.file = tempfile("dsMHE-bench-audit-"))
  servers <- new.env(parent = emptyenv())
  builder <- newDSLoginBuilder()
  for (i in seq_along(data)) {
    server <- newDSLiteServer(tables = list(D = data[[i]]), config = bench_config())
    record(server)
    assign(paste0("server", i), server, envir = servers)
    builder$append(server = sprintf("site%02d", i), url = paste0("server", i),
                   table = "D", driver = "DSLiteDriver")
  }
  old <- options(datashield.env = servers)
  on.exit(options(old))
  suppressMessages(datashield.login(builder$build(), assign = TRUE, symbol = "D"))
}

measure <- function(f) {
  f() # warm up
  sent$bytes <- 0
  sent$calls <- 0L
  f()
  bytes <- sent$bytes
  calls <- sent$calls
  # wall time, and the process's CPU time (user + system, every thread): on a
  # shared machine the wall time also counts the other processes' turns
  times <- vapply(seq_len(runs), function(i) {
    t <- system.time(f())
    c(t[["elapsed"]], t[["user.self"]] + t[["sys.self"]])
  }, c(0, 0))
  c(seconds = stats::median(times[1L, ]), cpu = stats::median(times[2L, ]), bytes = bytes,
    calls = calls)
}

plain <- function(conns, x, kind) {
  function() Reduce(`+`, datashield.aggregate(conns, call("mhePlainSumDS", x, kind)))
}

compare <- function(sites, statistic, m, p) {
  data.frame(
    sites = sites, statistic = statistic,
    mhe_s = round(m[["seconds"]], 4), plain_s = round(p[["seconds"]], 4),
    ratio = round(m[["seconds"]] / p[["seconds"]], 2),
    mhe_cpu_s = round(m[["cpu"]], 4), plain_cpu_s = round(p[["cpu"]], 4),
    cpu_ratio = round(m[["cpu"]] / p[["cpu"]], 2),
    mhe_bytes_sent = m[["bytes"]], mhe_calls = m[["calls"]],
    plain_bytes_sent = p[["bytes"]], plain_calls = p[["calls"]]
  )
}

# 10 standard normal covariates, y ~ Bernoulli(plogis(x'beta)).
make_glm_data <- function(sites, p = 10L) {
  set.seed(2)
  beta <- c(-0.5, seq(-0.5, 0.5, length.out = p))
  lapply(seq_len(sites), function(i) {
    x <- matrix(rnorm(rows * p), rows, p, dimnames = list(NULL, sprintf("x%02d", seq_len(p))))
    d <- as.data.frame(x)
    d$y <- rbinom(rows, 1L, stats::plogis(drop(cbind(1, x) %*% beta)))
    d
  })
}

bench_glm <- function(sites = 3L) {
  data <- make_glm_data(sites)
  conns <- login(data)
  suppressWarnings(ds.mheSetup(conns))
  formula <- stats::reformulate(setdiff(names(data[[1]]), "y"), "y")
  fit <- function(plaintext) {
    function() dsMHE:::mhe_glm_run(formula, "binomial", datasources = conns, plaintext = plaintext)
  }
  encrypted <- fit(FALSE)()
  plain <- fit(TRUE)()
  reference <- stats::glm(formula, stats::binomial(), do.call(rbind, data))
  se <- sqrt(diag(stats::vcov(reference)))
  message(sprintf(
    "GLM: %d iterations encrypted, %d plaintext, %d glm(); max relative difference to glm(): %.1e (coefficients), %.1e (standard errors)",
    encrypted$iter, plain$iter, reference$iter,
    max(abs(stats::coef(encrypted) / stats::coef(reference) - 1)),
    max(abs(encrypted$coefficients[, "Std. Error"] / se - 1))
  ))
  result <- compare(sites, "glm (binomial, 10 covariates)", measure(fit(FALSE)), measure(fit(TRUE)))
  result$iterations <- encrypted$iter
  ds.mheClose(conns)
  datashield.logout(conns)
  result
}

# Setup alone over `sites` sites of 20 rows, after each server's first call.
bench_setup <- function(sites) {
  set.seed(4)
  conns <- login(lapply(seq_len(sites), function(i) data.frame(x = rnorm(20))))
  first <- system.time(try(suppressWarnings(datashield.aggregate(conns, call("mheAuditDS"))),
                           silent = TRUE))[["elapsed"]]
  setup <- function() suppressWarnings(ds.mheSetup(conns))
  sent$bytes <- 0
  sent$calls <- 0L
  setup()
  bytes <- sent$bytes
  calls <- sent$calls
  times <- vapply(seq_len(runs), function(i) system.time(setup())[["elapsed"]], 0)
  ds.mheClose(conns)
  datashield.logout(conns)
  data.frame(sites = sites, statistic = "setup", mhe_s = round(stats::median(times), 3),
             first_call_s = round(first, 3), mhe_bytes_sent = bytes, mhe_calls = calls)
}

if (part == "setup") {
  results <- do.call(rbind, lapply(setup_sites, bench_setup))
  print(results, row.names = FALSE)
  quit(save = "no")
}

results <- list()
if (part %in% c("all", "stats")) for (sites in c(3L, 10L)) {
  conns <- login(make_data(sites))
  setup <- system.time(suppressWarnings(ds.mheSetup(conns)))[["elapsed"]]
  cases <- list(
    mean = list(mhe = function() ds.mheMean("D$age", datasources = conns),
                plain = plain(conns, "D$age", "mean")),
    table = list(mhe = function() ds.mheTable("D$group", datasources = conns),
                 plain = plain(conns, "D$group", "table")),
    cor = list(mhe = function() ds.mheCor(c("D$age", "D$bmi", "D$sbp"), datasources = conns),
               plain = plain(conns, "D$age,D$bmi,D$sbp", "cor"))
  )
  for (name in names(cases)) {
    results[[length(results) + 1L]] <- compare(
      sites, name, measure(cases[[name]]$mhe), measure(cases[[name]]$plain)
    )
  }
  message(sprintf("%d sites: setup %.2f s", sites, setup))
  ds.mheClose(conns)
  datashield.logout(conns)
}
# 20 numeric variables with missing values, for the summary case.
make_summary_data <- function(sites, p = 20L) {
  set.seed(3)
  lapply(seq_len(sites), function(i) {
    d <- as.data.frame(matrix(rnorm(rows * p, 50, 10), rows, p,
                              dimnames = list(NULL, sprintf("v%02d", seq_len(p)))))
    for (j in seq_len(p)) d[[j]][sample(rows, rows / 50)] <- NA
    d
  })
}

# The same two rounds as ds.mheSummary(), with each site's sums in the clear.
plain_summary <- function(conns, vars) {
  arg <- paste(vars, collapse = ",")
  function() {
    first <- matrix(Reduce(`+`, datashield.aggregate(conns, call("mhePlainSumDS", arg, "summary"))),
                    nrow = 3L)
    means <- first[1L, ] / first[2L, ]
    hex <- dsMHE:::mhe_dbl_encode(ifelse(first[2L, ] > 0, means, 0))
    second <- Reduce(`+`, datashield.aggregate(conns, call("mhePlainSumDS", arg, "summary", hex)))
    matrix(second, nrow = 2L)[1L, ] / (first[2L, ] - 1)
  }
}

if (part %in% c("all", "summary")) for (sites in c(3L, 10L)) {
  data <- make_summary_data(sites)
  conns <- login(data)
  suppressWarnings(ds.mheSetup(conns))
  vars <- paste0("D$", names(data[[1]]))
  summary <- function() ds.mheSummary(vars, datasources = conns)
  check <- summary()
  all <- do.call(rbind, data)
  message(sprintf(
    "%d sites, summary of %d variables: max relative difference to base R %.1e (means), %.1e (variances)",
    sites, length(vars), max(abs(check$mean / colMeans(all, na.rm = TRUE) - 1)),
    max(abs(check$var / vapply(all, stats::var, 0, na.rm = TRUE) - 1))
  ))
  m <- measure(summary)
  means <- function() lapply(vars, function(v) plain(conns, v, "mean")())
  results[[length(results) + 1L]] <- compare(sites, "summary of 20 vs 20 plain means", m,
                                             measure(means))
  results[[length(results) + 1L]] <- compare(sites, "summary of 20 vs plain summary", m,
                                             measure(plain_summary(conns, vars)))
  encrypted_means <- function() lapply(vars, ds.mheMean, datasources = conns)
  results[[length(results) + 1L]] <- compare(sites, "summary of 20 vs 20 ds.mheMean", m,
                                             measure(encrypted_means))
  ds.mheClose(conns)
  datashield.logout(conns)
  rm(data, all)
}
if (part %in% c("all", "glm")) {
  mhe_glm_result <- bench_glm()
  results <- lapply(results, function(r) cbind(r, iterations = NA_integer_))
  results[[length(results) + 1L]] <- mhe_glm_result
}
results <- do.call(rbind, results)
print(results, row.names = FALSE)
invisible(results)

# The exact survival curve on a public grid of 8192 points, 3 sites x `rows`.
make_surv_data <- function(sites) {
  set.seed(3)
  lapply(seq_len(sites), function(i) {
    data.frame(time = round(rexp(rows, 1 / 365), 1), status = rbinom(rows, 1, 0.7))
  })
}

# The curve ds.mheSurvfit() computes, from the sites' counts in the clear.
plain_surv <- function(conns, grid) {
  function() {
    status <- Reduce(`+`, datashield.aggregate(conns, call("mhePlainSurvDS", "D$time", "D$status",
                                                           "status")))
    coding <- dsMHE:::mhe_km_coding(matrix(round(status), nrow = 3L))
    counts <- Reduce(`+`, datashield.aggregate(conns, call(
      "mhePlainSurvDS", "D$time", "D$status", "counts", dsMHE:::mhe_dbl_encode(grid), coding
    )))
    fit <- suppressMessages(dsMHE:::mhe_km_fit(counts, grid, NULL, NULL))
    fit$limits <- dsMHE:::mhe_km_confint(fit$surv, fit$std.err, 0.95, "log-log")
    fit
  }
}

if (part %in% c("all", "survival")) {
  sites <- 3L
  conns <- login(make_surv_data(sites))
  suppressWarnings(ds.mheSetup(conns))
  grid <- seq(1, 1000, length.out = 8192L)
  mhe <- function() {
    suppressMessages(ds.mheSurvfit("D$time", "D$status", times = grid, datasources = conns))
  }
  same <- isTRUE(all.equal(mhe()$surv, plain_surv(conns, grid)()$surv, tolerance = 0))
  m <- measure(mhe)
  p <- measure(plain_surv(conns, grid))
  r <- compare(sites, "survfit, 8192-point grid", m, p)
  r$same_curve <- same
  print(r, row.names = FALSE)
  ds.mheClose(conns)
  datashield.logout(conns)
}
