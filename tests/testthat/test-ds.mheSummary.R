# ds.mheSummary(): many variables in two encrypted round trips.

# The recorded calls (helper-opal-rules.R) sent since `mark`.
calls_since <- function(mark) {
  calls <- opal_recorder$calls
  if (length(calls) <= mark) return(list())
  calls[(mark + 1L):length(calls)]
}

call_names <- function(calls) {
  vapply(calls, function(record) as.character(record$expr[[1]]), "")
}

test_that("summaries of several variables equal base R on the pooled data (3 sites)", {
  conns <- federation("cnsim")
  all <- pooled(conns)
  columns <- c("LAB_TSC", "LAB_TRIG", "LAB_HDL", "LAB_GLUC_ADJUSTED", "PM_BMI_CONTINUOUS")
  vars <- paste0("D$", columns)
  result <- ds.mheSummary(vars, datasources = conns)
  expect_s3_class(result, c("mhe_summary", "data.frame"), exact = TRUE)
  expect_identical(rownames(result), vars)
  expect_identical(result$variable, vars)
  expect_identical(attr(result, "sites"), names(conns))
  for (j in seq_along(columns)) {
    v <- all[[columns[j]]]
    expect_rel_equal(result$mean[j], mean(v, na.rm = TRUE))
    expect_rel_equal(result$var[j], var(v, na.rm = TRUE))
    expect_identical(result$n[j], sum(!is.na(v)))
    expect_identical(result$n_missing[j], sum(is.na(v)))
    expect_identical(result$Nvalid[j], sum(!is.na(v)))
    expect_identical(result$Nmissing[j], sum(is.na(v)))
    expect_identical(result$Ntotal[j], length(v))
  }
})

test_that("summaries over 10 sites with missing values equal base R on the pooled data", {
  conns <- federation("ten")
  all <- pooled(conns)
  result <- ds.mheSummary(c("D$sbp", "D$age", "D$bmi"), datasources = conns)
  expect_identical(result$variable, c("D$sbp", "D$age", "D$bmi"))
  expect_rel_equal(result$mean, c(mean(all$sbp), mean(all$age, na.rm = TRUE),
                                  mean(all$bmi, na.rm = TRUE)))
  expect_rel_equal(result$var, c(var(all$sbp), var(all$age, na.rm = TRUE),
                                 var(all$bmi, na.rm = TRUE)))
  expect_identical(result$n_missing, c(0L, sum(is.na(all$age)), sum(is.na(all$bmi))))
  expect_identical(result$Ntotal, rep(nrow(all), 3L))
})

test_that("each summary row equals ds.mheVar on its variable, small-count rule included", {
  conns <- federation("ten")
  vars <- c("D$age", "D$tiny", "D$bmi")
  result <- ds.mheSummary(vars, datasources = conns)
  for (j in seq_along(vars)) {
    single <- ds.mheVar(vars[j], datasources = conns)
    expect_rel_equal(result$var[j], single$var)
    expect_rel_equal(result$mean[j], single$mean)
    expect_identical(result$Nvalid[j], single$Nvalid)
    expect_identical(result$Nmissing[j], single$Nmissing)
    expect_identical(result$Ntotal[j], single$Ntotal)
  }
  # s03 holds 2 valid values of `tiny` (< nfilter.tab): they count as missing
  kept <- pooled_over(conns, setdiff(names(conns), "s03"))
  expect_rel_equal(result["D$tiny", "mean"], mean(kept$tiny, na.rm = TRUE))
  expect_rel_equal(result["D$tiny", "var"], var(kept$tiny, na.rm = TRUE))
  expect_identical(result["D$tiny", "n"], sum(!is.na(kept$tiny)))
  expect_identical(result["D$tiny", "Ntotal"], nrow(pooled(conns)))
})

