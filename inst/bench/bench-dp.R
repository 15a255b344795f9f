# Benchmark part "dp" (issue 14): utility under differential privacy, over
# DSLite, through the whole stack (noise shares drawn by each site's Rust core
# inside its contribution, pooled, decrypted). Sourced by bench-r.R:
#
# Rscript inst/bench/bench-r.R [runs] dp [rows]
#
# 1. Pooled mean of a cholesterol-like variable (uniform on [2, 10], bounds
#    [0, 15]) over 3 sites x `rows` rows (default 1e5), at epsilon 0.1, 0.3, 1
#    and 3 per query (delta 1e-6, 3-of-3 key: h = 1 honest site assumed):
#    `runs` queries per epsilon (default 20); the rms relative error, the one
#    predicted from the noise sd the sites report, and the largest.
# 2. The 10-covariate binomial GLM of part "glm" (covariates N(0, 1)
#    truncated to their bounds [-4, 4]) at a total epsilon of 1 per fit, with
#    the coordinate bounds only (DP.md 10.6, design E) and with the rows
#    weighted, `intercept_scale = 0.25, norm = 1.25` (design G): over `runs`
#    fits (at most 10) each, max_j |b_j - glm_j| / se_j against glm() on the
#    pooled rows, and the median over coefficients; the reported standard
#    error (noise included) over glm()'s; the CPU seconds of the client
#    process per fit (DSLite: the sites run in it too).

suppressPackageStartupMessages({
  library(DSI)
  library(DSLite)
  library(dsMHE)
})
options(datashield.progress = FALSE, cli.progress_show_after = Inf)
dp_args <- commandArgs(TRUE)
dp_runs <- if (length(dp_args)) as.integer(dp_args[1]) else 20L
dp_rows <- if (length(dp_args) > 2L) as.numeric(dp_args[3]) else 1e5

# Each site's admin options for the duration of each of its calls (DSLite runs
# every site in this process): DP on, its own audit file (its ledger).
dp_site_options <- function(server, opts) {
  for (method in c("aggregate", "assignExpr")) local({
    original <- server[[method]]
    unlockBinding(method, server)
    assign(method, function(sid, ...) {
      old <- options(opts)
      on.exit(options(old))
      original(sid, ...)
    }, envir = server)
    lockBinding(method, server)
  })
}

dp_login <- function(data, query_epsilon) {
  servers <- new.env(parent = emptyenv())
  builder <- newDSLoginBuilder()
  for (i in seq_along(data)) {
    server <- newDSLiteServer(tables = list(D = data[[i]]),
                              config = defaultDSConfiguration(include = "dsMHE"))
    dp_site_options(server, list(
      mhe.allow.unpinned = TRUE, mhe.dp.epsilon = 1e6, mhe.dp.delta = 1e-6,
      mhe.dp.query.epsilon = query_epsilon, mhe.audit.file = tempfile("dsMHE-bench-dp-")
    ))
    assign(paste0("server", i), server, envir = servers)
    builder$append(server = paste0("site", i), url = paste0("server", i), table = "D",
                   driver = "DSLiteDriver")
  }
  old <- options(datashield.env = servers)
  on.exit(options(old))
  conns <- suppressMessages(datashield.login(builder$build(), assign = TRUE, symbol = "D"))
  suppressWarnings(ds.mheSetup(conns))
  conns
}

bench_dp_mean <- function() {
  set.seed(3)
  data <- lapply(1:3, function(i) data.frame(chol = runif(dp_rows, 2, 10)))
  truth <- mean(unlist(lapply(data, `[[`, "chol")))
  conns <- dp_login(data, query_epsilon = 3)
  on.exit(datashield.logout(conns))
  out <- lapply(c(0.1, 0.3, 1, 3), function(eps) {
    res <- replicate(dp_runs, {
      r <- ds.mheMean("D$chol", datasources = conns, epsilon = eps, bounds = c(0, 15))
      dp <- r$dp
      # first order: S/N with noise of variance V on S and on N
      V <- sum(dp$variance[dp$kind == dp$kind[nrow(dp)]])
      c(r$mean / truth - 1, sqrt(V * (1 + truth^2)) / (3 * dp_rows) / truth, dp$sigma[1])
    })
    data.frame(
      part = "mean", epsilon = eps, rows = 3 * dp_rows, runs = dp_runs,
      share_sigma = res[3, 1], rms_rel_error = sqrt(mean(res[1, ]^2)),
      predicted = mean(res[2, ]), max_rel_error = max(abs(res[1, ]))
    )
  })
  do.call(rbind, out)
}

bench_dp_glm <- function() {
  set.seed(2)
  p <- 10L
  beta <- c(-0.5, seq(-0.5, 0.5, length.out = p))
  data <- lapply(1:3, function(i) {
    x <- matrix(pmin(pmax(rnorm(dp_rows * p), -4), 4), dp_rows, p,
                dimnames = list(NULL, sprintf("x%02d", seq_len(p))))
    d <- as.data.frame(x)
    d$y <- rbinom(dp_rows, 1L, stats::plogis(drop(cbind(1, x) %*% beta)))
    d
  })
  formula <- stats::reformulate(sprintf("x%02d", seq_len(p)), "y")
  ref <- stats::glm(formula, stats::binomial(), do.call(rbind, data))
  se <- sqrt(diag(stats::vcov(ref)))
  conns <- dp_login(data, query_epsilon = 1)
  on.exit(datashield.logout(conns))
  bounds <- stats::setNames(rep(list(c(-4, 4)), p), sprintf("x%02d", seq_len(p)))
  designs <- list(E = list(norm = NULL, kappa = 1), G = list(norm = 1.25, kappa = 0.25))
  out <- lapply(names(designs), function(design) {
    norm <- designs[[design]]$norm
    kappa <- designs[[design]]$kappa
    res <- replicate(min(dp_runs, 10L), {
      t0 <- proc.time()
      fit <- ds.mheGLM(formula, family = "binomial", datasources = conns, bounds = bounds,
                       epsilon = 1, norm = norm, intercept_scale = kappa, progress = FALSE)
      t1 <- proc.time() - t0
      took <- t1[["user.self"]] + t1[["sys.self"]]
      ratio <- abs(stats::coef(fit) - stats::coef(ref)) / se
      c(max(ratio), stats::median(ratio), max(fit$coefficients[, "Std. Error"] / se), took)
    })
    data.frame(
      part = "glm", design = design, norm = if (is.null(norm)) NA_real_ else norm,
      intercept_scale = kappa, rows = 3 * dp_rows,
      runs = ncol(res), max_over_se_median = stats::median(res[1, ]),
      max_over_se_worst = max(res[1, ]), share_max_below_half = mean(res[1, ] < 0.5),
      coef_over_se_median = stats::median(res[2, ]), se_ratio_median = stats::median(res[3, ]),
      cpu_seconds_median = stats::median(res[4, ])
    )
  })
  do.call(rbind, out)
}

dp_mean <- bench_dp_mean()
print(dp_mean, row.names = FALSE, digits = 3)
dp_glm <- bench_dp_glm()
print(dp_glm, row.names = FALSE, digits = 3)
invisible(list(mean = dp_mean, glm = dp_glm))
