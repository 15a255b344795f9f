# Classes and print methods of the client's results (R/client-print.R).

sites3 <- c("sim1", "sim2", "sim3")

test_that("a pooled mean prints its value, dsBase's counts and the sites", {
  x <- structure(list(
    mean = 5.8721136, n = 7500L, n_missing = 351L, Nvalid = 7500L, Nmissing = 351L,
    Ntotal = 7851L, variable = "D$LAB_TSC"
  ), class = "mhe_mean", sites = sites3)
  expect_snapshot(print(x))
  expect_snapshot(print(x, digits = 3))
  expect_identical(format(x)[2:3], c(
    "    mean  Nvalid  Nmissing  Ntotal",
    "5.872114    7500       351    7851"
  ))
})

test_that("a pooled variance and a correlation print their values, counts and sites", {
  v <- structure(list(
    var = 1.2345678, mean = 5.8721136, n = 7500L, Nvalid = 7500L, Nmissing = 351L,
    Ntotal = 7851L, variable = "D$LAB_TSC"
  ), class = "mhe_var", sites = sites3)
  expect_snapshot(print(v))
  cor <- matrix(c(1, 0.25, 0.25, 1), 2, dimnames = list(c("a", "b"), c("a", "b")))
  r <- structure(list(
    cor = cor, cov = cor * 2, means = c(a = 1, b = 2), n = 90L, Nvalid = 90L,
    Nmissing = 10L, Ntotal = 100L
  ), class = "mhe_cor", sites = c("x", "y"))
  expect_snapshot(print(r))
})

test_that("a pooled table prints the table, the counts, the chi-squared test and the sites", {
  counts <- array(c(10L, 20L, 30L, 40L), c(2, 2),
                  dimnames = list(`D$sex` = c("F", "M"), `D$group` = c("a", "b")))
  class(counts) <- "table"
  chisq <- suppressWarnings(stats::chisq.test(counts))
  x <- structure(list(table = counts, n = 100L, Nvalid = 100L, Nmissing = 5L, Ntotal = 105L,
                      chisq = chisq), class = "mhe_table", sites = sites3)
  expect_snapshot(print(x))
  x$chisq <- NULL
  out <- format(x)
  expect_false(any(grepl("Chi-squared", out)))
  expect_true(any(grepl("Nmissing", out)))
})

test_that("real results carry their class, dsBase's counts and print without attr(,\"sites\")", {
  conns <- federation("ten")
  all <- pooled(conns)
  m <- ds.mheMean("D$age", datasources = conns)
  expect_s3_class(m, "mhe_mean")
  expect_identical(m$Nvalid, sum(!is.na(all$age)))
  expect_identical(m$Nmissing, sum(is.na(all$age)))
  expect_identical(m$Ntotal, nrow(all))
  expect_identical(c(m$n, m$n_missing), c(m$Nvalid, m$Nmissing))
  out <- utils::capture.output(print(m))
  expect_false(any(grepl("attr(,", out, fixed = TRUE)))
  expect_match(out[1], "D$age", fixed = TRUE)
  expect_match(out[length(out)], paste0("Sites (10): ", paste(names(conns), collapse = ", ")),
               fixed = TRUE)

  v <- ds.mheVar("D$bmi", datasources = conns)
  expect_s3_class(v, "mhe_var")
  expect_rel_equal(v$var, stats::var(all$bmi, na.rm = TRUE))
  expect_identical(c(v$Nvalid, v$Nmissing, v$Ntotal),
                   c(sum(!is.na(all$bmi)), sum(is.na(all$bmi)), nrow(all)))
  expect_match(utils::capture.output(print(v))[1], "Pooled variance of D$bmi", fixed = TRUE)

  r <- ds.mheCor(c("D$age", "D$bmi", "D$sbp"), datasources = conns)
  expect_s3_class(r, "mhe_cor")
  complete <- stats::complete.cases(all[, c("age", "bmi", "sbp")])
  expect_identical(c(r$Nvalid, r$Nmissing, r$Ntotal),
                   c(sum(complete), sum(!complete), nrow(all)))
  expect_identical(r$n, r$Nvalid)
  expect_false(any(grepl("attr(,", utils::capture.output(print(r)), fixed = TRUE)))
})
