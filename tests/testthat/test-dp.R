# Differential privacy inside the encryption (issue 14): each site with
# `mhe.dp.epsilon` set adds its noise share before it encrypts, charges the
# analyst's budget in its audit file, and signs the DP facts; the client
# returns them with the pooled values. Every server call the tests send is
# checked against Opal's rules (helper-opal-rules.R).

# Server options of a DP site (given as text, as a server profile would) with
# its own audit file `audit` (a path that outlives a login, as a real site's
# file does).
dp_options <- function(audit, epsilon = "1000", query = "1", bounds = "D$LAB_TSC:0:15",
                       ...) {
  list(mhe.dp.epsilon = epsilon, mhe.dp.query.epsilon = query, mhe.dp.delta = "1e-6",
       mhe.dp.bounds = bounds, mhe.audit.file = audit, ...)
}

dp_audit_files <- function() {
  dir <- tempfile("dp-audit-")
  dir.create(dir)
  stats::setNames(file.path(dir, paste0(c("sim1", "sim2", "sim3"), ".log")),
                  c("sim1", "sim2", "sim3"))
}

dp_federation <- function(audit = dp_audit_files(), ..., setup = TRUE) {
  opts <- lapply(names(audit), function(site) dp_options(audit[[site]], ...))
  names(opts) <- names(audit)
  conns <- fresh_federation(options = opts, setup = setup)
  attr(conns, "audit") <- audit
  conns
}

# The standard deviation of a pooled mean's error, S~/N~ - S/N, to first
# order: the sum and the count each carry noise of variance V.
mean_error_sd <- function(dp, mean, n) {
  v <- sum(dp$variance)
  sqrt(v * (1 + mean^2)) / n
}

# sum(z^2) of standard normal errors lies between the chi-square quantiles
# 5e-4 and 1 - 5e-4: a false failure rate of 1e-3.
expect_errors_follow_the_noise <- function(z) {
  expect_true(all(z != 0))
  expect_gt(sum(z^2), stats::qchisq(5e-4, length(z)))
  expect_lt(sum(z^2), stats::qchisq(1 - 5e-4, length(z)))
}

test_that("with differential privacy off every result is exact and carries no DP facts", {
  conns <- federation("cnsim")
  x <- pooled(conns)$LAB_TSC
  res <- ds.mheMean("D$LAB_TSC", datasources = conns)
  expect_rel_equal(res$mean, mean(x, na.rm = TRUE))
  expect_null(res$dp)
  expect_false("dp" %in% names(res))
  expect_false(any(grepl("Differential privacy", format(res))))
  v <- dsMHE:::mhe_query(conns, "mheMeanDS", list("D$LAB_TSC"))
  expect_null(attr(v, "dp"))
  expect_identical(as.vector(v)[2:3], c(sum(!is.na(x)), sum(is.na(x))) + 0)
})

test_that("the server options of differential privacy accept the text a server profile gives", {
  old <- options(mhe.dp.epsilon = "2", mhe.dp.delta = "1e-7", mhe.dp.query.epsilon = "0.5",
                 mhe.dp.bounds = "D$age:0:120;D$bmi:-1.5:6e1",
                 mhe.dp.analysts = "alice:00112233445566778899aabbccddeeff")
  on.exit(options(old))
  s <- dsMHE:::srv_dp_settings("s1")
  expect_identical(s[c("epsilon", "delta", "query_epsilon")],
                   list(epsilon = 2, delta = 1e-7, query_epsilon = 0.5))
  expect_identical(s$bounds, list("D$age" = c(0, 120), "D$bmi" = c(-1.5, 60)))
  expect_identical(s$analysts, c(alice = "00112233445566778899aabbccddeeff"))
  options(mhe.dp.query.epsilon = NULL)
  expect_identical(dsMHE:::srv_dp_settings("s1")$query_epsilon, 1)
  options(mhe.dp.delta = "1")
  expect_error(dsMHE:::srv_dp_settings("s1"), "mhe.dp.delta")
  options(mhe.dp.delta = NULL, mhe.dp.bounds = "D$age:5:1")
  expect_error(dsMHE:::srv_dp_settings("s1"), "D\\$age:5:1")
  options(mhe.dp.epsilon = NULL)
  expect_null(dsMHE:::srv_dp_settings("s1"))
})

