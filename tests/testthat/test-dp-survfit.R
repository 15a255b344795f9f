# ds.mheSurvfit() under differential privacy (issue 14; rust/mhe/DP.md,
# section 11): noisy cell counts (one row in one cell: sensitivity 1), at-risk
# numbers and the curve from them, bands that include the noise.

dp_km_federation <- function(query = "10") {
  dir <- tempfile("dp-km-audit-")
  dir.create(dir)
  data <- lung_data()
  opts <- lapply(names(data), function(site) {
    list(mhe.dp.epsilon = "1000", mhe.dp.query.epsilon = query, mhe.dp.delta = "1e-6",
         mhe.audit.file = file.path(dir, paste0(site, ".log")))
  })
  names(opts) <- names(data)
  fresh_federation(data, options = opts)
}

dp_km_grid <- seq(60, 600, 60)

# The exact pooled curve on the grid, from the pooled rows (the client's own
# estimator on exact counts, which equals survfit() where the grid holds every
# time; here the reference for the noise only).
dp_km_exact <- function(all) {
  t <- all$time
  event <- all$status == 2
  m <- length(dp_km_grid)
  point <- findInterval(t, dp_km_grid, left.open = TRUE) + 1L
  within <- point <= m
  at_point <- within & t == dp_km_grid[pmin(point, m)]
  count <- function(keep) tabulate(point[keep], nbins = m)
  dsMHE:::mhe_km_stratum(dp_km_grid, count(within & event), count(at_point & !event),
                         count(within & !at_point & !event), sum(!within))
}

test_that("with differential privacy off a survival curve is exact and carries no DP facts", {
  conns <- federation("lung")
  fit <- ds.mheSurvfit("D$time", "D$status", times = dp_km_grid, datasources = conns)
  # the reference: each site's exact counts with its small cells zeroed (DP
  # off), added, and the estimator on them
  counts <- Reduce(`+`, lapply(attr(conns, "data"), function(d) {
    rows <- list(time = d$time, status = d$status, stratum = rep(1L, nrow(d)), n_strata = 1L)
    dsMHE:::srv_surv_counts(rows, "s", dp_km_grid, "12")
  }))
  exact <- dsMHE:::mhe_km_fit(counts, dp_km_grid, NULL, NULL)
  expect_null(fit$dp)
  expect_null(fit$dp.std.err)
  expect_identical(fit$time, exact$time)
  expect_identical(fit$n.risk, exact$n.risk)
  expect_rel_equal(fit$surv, exact$surv)
  expect_rel_equal(fit$std.err, exact$std.err)
})

test_that("a survival curve under DP differs from the exact one by the noise it reports", {
  conns <- dp_km_federation()
  on.exit(DSI::datashield.logout(conns))
  exact <- dp_km_exact(pooled(conns))
  z <- c()
  for (i in 1:20) {
    fit <- ds.mheSurvfit("D$time", "D$status", times = dp_km_grid, datasources = conns)
    # the curve at 300 days (the 5th point), one value per independent run
    k <- match(300, fit$time)
    z <- c(z, (log(fit$surv[k]) - log(exact$surv[5L])) / fit$dp.std.err[k])
  }
  expect_setequal(fit$dp$site, c("l1", "l2", "l3"))
  # not exact, and the error follows the reported noise: sum(z^2) within the
  # chi-square(20) quantiles 5e-4 and 1 - 5e-4
  expect_true(all(z != 0))
  expect_gt(sum(z^2), stats::qchisq(5e-4, length(z)))
  expect_lt(sum(z^2), stats::qchisq(1 - 5e-4, length(z)))
  # the bands include the noise: std.err is Greenwood's (at the noisy counts)
  # plus the noise's, and the limits come from it
  kept <- seq_along(fit$time)
  expect_true(all(fit$std.err > fit$dp.std.err))
  expect_true(all(fit$lower < fit$surv & fit$surv < fit$upper))
  greenwood <- cumsum(fit$n.event / (fit$n.risk * (fit$n.risk - fit$n.event)))
  expect_rel_equal(fit$std.err^2, greenwood + fit$dp.std.err^2)
})

test_that("the counts of a survival curve under DP are not zeroed when small", {
  # each site's counts go out with noise, not zeroed: the cells a site holds
  # with fewer than nfilter.tab rows are in the pooled curve (on average)
  old <- options(mhe.dp.epsilon = 1, nfilter.tab = 3)
  on.exit(options(old))
  data <- list(time = c(1, 2, 2, 5, 8), status = c(1, 1, 0, 1, 1), stratum = rep(1L, 5),
               n_strata = 1L)
  counts <- dsMHE:::srv_surv_counts(data, "s1", c(2, 4, 8), "01", dp = TRUE)
  expect_identical(counts, c(2, 0, 2, 1, 0, 0, 0, 0, 0, 0))
  zeroed <- dsMHE:::srv_surv_counts(data, "s1", c(2, 4, 8), "01", dp = FALSE)
  expect_identical(zeroed, c(0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
  expect_identical(dsMHE:::srv_surv_dp_sensitivity("counts"), list(l2 = 1, l1 = 1))
  expect_identical(dsMHE:::srv_surv_dp_sensitivity("scale"), list(l2 = sqrt(3), l1 = 3))
  # the mean time's sum on the scale of the analyst's bound: a row adds at most 1
  tallies <- dsMHE:::srv_surv_tallies(data, scale = TRUE, dp = TRUE, time_bounds = c(0, 6),
                                      time_scale = 10)
  expect_identical(tallies, c(5, 1, 0, (1 + 2 + 2 + 5 + 6) / 10))
})

test_that("the default time grid under DP needs bounds for the time, and then gives a curve", {
  conns <- dp_km_federation()
  on.exit(DSI::datashield.logout(conns))
  expect_error(ds.mheSurvfit("D$time", "D$status", datasources = conns),
               "needs `bounds` for `D\\$time`", class = "dsMHE_error_refused_dp_unsupported")
  fit <- ds.mheSurvfit("D$time", "D$status", datasources = conns, bounds = c(0, 2000))
  # three charged rounds at least at every site: the mean time, the coarse
  # bins, the counts (the refused query charged nothing)
  audit <- readLines(site_audit_file(conns, "l1"))
  expect_gte(length(grep("spent=", audit)), 3L)
  expect_true(length(fit$time) >= 2L && all(diff(fit$time) > 0))
  expect_true(all(diff(fit$surv) <= 0) && all(fit$surv >= 0 & fit$surv <= 1))
})
