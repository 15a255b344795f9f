# Kaplan-Meier over survival::lung split by row order across 3 sites
# (federation "lung", see helper-dslite.R), against survfit() on the
# row-bound data. The flagship test uses the public grid of whole days
# 1:1100; the others, to keep the suite fast (a grid of m points costs 3m + 1
# encrypted values per stratum), the observed times of the pooled data, which
# equally hold every observed time.

observed_times <- function(conns) sort(unique(pooled(conns)$time))

km_fields <- c("time", "n.risk", "n.event", "n.censor", "surv", "std.err",
               "cumhaz", "std.chaz", "lower", "upper")

reference <- function(formula, data, conf.type = "log-log") {
  survival::survfit(formula, data = data, conf.type = conf.type)
}

expect_same_curve <- function(fit, ref, fields = km_fields) {
  expect_s3_class(fit, "survfit")
  for (f in fields) {
    expect_equal(fit[[f]], ref[[f]], tolerance = 1e-9, label = paste0("fit$", f))
  }
  expect_identical(fit$n, ref$n)
  expect_identical(fit$strata, ref$strata)
}

# The life table on `grid` (the documented rule when observed times fall
# between grid points), written out interval by interval.
life_table <- function(time, event, grid) {
  alive <- length(time)
  lower <- -Inf
  rows <- list()
  for (t in grid) {
    inside <- time > lower & time <= t
    d <- sum(inside & event)
    at <- sum(inside & !event & time == t)
    within <- sum(inside & !event & time < t)
    if (d + at + within > 0) {
      rows[[length(rows) + 1L]] <- c(time = t, n.risk = alive - within / 2, n.event = d,
                                     n.censor = at + within)
    }
    alive <- alive - d - at - within
    lower <- t
  }
  table <- as.data.frame(do.call(rbind, rows))
  table$surv <- cumprod(1 - table$n.event / table$n.risk)
  table$std.err <- sqrt(cumsum(table$n.event / (table$n.risk * (table$n.risk - table$n.event))))
  table
}

test_that("the pooled curve equals survfit() on the row-bound lung data", {
  conns <- federation("lung")
  all <- pooled(conns)
  fit <- ds.mheSurvfit("D$time", "D$status", times = 1:1100, datasources = conns)
  ref <- reference(survival::Surv(time, status) ~ 1, all)
  expect_same_curve(fit, ref)
  expect_true(any(ref$n.event > 1)) # lung has tied event times
  expect_identical(unclass(fit)[c("type", "logse", "conf.int", "conf.type")],
                   unclass(ref)[c("type", "logse", "conf.int", "conf.type")])
})

by_sex <- local({
  fit <- NULL
  function(conns) {
    if (is.null(fit)) {
      fit <<- ds.mheSurvfit("D$time", "D$status", group = "D$sex",
                            times = observed_times(conns), datasources = conns)
    }
    fit
  }
})

test_that("strata by group equal survfit() with the same strata names", {
  conns <- federation("lung")
  fit <- by_sex(conns)
  ref <- reference(survival::Surv(time, status) ~ sex, pooled(conns))
  expect_same_curve(fit, ref)
  expect_named(fit$strata, c("sex=1", "sex=2"))
})

test_that("summary(), print(), quantile() and plot() of survival work on the result", {
  conns <- federation("lung")
  fit <- by_sex(conns)
  ref <- reference(survival::Surv(time, status) ~ sex, pooled(conns))
  at <- c(30, 90, 180, 365, 730)
  s <- summary(fit, times = at)
  r <- summary(ref, times = at)
  fields <- c("time", "n.risk", "n.event", "n.censor", "surv", "std.err", "lower", "upper", "strata")
  for (f in fields) {
    expect_equal(s[[f]], r[[f]], tolerance = 1e-9, label = paste0("summary$", f))
  }
  expect_output(print(fit), "sex=2")
  expect_output(print(s), "365")
  expect_equal(quantile(fit)$quantile, quantile(ref)$quantile)
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_no_error(plot(fit, conf.int = TRUE, col = 1:2))
  expect_no_error(plot(fit, fun = "cumhaz"))
})

test_that("log and plain confidence limits equal survfit()'s", {
  conns <- federation("lung")
  all <- pooled(conns)
  for (type in c("log", "plain")) {
    fit <- ds.mheSurvfit("D$time", "D$status", times = observed_times(conns), conf.int = 0.9,
                         conf.type = type, datasources = conns)
    ref <- survival::survfit(survival::Surv(time, status) ~ 1, data = all,
                             conf.type = type, conf.int = 0.9)
    expect_same_curve(fit, ref)
  }
})

