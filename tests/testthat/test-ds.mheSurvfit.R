# Kaplan-Meier over survival::lung split by row order across 3 sites
# (federation "lung", see helper-dslite.R). Each site sets every count
# 0 < count < nfilter.tab to 0 and accepts at most n / nfilter.tab grid points
# (25 for lung's 76 rows a site), so the lung curves are compared with the
# life table of the row-bound data computed with each site's small cells
# zeroed (`zeroed_curve()`); the exact comparison with survfit() uses data
# where every cell is large (federation "rows", helper-data-rows.R).

lung_grid <- seq(50, 1100, by = 50)

km_fields <- c("time", "n.risk", "n.event", "n.censor", "surv", "std.err",
               "cumhaz", "std.chaz", "lower", "upper")

reference <- function(formula, data, conf.type = "log-log", conf.int = 0.95) {
  survival::survfit(formula, data = data, conf.type = conf.type, conf.int = conf.int)
}

expect_same_curve <- function(fit, ref, fields = km_fields) {
  expect_s3_class(fit, "survfit")
  for (f in fields) {
    expect_equal(fit[[f]], ref[[f]], tolerance = 1e-9, label = paste0("fit$", f))
  }
  expect_identical(fit$n, ref$n)
  expect_identical(fit$strata, ref$strata)
}

# The life table on `grid` from pooled counts per interval: events `d`,
# censored at the end point `at`, censored strictly inside `inside` (half of
# them at risk at the end point), and `beyond` the last point.
life_table_counts <- function(grid, d, at, inside, beyond) {
  alive <- sum(d + at + inside) + beyond
  rows <- list()
  for (k in seq_along(grid)) {
    if (d[k] + at[k] + inside[k] > 0) {
      rows[[length(rows) + 1L]] <- c(time = grid[k], n.risk = alive - inside[k] / 2,
                                     n.event = d[k], n.censor = at[k] + inside[k])
    }
    alive <- alive - d[k] - at[k] - inside[k]
  }
  table <- as.data.frame(do.call(rbind, rows))
  table$surv <- cumprod(1 - table$n.event / table$n.risk)
  table$std.err <- sqrt(cumsum(table$n.event / (table$n.risk * (table$n.risk - table$n.event))))
  list(table = table, n = sum(d + at + inside) + beyond)
}

# The curve the sites' rules give: per site, complete rows, strata with fewer
# than 3 rows left out, counts per interval of `grid`, every count
# 0 < count < 3 set to 0; pooled; then the life table per stratum. `event`
# is a function of the event column giving TRUE for an event.
zeroed_curve <- function(conns, time, status, grid, event, group = NULL, levels = NULL) {
  m <- length(grid)
  cells <- lapply(attr(conns, "data"), function(d) {
    g <- if (is.null(group)) rep("all", nrow(d)) else as.character(d[[group]])
    lv <- levels %||% "all"
    ok <- !is.na(d[[time]]) & !is.na(d[[status]]) & !is.na(g)
    size <- table(factor(g[ok], levels = lv))
    ok <- ok & g %in% names(size)[size >= 3]
    lapply(lv, function(l) {
      rows <- ok & g == l
      t <- d[[time]][rows]
      e <- event(d[[status]][rows])
      k <- findInterval(t, grid, left.open = TRUE) + 1L
      within <- k <= m
      at_point <- within & t == grid[pmin(k, m)]
      count <- function(keep) tabulate(k[keep], nbins = m)
      list(d = zero_small(count(within & e)), at = zero_small(count(at_point & !e)),
           inside = zero_small(count(within & !at_point & !e)),
           beyond = zero_small(sum(!within)))
    })
  })
  lv <- levels %||% "all"
  lapply(stats::setNames(seq_along(lv), lv), function(s) {
    part <- function(name) Reduce(`+`, lapply(cells, function(site) site[[s]][[name]]))
    life_table_counts(grid, part("d"), part("at"), part("inside"), part("beyond"))
  })
}

expect_zeroed_curve <- function(fit, truth, group = NULL) {
  expect_s3_class(fit, "survfit")
  kept <- truth[vapply(truth, function(x) nrow(x$table) > 0, TRUE)]
  strata <- if (length(kept) > 1L) rep(names(kept), vapply(kept, function(x) nrow(x$table), 1L))
  for (f in c("time", "n.risk", "n.event", "n.censor", "surv", "std.err")) {
    expected <- unlist(lapply(kept, function(x) x$table[[f]]), use.names = FALSE)
    expect_equal(fit[[f]], expected, tolerance = 1e-9, label = paste0("fit$", f))
  }
  expect_equal(fit$n, unname(vapply(kept, `[[`, 1, "n")))
  if (!is.null(strata)) {
    expect_identical(unname(rep(names(fit$strata), fit$strata)),
                     paste0(sub("^D\\$", "", group), "=", strata))
  }
}

is_two <- function(x) x == 2