test_that("analyst bounds narrower than the admin's are intersected and wider ones lose", {
  old <- options(mhe.dp.epsilon = 1, mhe.dp.bounds = "D$age:0:120")
  on.exit(options(old))
  expect_identical(dsMHE:::srv_dp_bounds("D$age", c(10, 50), "s1"), c(10, 50))
  expect_identical(dsMHE:::srv_dp_bounds("D$age", c(-10, 200), "s1"), c(0, 120))
  expect_identical(dsMHE:::srv_dp_bounds("D$age", c(-10, 60), "s1"), c(0, 60))
  expect_identical(dsMHE:::srv_dp_bounds("D$age", NULL, "s1"), c(0, 120))
  expect_identical(dsMHE:::srv_dp_bounds("D$bmi", c(10, 60), "s1"), c(10, 60))
  expect_error(dsMHE:::srv_dp_bounds("D$age", c(150, 200), "s1"),
               class = "dsMHE_error_refused_dp_unsupported")
  options(mhe.dp.epsilon = NULL)
  expect_null(dsMHE:::srv_dp_bounds("D$age", c(10, 50), "s1"))
})

test_that("with differential privacy on a statistic that states no sensitivity is refused", {
  old <- options(mhe.dp.epsilon = 1)
  on.exit(options(old))
  err <- expect_error(
    dsMHE:::srv_contribute(NULL, "s1", "q", "glm-x", "D$a", "s1,s2", c(1, 2),
                           call = quote(mheGLMDS(x = "D$a"))),
    class = "dsMHE_error_refused_dp_unsupported"
  )
  expect_match(conditionMessage(err), "s1: refused: this site has differential privacy on",
               fixed = TRUE)
  expect_match(conditionMessage(err), "[dp_unsupported]", fixed = TRUE)
})

test_that("with differential privacy on the pooled mean's error is not zero and follows the reported noise", {
  conns <- dp_federation()
  x <- pooled(conns)$LAB_TSC
  x <- pmin(pmax(x[!is.na(x)], 0), 15)
  truth <- mean(x)
  z <- vapply(1:30, function(i) {
    res <- ds.mheMean("D$LAB_TSC", datasources = conns)
    expect_identical(nrow(res$dp), 3L)
    (res$mean - truth) / mean_error_sd(res$dp, truth, length(x))
  }, 0)
  expect_errors_follow_the_noise(z)
  res <- ds.mheMean("D$LAB_TSC", datasources = conns)
  dp <- res$dp
  expect_identical(dp$site, c("sim1", "sim2", "sim3"))
  expect_identical(unique(dp$mechanism), "discrete Gaussian shares (zCDP)")
  expect_true(all(dp$epsilon <= 1 & dp$epsilon > 0.99))
  expect_identical(unique(dp$honest), 1L)
  expect_identical(unique(dp$analyst), "unpinned")
  expect_identical(unique(dp$queries), 31)
  # the reported budget: spent is 31 queries' rho, what is left the rest
  expect_equal(dp$budget_spent_rho, 31 * dp$rho, tolerance = 1e-9)
  expect_equal(dp$budget_left_rho, dp$budget_total_rho - dp$budget_spent_rho, tolerance = 1e-12)
  # the noise sd of a share: Delta / sqrt(2 rho) with Delta = sqrt(15^2 + 1), h = 1
  expect_equal(dp$sigma, rep(sqrt(15^2 + 1) / sqrt(2 * dp$rho[1]), 3), tolerance = 1e-3)
  lines <- format(res)
  expect_match(lines, "Differential privacy: discrete Gaussian shares (zCDP)", fixed = TRUE,
               all = FALSE)
  expect_match(lines, "sim2 \\[Mean\\]: epsilon 1, delta 1e-06, noise sd [0-9.]+; budget left: rho",
               all = FALSE)
})

test_that("the isolating-variable attack returns an answer that is not exact and whose error follows the noise", {
  conns <- dp_federation()
  data <- attr(conns, "data")
  # a person at sim1 whose BMI nobody else has
  bmi <- unlist(lapply(data, `[[`, "PM_BMI_CONTINUOUS"))
  row <- which(!is.na(data$sim1$LAB_TSC) & data$sim1$PM_BMI_CONTINUOUS %in%
                 bmi[!duplicated(bmi) & !duplicated(bmi, fromLast = TRUE)])[1]
  b0 <- data$sim1$PM_BMI_CONTINUOUS[row]
  target <- data$sim1$LAB_TSC[row]
  # built directly in each site's session, as dsBase's assign methods would
  for (site in names(conns)) {
    env <- dslite_server(conns, site)$getSession(conns[[site]]@sid)
    env$D$ATT <- env$D$LAB_TSC * exp(-1e6 * (env$D$PM_BMI_CONTINUOUS - b0)^2)
  }
  att <- unlist(lapply(data, function(d) d$LAB_TSC * exp(-1e6 * (d$PM_BMI_CONTINUOUS - b0)^2)))
  att <- att[!is.na(att)]
  # without noise, the pooled sum would be one person's value
  expect_equal(sum(att), target, tolerance = 1e-9)
  z <- vapply(1:12, function(i) {
    res <- ds.mheMean("D$ATT", datasources = conns, bounds = c(0, 15))
    (res$mean - mean(att)) / mean_error_sd(res$dp, mean(att), length(att))
  }, 0)
  expect_errors_follow_the_noise(z)
  # the sum the analyst reads off is the person's value plus noise of sd ~ 100s
  res <- ds.mheMean("D$ATT", datasources = conns, bounds = c(0, 15))
  recovered <- res$mean * res$Nvalid
  expect_gt(sqrt(sum(res$dp$variance)), 50)
  expect_false(isTRUE(all.equal(recovered, target, tolerance = 1e-6)))
})