test_that("a coarse public grid gives the life table on that grid", {
  conns <- federation("lung")
  all <- pooled(conns)
  grid <- seq(60, 1080, by = 60)
  fit <- ds.mheSurvfit("D$time", "D$status", times = grid, datasources = conns)
  expected <- life_table(all$time, all$status == 2, grid)
  for (f in names(expected)) {
    expect_equal(fit[[f]], expected[[f]], tolerance = 1e-9, label = paste0("fit$", f))
  }
})

test_that("the default grid holds at least nfilter.tab pooled events per interval and stratum", {
  conns <- federation("lung")
  all <- pooled(conns)
  expect_no_message(
    fit <- ds.mheSurvfit("D$time", "D$status", group = "D$sex", datasources = conns),
    class = "dsMHE_message_beyond"
  )
  expect_true(all(fit$n.event == 0 | fit$n.event >= 3))
  expect_lt(length(fit$time), 40L)
  expect_gte(max(fit$time), max(all$time))
  # it is the life table on its own grid, stratum by stratum
  grid <- sort(unique(fit$time))
  strata <- rep(names(fit$strata), fit$strata)
  for (sex in 1:2) {
    rows <- all$sex == sex
    expected <- life_table(all$time[rows], all$status[rows] == 2, grid)
    mine <- strata == paste0("sex=", sex)
    expect_equal(fit$surv[mine], expected$surv, tolerance = 1e-9)
    expect_equal(fit$n.risk[mine], expected$n.risk, tolerance = 1e-9)
    expect_equal(fit$std.err[mine], expected$std.err, tolerance = 1e-9)
  }
  single <- ds.mheSurvfit("D$time", "D$status", bins = 10, datasources = conns)
  expect_true(all(single$n.event == 0 | single$n.event >= 3))
  expect_identical(single$n, nrow(all))
})

test_that("merging closes an interval once every stratum with events holds enough", {
  merge <- dsMHE:::km_merge_grid
  points <- c(0, 10, 20, 30, 40, 50)
  events <- cbind(c(0, 3, 0, 4, 5, 1), c(0, 1, 2, 3, 0, 0))
  # the rest after the last closed interval joins it
  expect_identical(merge(points, events, c(TRUE, TRUE), 3), c(20, 50))
  expect_identical(merge(points, events, c(TRUE, FALSE), 3), c(10, 30, 50))
  expect_identical(merge(points, events, c(FALSE, FALSE), 3), points)
  expect_null(merge(points, events[, 2, drop = FALSE], TRUE, 7))
})

test_that("a site with no events gives survfit()'s answer", {
  conns <- federation("lung")
  all <- pooled(conns)
  fit <- ds.mheSurvfit("D$time", "D$none", times = observed_times(conns), datasources = conns)
  expect_same_curve(fit, reference(survival::Surv(time, none) ~ 1, all))
  fit <- ds.mheSurvfit("D$time", "D$none", group = "D$sex", times = observed_times(conns),
                       datasources = conns)
  expect_same_curve(fit, reference(survival::Surv(time, none) ~ sex, all))
})

test_that("no events anywhere gives survfit()'s flat curve", {
  conns <- federation("lung")
  fit <- ds.mheSurvfit("D$time", "D$alive", times = observed_times(conns), datasources = conns)
  ref <- reference(survival::Surv(time, alive) ~ 1, pooled(conns))
  expect_same_curve(fit, ref)
  expect_true(all(fit$surv == 1))
})

test_that("a group level absent at one site gives survfit()'s strata", {
  conns <- federation("lung")
  fit <- ds.mheSurvfit("D$time", "D$status", group = "D$arm", times = observed_times(conns),
                       datasources = conns)
  ref <- reference(survival::Surv(time, status) ~ arm, pooled(conns))
  expect_same_curve(fit, ref)
  expect_named(fit$strata, c("arm=a", "arm=b", "arm=c"))
})

test_that("logical events and missing times are handled as survfit() does", {
  conns <- federation("lung")
  all <- pooled(conns)
  fit <- ds.mheSurvfit("D$time_na", "D$dead", times = observed_times(conns), datasources = conns)
  ref <- reference(survival::Surv(time_na, dead) ~ 1, all)
  expect_same_curve(fit, ref)
  expect_identical(fit$n, nrow(all) - 3L)
})