test_that("the pooled curve equals survfit() where every site's cells are large", {
  conns <- rows_federation()
  all <- pooled(conns)
  fit <- ds.mheSurvfit("D$tgrid", "D$ev_big", times = seq(30, 300, 30), datasources = conns)
  ref <- reference(survival::Surv(tgrid, ev_big) ~ 1, all)
  expect_same_curve(fit, ref)
  expect_true(all(ref$n.event > 1)) # tied event times
  expect_identical(unclass(fit)[c("type", "logse", "conf.int", "conf.type")],
                   unclass(ref)[c("type", "logse", "conf.int", "conf.type")])
  fit <- ds.mheSurvfit("D$tgrid", "D$ev_big", group = "D$arm2", times = seq(30, 300, 30),
                       datasources = conns)
  expect_same_curve(fit, reference(survival::Surv(tgrid, ev_big) ~ arm2, all))
  expect_named(fit$strata, c("arm2=a", "arm2=b"))
})

test_that("factor-coded events (0/1 and 1/2, as Opal assigns them) give the numeric codes' curve", {
  conns <- rows_federation()
  numeric <- ds.mheSurvfit("D$tgrid", "D$ev_big", times = seq(30, 300, 30), datasources = conns)
  for (event in c("D$ev_big_f01", "D$ev_big_f12")) {
    fit <- ds.mheSurvfit("D$tgrid", event, times = seq(30, 300, 30), datasources = conns)
    expect_same_curve(fit, numeric, fields = setdiff(km_fields, "call"))
  }
})

test_that("on a public grid the curve is the life table with each site's small cells zeroed", {
  conns <- federation("lung")
  fit <- ds.mheSurvfit("D$time", "D$status", times = lung_grid, datasources = conns)
  expect_zeroed_curve(fit, zeroed_curve(conns, "time", "status", lung_grid, is_two))
  expect_true(all(fit$n.event == 0 | fit$n.event >= 3))
})

by_sex <- local({
  fit <- NULL
  function(conns) {
    if (is.null(fit)) {
      fit <<- ds.mheSurvfit("D$time", "D$status", group = "D$sex",
                            times = lung_grid, datasources = conns)
    }
    fit
  }
})

test_that("strata by group follow the zeroed life table with survfit()'s strata names", {
  conns <- federation("lung")
  fit <- by_sex(conns)
  truth <- zeroed_curve(conns, "time", "status", lung_grid, is_two, "sex", c("1", "2"))
  expect_zeroed_curve(fit, truth, "D$sex")
  expect_named(fit$strata, c("sex=1", "sex=2"))
})

test_that("summary(), print(), quantile() and plot() of survival work on the result", {
  conns <- federation("lung")
  fit <- by_sex(conns)
  at <- c(100, 200, 400)
  s <- summary(fit, times = at)
  for (sex in names(fit$strata)) {
    mine <- rep(names(fit$strata), fit$strata) == sex
    step <- stats::stepfun(fit$time[mine], c(1, fit$surv[mine]), right = FALSE)
    expect_equal(s$surv[s$strata == sex], step(at), tolerance = 1e-12)
  }
  expect_output(print(fit), "sex=2")
  expect_output(print(s), "400")
  expect_true(all(quantile(fit)$quantile %in% c(NA, fit$time)))
  grDevices::pdf(NULL)
  on.exit(grDevices::dev.off())
  expect_no_error(plot(fit, conf.int = TRUE, col = 1:2))
  expect_no_error(plot(fit, fun = "cumhaz"))
})