test_that("without clipping bounds a site with differential privacy on refuses and says how to give them", {
  conns <- dp_federation()
  err <- expect_error(ds.mheMean("D$LAB_HDL", datasources = conns),
                      class = "dsMHE_error_refused_dp_unsupported")
  expect_match(conditionMessage(err), "clipping bounds for `D$LAB_HDL`", fixed = TRUE)
  expect_match(conditionMessage(err), "bounds = c(lower, upper)", fixed = TRUE)
  expect_match(conditionMessage(err), "mhe.dp.bounds", fixed = TRUE)
  # the analyst's bounds suffice; wider ones than the admin's change nothing
  expect_s3_class(ds.mheMean("D$LAB_HDL", datasources = conns, bounds = c(0, 5)), "mhe_mean")
  wide <- ds.mheMean("D$LAB_TSC", datasources = conns, bounds = c(-100, 100))
  admin <- ds.mheMean("D$LAB_TSC", datasources = conns)
  narrow <- ds.mheMean("D$LAB_TSC", datasources = conns, bounds = c(0, 4))
  expect_identical(wide$dp$sigma, admin$dp$sigma)
  expect_lt(narrow$dp$sigma[1], admin$dp$sigma[1] / 3)
  # the narrow bounds clip the values: the mean is the clipped one, within noise
  x <- pooled(conns)$LAB_TSC
  x <- pmin(x[!is.na(x)], 4)
  expect_lt(abs(narrow$mean - mean(x)), 6 * mean_error_sd(narrow$dp, mean(x), length(x)))
})

test_that("a query beyond the budget is refused, also after a new setup and a new login", {
  audit <- dp_audit_files()
  # each mean spends epsilon 0.8 of 1: zCDP costs add, 2 rho(0.8) > rho(1)
  conns <- dp_federation(audit, epsilon = "1", query = "0.8")
  first <- ds.mheMean("D$LAB_TSC", datasources = conns)
  expect_true(all(first$dp$budget_left_rho < first$dp$rho))
  err <- expect_error(ds.mheMean("D$LAB_TSC", datasources = conns),
                      class = "dsMHE_error_refused_budget")
  expect_match(conditionMessage(err), "privacy budget exceeded for analyst 'unpinned'", fixed = TRUE)
  # the analyst may ask for less, never more
  expect_error(ds.mheMean("D$LAB_TSC", datasources = conns, epsilon = 0.9),
               class = "dsMHE_error_refused_dp_unsupported")
  expect_s3_class(ds.mheMean("D$LAB_TSC", datasources = conns, epsilon = 0.05), "mhe_mean")
  # a new setup, a new login and a new analyst key refill nothing
  suppressWarnings(ds.mheSetup(conns))
  expect_error(ds.mheMean("D$LAB_TSC", datasources = conns), class = "dsMHE_error_refused_budget")
  again <- dp_federation(audit, epsilon = "1", query = "0.8", setup = FALSE)
  suppressWarnings(ds.mheSetup(again, analyst_key = tempfile("new-analyst-")))
  expect_error(ds.mheMean("D$LAB_TSC", datasources = again), class = "dsMHE_error_refused_budget")
  # the audit file holds the charges: one line per contribution, with the budget
  lines <- readLines(audit[["sim1"]])
  charged <- grep("^v2\t", lines, value = TRUE)
  expect_length(charged, 2L)
  expect_match(charged, "dsmhe-dp-budget 1 analyst=unpinned", fixed = TRUE)
  # mheAuditRead() gives the site's admin the budget line of each charge
  log <- mheAuditRead(audit[["sim1"]])
  budget <- log$dp[log$event == "contribution" & nzchar(log$dp)]
  expect_length(budget, 2L)
  expect_match(budget[2], "queries=2$")
})