test_that("times after the last grid point stay at risk and are reported", {
  conns <- federation("lung")
  all <- pooled(conns)
  times <- observed_times(conns)
  expect_message(
    fit <- ds.mheSurvfit("D$time", "D$status", times = times[times <= 500], datasources = conns),
    class = "dsMHE_message_beyond"
  )
  ref <- reference(survival::Surv(time, status) ~ 1, all)
  upto <- ref$time <= 500
  expect_equal(fit$time, ref$time[upto])
  for (f in c("n.risk", "n.event", "surv", "std.err", "lower", "upper")) {
    expect_equal(fit[[f]], ref[[f]][upto], tolerance = 1e-9, label = paste0("fit$", f))
  }
})

test_that("bad inputs give a clear error naming the site, and the session survives", {
  conns <- federation("lung")
  err <- expect_error(ds.mheSurvfit("D$neg", "D$status", times = 365, datasources = conns),
                      class = "dsMHE_error")
  expect_match(conditionMessage(err), "l2: `D$neg` must not hold negative times", fixed = TRUE)
  expect_false(grepl("l1:", conditionMessage(err), fixed = TRUE))
  err <- expect_error(ds.mheSurvfit("D$time", "D$bad", times = 365, datasources = conns),
                      class = "dsMHE_error")
  expect_match(conditionMessage(err), "l1: `D$bad` must be logical or coded 0/1 or 1/2",
               fixed = TRUE)
  expect_error(ds.mheSurvfit("D$time", "D$mixed", times = 365, datasources = conns),
               "must be coded the same way at every site", class = "dsMHE_error_input")
  expect_error(ds.mheSurvfit("D$time", "D$arm", times = 365, datasources = conns),
               "must be logical or coded 0/1 or 1/2")
  err <- expect_error(ds.mheSurvfit("mhe.party", "D$status", times = 365, datasources = conns),
                      class = "dsMHE_error")
  expect_match(conditionMessage(err), "l1: object `mhe.party` does not exist", fixed = TRUE)
  expect_error(ds.mheSurvfit("D$time; q()", "D$status", datasources = conns),
               class = "dsMHE_error_input")
  expect_error(
    ds.mheSurvfit("D$time", "D$status", group = c("D$sex", "D$arm"), datasources = conns),
    class = "dsMHE_error_input"
  )
  expect_error(ds.mheSurvfit("D$time", "D$status", times = c(5, 3), datasources = conns),
               class = "dsMHE_error_input")
  expect_error(ds.mheSurvfit("D$time", "D$status", times = -1, datasources = conns),
               class = "dsMHE_error_input")
  expect_error(ds.mheSurvfit("D$time", "D$status", bins = 0, datasources = conns),
               class = "dsMHE_error_input")
  expect_error(ds.mheSurvfit("D$time", "D$status", conf.int = 95, datasources = conns),
               class = "dsMHE_error_input")
  expect_error(ds.mheSurvfit("D$time", "D$status", conf.type = "arcsin", datasources = conns))
  fit <- ds.mheSurvfit("D$time", "D$status", times = observed_times(conns), datasources = conns)
  expect_same_curve(fit, reference(survival::Surv(time, status) ~ 1, pooled(conns)))
})

test_that("a site with a stratum below nfilter.tab refuses", {
  conns <- federation("lung")
  err <- expect_error(
    ds.mheSurvfit("D$time", "D$status", group = "D$small", times = 365, datasources = conns),
    class = "dsMHE_error_refused"
  )
  expect_false(grepl("l2", conditionMessage(err)))
  expect_snapshot(
    ds.mheSurvfit("D$time", "D$status", group = "D$small", times = 365, datasources = conns),
    error = TRUE
  )
  fit <- ds.mheSurvfit("D$time", "D$status", times = observed_times(conns), datasources = conns)
  expect_identical(fit$n, 228L)
})

test_that("the server checks the grid and the mode of a direct call", {
  conns <- federation("lung")
  direct <- function(...) {
    expr <- as.call(c(
      list(as.name("mheSurvfitDS"), "D$time", "D$status"), list(...),
      list(query = dsMHE:::rs_random_id(), sites = "l1,l2,l3")
    ))
    try(DSI::datashield.aggregate(conns, expr), silent = TRUE)
    paste(unlist(DSI::datashield.errors()), collapse = "\n")
  }
  expect_match(direct(mode = "counts", coding = "12"), "`grid` must be given")
  expect_match(direct(grid = dsMHE:::mhe_dbl_encode(c(5, 3)), coding = "12", mode = "counts"),
               "`grid` must hold 1 to 10001 increasing, non-negative numbers")
  expect_match(direct(grid = dsMHE:::mhe_dbl_encode(1:3), coding = "01", mode = "counts"),
               "do not match the coding 01")
  expect_match(direct(mode = "plot"), "`mode` must be")
})