test_that("a summary costs two encrypted round trips whatever the number of variables", {
  conns <- federation("cnsim")
  vars <- paste0("D$", c("LAB_TSC", "LAB_TRIG", "LAB_HDL", "LAB_GLUC_ADJUSTED",
                         "PM_BMI_CONTINUOUS"))
  for (p in c(1L, 5L)) {
    mark <- length(opal_recorder$calls)
    ds.mheSummary(vars[seq_len(p)], datasources = conns)
    calls <- calls_since(mark)
    names <- call_names(calls)
    # per site: two contributions and two decryption shares, nothing else
    expect_identical(sort(unique(names)), c("mheDecryptDS", "mheSummaryDS"))
    expect_identical(sum(names == "mheSummaryDS"), 2L * length(conns))
    expect_identical(sum(names == "mheDecryptDS"), 2L * length(conns))
    # the variables travel as one string of Opal's grammar, not a nested call
    summary_calls <- calls[names == "mheSummaryDS"]
    for (record in summary_calls) {
      expect_identical(record$expr[[2]], paste(vars[seq_len(p)], collapse = ","))
      expect_identical(opal_problems(record), character())
    }
  }
})

test_that("a variable with fewer than two pooled values has variance NA, and none mean NaN", {
  conns <- federation("ten")
  old <- options(nfilter.tab = 11)
  on.exit(options(old))
  # every site holds at most 10 valid values of `tiny`: none contributes, and
  # the second round is not needed
  mark <- length(opal_recorder$calls)
  alone <- ds.mheSummary("D$tiny", datasources = conns)
  expect_identical(sum(call_names(calls_since(mark)) == "mheSummaryDS"), length(conns))
  expect_identical(alone$n, 0L)
  expect_true(is.nan(alone$mean))
  expect_identical(alone$var, NA_real_)
  expect_identical(alone$Nmissing, nrow(pooled(conns)))
  # beside a variable with values, its row stays the same
  both <- ds.mheSummary(c("D$tiny", "D$sbp"), datasources = conns)
  expect_identical(both$n, c(0L, nrow(pooled(conns))))
  expect_true(is.nan(both$mean[1]))
  expect_identical(both$var[1], NA_real_)
  expect_rel_equal(both$var[2], var(pooled(conns)$sbp))
})

test_that("a variable that is missing or not numeric is an error naming the site and the variable", {
  conns <- federation("cnsim")
  err <- expect_error(
    ds.mheSummary(c("D$LAB_TSC", "D$GENDER"), datasources = conns),
    class = "dsMHE_error"
  )
  expect_match(conditionMessage(err), "sim1: `D$GENDER` must be numeric, not a factor", fixed = TRUE)
  expect_match(conditionMessage(err), "sim3: `D$GENDER`", fixed = TRUE)
  expect_error(ds.mheSummary(c("D$NOPE", "D$LAB_TSC"), datasources = conns),
               "sim2: `D` has no column `NOPE`", fixed = TRUE)
  expect_error(ds.mheSummary(c("D$label", "D$age"), datasources = federation("ten")),
               "s01: `D$label` must be numeric, not of type character", fixed = TRUE)
  # the whole data frame holds factors
  expect_error(ds.mheSummary("D", datasources = conns), "`D$DIS_CVA` must be numeric", fixed = TRUE)
  # the session survives
  expect_rel_equal(ds.mheSummary("D$LAB_TSC", datasources = conns)$mean,
                   mean(pooled(conns)$LAB_TSC, na.rm = TRUE))
})

test_that("an empty, oversized, duplicated or malformed list is refused before any call", {
  conns <- federation("cnsim")
  mark <- length(opal_recorder$calls)
  expect_error(ds.mheSummary(character(), datasources = conns),
               "must name 1 to 200 numeric variables", class = "dsMHE_error_input")
  err <- expect_error(ds.mheSummary(paste0("D$v", 1:201), datasources = conns),
                      class = "dsMHE_error_input")
  expect_match(conditionMessage(err), "can't name more than 200 variables; it names 201")
  expect_error(ds.mheSummary(c("D$LAB_TSC", "D$LAB_HDL", "D$LAB_TSC"), datasources = conns),
               "distinct", class = "dsMHE_error_input")
  expect_error(ds.mheSummary(c("D$LAB_TSC", NA), datasources = conns), class = "dsMHE_error_input")
  expect_error(ds.mheSummary(1:2, datasources = conns), class = "dsMHE_error_input")
  expect_error(ds.mheSummary(c("D$LAB_TSC", "D$a,D$b"), datasources = conns),
               class = "dsMHE_error_input")
  expect_error(ds.mheSummary("D$age; q()", datasources = conns), class = "dsMHE_error_input")
  expect_error(ds.mheSummary("D$LAB_TSC", datasources = conns, type = "split"),
               class = "dsMHE_error_split")
  expect_length(calls_since(mark), 0L)
})