test_that("log and plain confidence limits equal survfit()'s", {
  conns <- rows_federation()
  all <- pooled(conns)
  for (type in c("log", "plain")) {
    fit <- ds.mheSurvfit("D$tgrid", "D$ev_big", times = seq(30, 300, 30), conf.int = 0.9,
                         conf.type = type, datasources = conns)
    ref <- reference(survival::Surv(tgrid, ev_big) ~ 1, all, conf.type = type, conf.int = 0.9)
    expect_same_curve(fit, ref)
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
  expect_gte(max(fit$time), stats::quantile(all$time, 0.95))
  # it is the zeroed life table on its own grid, stratum by stratum
  grid <- sort(unique(fit$time))
  expect_zeroed_curve(fit, zeroed_curve(conns, "time", "status", grid, is_two, "sex", c("1", "2")),
                      "D$sex")
  single <- ds.mheSurvfit("D$time", "D$status", bins = 10, datasources = conns)
  expect_true(all(single$n.event == 0 | single$n.event >= 3))
  expect_zeroed_curve(single, zeroed_curve(conns, "time", "status", sort(unique(single$time)),
                                           is_two))
})

test_that("merging closes an interval once every stratum with events holds enough", {
  merge <- dsMHE:::mhe_km_merge_grid
  points <- c(0, 10, 20, 30, 40, 50)
  events <- cbind(c(0, 3, 0, 4, 5, 1), c(0, 1, 2, 3, 0, 0))
  # the rest after the last closed interval joins it
  expect_identical(merge(points, events, c(TRUE, TRUE), 3), c(20, 50))
  expect_identical(merge(points, events, c(TRUE, FALSE), 3), c(10, 30, 50))
  expect_identical(merge(points, events, c(FALSE, FALSE), 3), points)
  expect_null(merge(points, events[, 2, drop = FALSE], TRUE, 7))
})

test_that("a site with no events gives the zeroed life table", {
  conns <- federation("lung")
  fit <- ds.mheSurvfit("D$time", "D$none", times = lung_grid, datasources = conns)
  expect_zeroed_curve(fit, zeroed_curve(conns, "time", "none", lung_grid, is_two))
  fit <- ds.mheSurvfit("D$time", "D$none", group = "D$sex", times = lung_grid, datasources = conns)
  expect_zeroed_curve(fit, zeroed_curve(conns, "time", "none", lung_grid, is_two, "sex", c("1", "2")),
                      "D$sex")
})

test_that("no events anywhere gives a flat curve", {
  conns <- federation("lung")
  fit <- ds.mheSurvfit("D$time", "D$alive", times = lung_grid, datasources = conns)
  expect_zeroed_curve(fit, zeroed_curve(conns, "time", "alive", lung_grid, identity))
  expect_true(all(fit$surv == 1))
})

test_that("a group level absent at one site gives survfit()'s strata names", {
  conns <- federation("lung")
  fit <- ds.mheSurvfit("D$time", "D$status", group = "D$arm", times = lung_grid,
                       datasources = conns)
  truth <- zeroed_curve(conns, "time", "status", lung_grid, is_two, "arm", c("a", "b", "c"))
  expect_zeroed_curve(fit, truth, "D$arm")
  expect_named(fit$strata, c("arm=a", "arm=b", "arm=c"))
})

test_that("logical events and missing times are handled as survfit() does", {
  conns <- federation("lung")
  all <- pooled(conns)
  fit <- ds.mheSurvfit("D$time_na", "D$dead", times = lung_grid[-1], datasources = conns)
  expect_zeroed_curve(fit, zeroed_curve(conns, "time_na", "dead", lung_grid[-1], identity))
})

test_that("times after the last grid point stay at risk and are reported", {
  conns <- federation("lung")
  grid <- seq(50, 500, by = 50)
  expect_message(
    fit <- ds.mheSurvfit("D$time", "D$status", times = grid, datasources = conns),
    class = "dsMHE_message_beyond"
  )
  expect_zeroed_curve(fit, zeroed_curve(conns, "time", "status", grid, is_two))
  expect_lte(max(fit$time), 500)
})

test_that("bad inputs give a clear error naming the site, and the session survives", {
  conns <- federation("lung")
  err <- expect_error(ds.mheSurvfit("D$neg", "D$status", times = 365, datasources = conns),
                      class = "dsMHE_error")
  expect_match(conditionMessage(err), "l2: `D$neg` must not hold negative times", fixed = TRUE)
  expect_false(grepl("l1:", conditionMessage(err), fixed = TRUE))
  err <- expect_error(ds.mheSurvfit("D$time", "D$bad", times = 365, datasources = conns),
                      class = "dsMHE_error")
  expect_match(conditionMessage(err), "l1: `D$bad` must be logical, or coded 0/1 or 1/2",
               fixed = TRUE)
  expect_error(ds.mheSurvfit("D$time", "D$mixed", times = 365, datasources = conns),
               "must be coded the same way at every site", class = "dsMHE_error_input")
  expect_error(ds.mheSurvfit("D$time", "D$arm", times = 365, datasources = conns),
               "must be logical, or coded 0/1 or 1/2")
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
  fit <- ds.mheSurvfit("D$time", "D$status", times = lung_grid, datasources = conns)
  expect_zeroed_curve(fit, zeroed_curve(conns, "time", "status", lung_grid, is_two))
})

test_that("a stratum below nfilter.tab at a site is left out there, never refused", {
  conns <- federation("lung")
  # l1 holds 2 rows of level "y": they are left out, so "y" has no rows
  fit <- ds.mheSurvfit("D$time", "D$status", group = "D$small", times = lung_grid,
                       datasources = conns)
  expect_null(fit$strata)
  truth <- zeroed_curve(conns, "time", "status", lung_grid, is_two, "small", c("x", "y"))
  expect_zeroed_curve(fit, truth)
  expect_lte(fit$n, 226L)
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
               "`grid` must hold 1 to 10000 increasing, non-negative numbers")
  expect_match(direct(grid = dsMHE:::mhe_dbl_encode(1:30), coding = "12", mode = "counts"),
               "refused: nfilter.tab: the survival grid has 30 cells; at most n / nfilter.tab = 25")
  expect_match(direct(grid = dsMHE:::mhe_dbl_encode(1:3), coding = "01", mode = "counts"),
               "do not match the coding 01")
  expect_match(direct(mode = "plot"), "`mode` must be")
})