test_that("an analyst whose key the admins pinned spends a budget of its own", {
  audit <- dp_audit_files()
  key <- tempfile("pinned-analyst-")
  fp <- ds.mheAnalystKey(key)
  expect_match(fp, "^[0-9a-f]{32}$")
  conns <- dp_federation(audit, epsilon = "1", query = "0.8",
                         mhe.dp.analysts = paste0("alice:", fp), setup = FALSE)
  session <- suppressWarnings(ds.mheSetup(conns, analyst_key = key))
  expect_identical(unname(session$analysts), rep(fp, 3))
  expect_identical(ds.mheMean("D$LAB_TSC", datasources = conns)$dp$analyst, rep(fp, 3))
  expect_error(ds.mheMean("D$LAB_TSC", datasources = conns), class = "dsMHE_error_refused_budget")
  # another (unpinned) key is charged to the shared budget, still whole here
  other <- suppressWarnings(ds.mheSetup(conns, analyst_key = tempfile("other-")))
  expect_identical(unname(other$analysts), rep("unpinned", 3))
  expect_identical(ds.mheMean("D$LAB_TSC", datasources = conns)$dp$analyst, rep("unpinned", 3))
})

test_that("a federation mixing differential privacy on and off is refused at pooling", {
  audit <- dp_audit_files()
  opts <- list(sim1 = dp_options(audit[["sim1"]]), sim2 = list(mhe.audit.file = audit[["sim2"]]),
               sim3 = list(mhe.audit.file = audit[["sim3"]]))
  conns <- fresh_federation(options = opts)
  expect_error(ds.mheMean("D$LAB_TSC", datasources = conns),
               "differential privacy is on at 'sim1' and off at 'sim2'")
})

test_that("tables, histograms, variances, correlations and summaries carry noise under differential privacy", {
  # epsilon 50 per query: the cross products of a correlation have a large
  # sensitivity (sum of the squared clipping ranges), and the test checks the
  # wiring, not the utility at small epsilon
  conns <- dp_federation(bounds = "D$LAB_TSC:0:15;D$LAB_HDL:0:5", query = "50")
  data <- pooled(conns)
  tab <- ds.mheTable("D$GENDER", datasources = conns)
  truth <- table(data$GENDER, useNA = "always")
  sd <- sqrt(sum(tab$dp$variance))
  expect_identical(unique(tab$dp$kind), "Table")
  expect_true(all(abs(as.vector(tab$table)[1:2] - as.vector(truth)[1:2]) < 6 * sd + 1))
  expect_match(format(tab), "Differential privacy", fixed = TRUE, all = FALSE)
  h <- ds.mheHistogram("D$LAB_TSC", breaks = c(0, 4, 6, 8, 15), datasources = conns)
  exact <- graphics::hist(data$LAB_TSC, breaks = c(0, 4, 6, 8, 15), plot = FALSE)$counts
  expect_true(all(abs(h$counts - exact) < 6 * sqrt(sum(h$dp$variance)) + 1))
  v <- ds.mheVar("D$LAB_TSC", datasources = conns)
  expect_identical(v$dp$kind, rep(c("Var", "Var"), each = 3))
  expect_equal(v$var, stats::var(data$LAB_TSC, na.rm = TRUE), tolerance = 0.05)
  r <- ds.mheCor(c("D$LAB_TSC", "D$LAB_HDL"), datasources = conns)
  ok <- stats::complete.cases(data[, c("LAB_TSC", "LAB_HDL")])
  # the correlation's error has an sd of about 0.01 here: 0.1 is 8 sd
  expect_lt(abs(r$cor[1, 2] - stats::cor(data$LAB_TSC[ok], data$LAB_HDL[ok])), 0.1)
  expect_equal(r$cor, t(r$cor))
  s <- ds.mheSummary(c("D$LAB_TSC", "D$LAB_HDL"), datasources = conns)
  expect_equal(s$mean, c(mean(data$LAB_TSC, na.rm = TRUE), mean(data$LAB_HDL, na.rm = TRUE)),
               tolerance = 0.01)
  expect_identical(nrow(attr(s, "dp")), 6L)
  expect_match(format(s), "Differential privacy", fixed = TRUE, all = FALSE)
})

test_that("an epsilon with more digits than a call carries is rounded before it is sent", {
  conns <- dp_federation()
  # 1/3 deparses to 15 significant digits: the sites charge that number, and the
  # call still survives deparse and parse (helper-opal-rules.R)
  res <- ds.mheMean("D$LAB_TSC", datasources = conns, epsilon = 1 / 3)
  expect_s3_class(res, "mhe_mean")
  expect_equal(unique(res$dp$epsilon), as.numeric(deparse(1 / 3)), tolerance = 0)
  expect_false(isTRUE(all.equal(as.numeric(deparse(1 / 3)), 1 / 3, tolerance = 0)))
})