test_that("the sites refuse too many, repeated or malformed variables and means", {
  conns <- federation("cnsim")
  send <- function(x, means = NULL) {
    expr <- call("mheSummaryDS", x, means, query = dsMHE:::rs_random_id(),
                 sites = "sim1,sim2,sim3")
    expect_error(DSI::datashield.aggregate(conns, expr))
    errors <- unlist(DSI::datashield.errors())
    expect_named(errors, names(conns))
    errors
  }
  many <- paste(paste0("D$v", 1:201), collapse = ",")
  expect_match(send(many), "^sim[123]: `x` must name at most 200 variables, not 201$")
  expect_match(send("D$LAB_TSC,D$LAB_HDL,D$LAB_TSC"),
               "`x` must name distinct variables; `D$LAB_TSC` appears twice", fixed = TRUE)
  expect_match(send("D$LAB_TSC,,D$LAB_HDL"), "`x` must be variable names separated by commas")
  two <- dsMHE:::mhe_dbl_encode(c(1, 2))
  expect_match(send("D$LAB_TSC", two), "`means` must hold 1 number$")
  expect_match(send("D$LAB_TSC,D$LAB_HDL", "1.5"), "`means` must be doubles as comma-separated hex")
  expect_rel_equal(ds.mheSummary(c("D$LAB_HDL", "D$LAB_TSC"), datasources = conns)$var,
                   c(var(pooled(conns)$LAB_HDL, na.rm = TRUE),
                     var(pooled(conns)$LAB_TSC, na.rm = TRUE)))
})

test_that("a data frame name summarises all its columns", {
  make <- function(seed, n) {
    set.seed(seed)
    x <- round(rnorm(n, 10, 2), 2)
    x[c(2, 9)] <- NA
    data.frame(x = x, y = rpois(n, 4), z = runif(n))
  }
  old <- .Random.seed_save()
  data <- list(a = make(1, 40), b = make(2, 55))
  .Random.seed_restore(old)
  conns <- fresh_federation(data)
  on.exit(DSI::datashield.logout(conns))
  all <- do.call(rbind, unname(data))
  result <- ds.mheSummary("D", datasources = conns)
  expect_identical(result$variable, c("D$x", "D$y", "D$z"))
  expect_rel_equal(result$mean, unname(vapply(all, mean, 0, na.rm = TRUE)))
  expect_rel_equal(result$var, unname(vapply(all, var, 0, na.rm = TRUE)))
  expect_identical(result$Nmissing, c(4L, 0L, 0L))
})

test_that("a summary prints its pooled values and sites, and converts to a plain data frame", {
  vars <- c("D$age", "D$bmi")
  x <- data.frame(
    variable = vars, mean = c(45.123456, 26.5), var = c(144.25, 16.0625), n = c(1000L, 998L),
    n_missing = c(5L, 7L), Nvalid = c(1000L, 998L), Nmissing = c(5L, 7L),
    Ntotal = c(1005L, 1005L), row.names = vars
  )
  class(x) <- c("mhe_summary", "data.frame")
  attr(x, "sites") <- c("sim1", "sim2", "sim3")
  expect_snapshot(print(x))
  expect_snapshot(print(x, digits = 3))
  expect_identical(format(x)[1], "Pooled summary of 2 variables (dsMHE, encrypted)")
  expect_identical(class(as.data.frame(x)), "data.frame")
  expect_identical(as.data.frame(x)$var, c(144.25, 16.0625))
})

test_that("junk arguments to mheSummaryDS give an error naming the site, never a crash", {
  conns <- federation("cnsim")
  old <- .Random.seed_save()
  on.exit(.Random.seed_restore(old))
  set.seed(16)
  junk <- function() {
    switch(sample(6L, 1L),
      paste(sample(c(letters, LETTERS, 0:9, "_", "-", ".", ",", ":", ";", "$", "+"),
                   sample(1:60, 1L), TRUE), collapse = ""),
      paste(rep("D$LAB_TSC", sample(c(1L, 2L, 300L), 1L)), collapse = ","),
      dsMHE:::mhe_dbl_encode(c(NaN, Inf, 1)[sample(3L, sample(1:3, 1L), TRUE)]),
      sample(list(0, 1, 2L, 0.5, 1e6), 1L)[[1]],
      sample(list(TRUE, FALSE, NULL), 1L)[[1]],
      dsMHE:::rs_random_id()
    )
  }
  for (i in seq_len(20L)) {
    # every other call has a well-formed query and sites, so that `x` and
    # `means` are checked too
    args <- if (i %% 2L) {
      list(x = junk(), means = junk(), query = junk(), sites = junk())
    } else {
      list(x = junk(), means = junk(), query = dsMHE:::rs_random_id(), sites = "sim1,sim2,sim3")
    }
    expr <- as.call(c(list(as.name("mheSummaryDS")), args))
    result <- try(DSI::datashield.aggregate(conns, expr), silent = TRUE)
    errors <- DSI::datashield.errors()
    if (!length(errors)) {
      # junk that happens to be a valid request gets a contribution
      expect_true(all(vapply(result, is.raw, TRUE)), label = paste("results of call", i))
      next
    }
    expect_named(errors, names(conns), label = paste("errors of call", i))
    for (site in names(errors)) {
      expect_true(startsWith(errors[[site]], paste0(site, ": ")) ||
                    startsWith(errors[[site]], "this site: "),
                  label = paste0(site, ": ", errors[[site]]))
    }
  }
  expect_rel_equal(ds.mheSummary("D$LAB_HDL", datasources = conns)$mean,
                   mean(pooled(conns)$LAB_HDL, na.rm = TRUE))
})

test_that("a summary's contribution is signed over its own matched call", {
  body <- paste(deparse(body(dsMHE::mheSummaryDS)), collapse = "\n")
  expect_match(body, "call = match.call()", fixed = TRUE)
  text <- dsMHE:::srv_call_text(
    quote(mheSummaryDS(x = "D$a,D$b", means = "3fe0000000000000,4000000000000000",
                       query = "q", sites = "s1,s2")), "s1"
  )
  expect_identical(text, 'mheSummaryDS(x = "D$a,D$b", means = "3fe0000000000000,4000000000000000")')
})

test_that("a site that fails in the second round, after the first round released, is not left out", {
  # The first round released every variable over the four sites, so the sites'
  # ledgers refuse the restart over three (a contribution is a release).
  conns <- fresh_four()
  second_round <- function(expr) !is.null(expr[[3]]) # mheSummaryDS(x, means, ...)
  restore <- break_site(conns, "site3", "mheSummaryDS", when = second_round)
  on.exit(restore())
  vars <- c("D$sbp", "D$age", "D$bmi")
  err <- expect_error(
    expect_warning(ds.mheSummary(vars, datasources = conns), class = "dsMHE_warning_dropout"),
    class = "dsMHE_error_refused_set_changed"
  )
  expect_setequal(err$sites, c("site1", "site2", "site4"))
  expect_match(conditionMessage(err), "over the sites site1,site2,site3,site4", fixed = TRUE)
})

test_that("a pooled vector of the wrong length is an error, not a recycled matrix", {
  err <- expect_error(dsMHE:::mhe_summary_values(as.double(1:7), 3L, 2L, NULL),
                      class = "dsMHE_error_server")
  expect_match(conditionMessage(err), "returned 7 pooled values; 6 expected (3 per variable)",
               fixed = TRUE)
  expect_identical(dsMHE:::mhe_summary_values(as.double(1:6), 3L, 2L, NULL),
                   matrix(as.double(1:6), 3L, 2L))
})

test_that("a column built to carry one row's value says nothing about it in a summary either", {
  conns <- rows_federation()
  # probe_a and probe_b differ only in row 7 (see helper-data-rows.R)
  a <- ds.mheSummary(c("D$probe_a", "D$y"), datasources = conns)
  b <- ds.mheSummary(c("D$probe_b", "D$y"), datasources = conns)
  expect_identical(a$mean[1], b$mean[1])
  expect_identical(a$var[1], b$var[1])
  expect_identical(a$var[1], 0)
  single <- ds.mheVar("D$probe_a", datasources = conns)
  expect_identical(c(a$mean[1], a$var[1], a$Nvalid[1]), c(single$mean, single$var, single$n))
  expect_rel_equal(a$var[2], var(pooled(conns)$y))
})
